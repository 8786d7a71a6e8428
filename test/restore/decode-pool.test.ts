import { afterAll, expect, test } from "bun:test";
import { encodeLz4Frame } from "../../src/format/lz4-frame.ts";
import { DecodePool } from "../../src/restore/decode-pool.ts";

const pools: DecodePool[] = [];
afterAll(() => {
  for (const p of pools) p.close();
});

async function pool(size: number): Promise<DecodePool> {
  const p = await DecodePool.start(size);
  pools.push(p);
  return p;
}

function content(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = ((i * seed) % 251) ^ (i >>> 10);
  return out;
}

test("worker threads decode frames in parallel, each to its own content", async () => {
  const p = await pool(2);
  expect(p.size).toBe(2);
  const inputs = Array.from({ length: 12 }, (_, i) => content(200_000 + i * 5000, i + 3));
  const frames = inputs.map((c) => encodeLz4Frame(c));
  // A frame inside a larger buffer.
  const shared = new Uint8Array(frames[0]!.length + 10);
  shared.set(frames[0]!, 5);
  const decoded = await Promise.all([
    ...frames.map((f) => p.decode(f, 1 << 30)),
    p.decode(shared.subarray(5, 5 + frames[0]!.length), 1 << 30),
  ]);
  for (const [i, d] of decoded.entries()) expect(d).toEqual(inputs[i % inputs.length]!);
  // The caller keeps its bytes: frames go to the workers as copies.
  expect(Buffer.from(shared.subarray(5, 5 + frames[0]!.length)).equals(frames[0]!)).toBe(true);
});

test("invalid frames reject with the decoder's message; content over the limit gives null", async () => {
  for (const p of [await pool(1), await pool(0)]) {
    const frame = encodeLz4Frame(content(100_000, 7));
    const corrupt = frame.slice();
    corrupt[corrupt.length - 1]! ^= 0xff; // the content checksum
    const failure = await p.decode(corrupt, 1 << 30).then(
      () => null,
      (err: Error) => err.message,
    );
    expect(failure).toMatch(/Cannot decode LZ4 frame: content checksum mismatch/);
    expect(await p.decode(frame, 1000)).toBeNull();
    expect(await p.decode(frame, 100_000)).toEqual(content(100_000, 7));
  }
});
