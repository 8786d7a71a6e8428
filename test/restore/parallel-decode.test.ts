/** A snapshot decoded block by block on the worker threads equals the sequential decode, and fails the same way. */
import { afterAll, describe, expect, test } from "bun:test";
import { encodeLz4Frame } from "../../src/format/lz4-frame.ts";
import { arraySource } from "../../src/format/lz4-frame-format.ts";
import { RestoreIntegrityError } from "../../src/restore/apply.ts";
import { DecodePool } from "../../src/restore/decode-pool.ts";
import { decodeFrameParallel } from "../../src/restore/parallel-decode.ts";
import { decodeStream } from "../../src/restore/segment-replay.ts";

const MiB = 1024 * 1024;
const pools: DecodePool[] = [];
afterAll(() => {
  for (const p of pools) p.close();
});

/** 18 MiB of database-like bytes: 5 blocks of 4 MiB, the last one short. */
function content(): Uint8Array {
  const out = new Uint8Array(18 * MiB + 12_345);
  let s = 1;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = i % 4096 < 3000 ? (s >>> 28) + 65 : 0; // text-like runs and zeroed page tails
  }
  return out;
}

async function decodeAll(frame: Uint8Array, pool: DecodePool, limit = 64 * MiB) {
  const out = new Uint8Array(limit);
  let end = 0;
  const size = await decodeFrameParallel(arraySource(frame), "snap", limit, pool, (chunk, at) => {
    expect(at).toBe(end); // in order, each at its offset
    out.set(chunk, at);
    end = at + chunk.length;
  });
  return out.subarray(0, size);
}

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a failure");
}

describe("parallel snapshot decoding", async () => {
  const data = content();
  const frame = encodeLz4Frame(data);
  const pool = await DecodePool.start(2);
  const none = await DecodePool.start(0);
  pools.push(pool, none);

  test("on two workers and on none it equals the content", async () => {
    expect(pool.size).toBe(2);
    expect(Buffer.from(await decodeAll(frame, pool)).equals(Buffer.from(data))).toBe(true);
    expect(Buffer.from(await decodeAll(frame, none)).equals(Buffer.from(data))).toBe(true);
  });

  test("a damaged block, a wrong checksum, a too small limit: the same error as the sequential decoder's", async () => {
    const damaged = frame.slice();
    damaged[frame.length >> 1] = damaged[frame.length >> 1]! ^ 0xff; // inside a middle block
    const badChecksum = frame.slice();
    badChecksum[frame.length - 1] = badChecksum[frame.length - 1]! ^ 1;
    for (const [bytes, limit] of [
      [damaged, 64 * MiB],
      [badChecksum, 64 * MiB],
      [frame, 10 * MiB],
    ] as const) {
      const parallel = await failure(decodeAll(bytes, pool, limit));
      expect(parallel).toBeInstanceOf(RestoreIntegrityError);
      expect(parallel.message).toContain("snap is corrupt");
      let sequential: unknown;
      try {
        decodeStream(bytes, "snap", limit, () => {});
      } catch (err) {
        sequential = err;
      }
      expect(parallel.message).toBe((sequential as Error).message);
    }
  });
});
