/** The decode pool's workers decode blocks into memory shared with the caller, several at once. */
import { afterAll, expect, test } from "bun:test";
import { compressBlock, compressBound, LZ4_HASH_TABLE_SIZE } from "../../src/format/lz4-block.ts";
import { Lz4FormatError } from "../../src/format/lz4-frame.ts";
import { DecodePool } from "../../src/restore/decode-pool.ts";

const pools: DecodePool[] = [];
afterAll(() => {
  for (const p of pools) p.close();
});

const BLOCK_MAX = 4 * 1024 * 1024;

function content(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = ((i * seed) % 251) ^ (i >>> 10);
  return out;
}

function compressed(data: Uint8Array): Uint8Array {
  const dst = new Uint8Array(compressBound(data.length));
  const n = compressBlock(data, 0, data.length, dst, new Int32Array(LZ4_HASH_TABLE_SIZE));
  return dst.subarray(0, n);
}

test("worker threads decode blocks in parallel, each into its own slot", async () => {
  const pool = await DecodePool.start(2);
  pools.push(pool);
  expect(pool.size).toBe(2);
  const inputs = Array.from({ length: 6 }, (_, i) => content(200_000 + i * 5000, i + 3));
  const slots = pool.takeBlockSlots(inputs.length, BLOCK_MAX);
  const lengths = await Promise.all(
    inputs.map((data, i) => {
      const block = compressed(data);
      new Uint8Array(slots[i]!.input).set(block);
      return pool.decodeBlock(slots[i]!, block.length, false, BLOCK_MAX);
    }),
  );
  for (const [i, data] of inputs.entries()) {
    expect(lengths[i]).toBe(data.length);
    expect(Buffer.from(slots[i]!.output, 0, data.length).equals(data)).toBe(true);
  }
  // Given back, the slots serve the next caller instead of new memory.
  pool.returnBlockSlots(slots);
  expect(pool.takeBlockSlots(2, BLOCK_MAX)).toEqual(slots.slice(0, 2));
});

test("a damaged block rejects with the decoder's problem and where in the block it is", async () => {
  const pool = await DecodePool.start(1);
  pools.push(pool);
  const [slot] = pool.takeBlockSlots(1, BLOCK_MAX);
  const block = compressed(content(100_000, 7));
  new Uint8Array(slot!.input).set(block);
  // The block cut short: its last sequence runs past the end.
  const err = await pool.decodeBlock(slot!, block.length - 5, false, BLOCK_MAX).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Lz4FormatError);
  expect((err as Lz4FormatError).offset).toBeGreaterThanOrEqual(0);
});
