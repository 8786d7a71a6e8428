import { describe, expect, test } from "bun:test";
import { decompressBlock } from "lz4js";
import { compressBlock, compressBound, LZ4_HASH_TABLE_SIZE } from "../../src/format/lz4-block.ts";
import { WasmLz4Compressor } from "../../src/format/wasm-kernels.ts";
import { lz4Sequences } from "../helpers/lz4-sequences.ts";
import { pseudoRandomBytes } from "../helpers/pseudo-random.ts";

function words(n: number, seed: number): Uint8Array<ArrayBuffer> {
  const vocab = ["order ", "customer ", "shipped ", "2026-11-26 ", "qty=", "7 ", "pending "];
  const pick = pseudoRandomBytes(n, seed);
  const text = new TextEncoder().encode(
    Array.from(pick.subarray(0, n), (b) => vocab[b % vocab.length]).join(""),
  );
  return text.subarray(0, n);
}

/** What a WAL looks like under a write flood: the same page again and again with a few bytes changed. */
function floodWal(frames: number, pageSize: number): Uint8Array<ArrayBuffer> {
  const frameSize = 24 + pageSize;
  const out = new Uint8Array(frames * frameSize);
  const page = words(pageSize, 7);
  for (let f = 0; f < frames; f++) {
    page[f % pageSize] = f & 0xff;
    page[(f * 31) % pageSize] = (f >>> 8) & 0xff;
    out.set(pseudoRandomBytes(24, f + 1), f * frameSize);
    out.set(page, f * frameSize + 24);
  }
  return out;
}

function compress(data: Uint8Array, start = 0, length = data.length): Uint8Array<ArrayBuffer> | null {
  const dst = new Uint8Array(compressBound(length));
  const n = compressBlock(data, start, length, dst, new Int32Array(LZ4_HASH_TABLE_SIZE));
  return n === 0 ? null : dst.subarray(0, n);
}

/** Decodes with lz4js (an implementation independent of ours) and checks every block-format rule. */
function expectValidBlock(block: Uint8Array<ArrayBuffer>, original: Uint8Array<ArrayBuffer>): void {
  expect(block.length).toBeLessThan(original.length);
  const out = new Uint8Array(original.length);
  expect(decompressBlock(block, out, 0, block.length, 0)).toBe(original.length);
  expect(out).toEqual(original);
  const seqs = lz4Sequences(block);
  expect(seqs[seqs.length - 1]!.offset).toBeUndefined(); // the block ends with literals
  for (const q of seqs) {
    if (q.offset === undefined) continue;
    expect(q.offset).toBeGreaterThan(0);
    expect(q.offset).toBeLessThanOrEqual(Math.min(q.at, 65535));
    expect(q.at).toBeLessThanOrEqual(original.length - 12); // MFLIMIT
    expect(q.at + q.length!).toBeLessThanOrEqual(original.length - 5); // LASTLITERALS
  }
}

describe("LZ4 block compression", () => {
  test("round-trips compressible data and keeps every end-of-block rule", () => {
    const cases: [string, Uint8Array<ArrayBuffer>][] = [
      ["zeros", new Uint8Array(100_000)],
      ["one byte repeated (offset-1 matches)", new Uint8Array(70_000).fill(0x61)],
      ["words", words(300_000, 3)],
      ["flood WAL", floodWal(300, 4096)],
      [
        "period just under 64 KiB",
        new Uint8Array([...pseudoRandomBytes(65_530, 9), ...pseudoRandomBytes(65_530, 9)]),
      ],
    ];
    // 13 bytes is too short: the only possible match would start within MFLIMIT of the end.
    for (let n = 14; n <= 40; n++) cases.push([`${n} zero bytes`, new Uint8Array(n)]);
    for (const [, data] of cases) expectValidBlock(compress(data)!, data);
  });

  test("matches reach back at most 64 KiB", () => {
    // The same 70 KiB twice: the repeat lies beyond LZ4's window, so it cannot be matched.
    const chunk = pseudoRandomBytes(70_000, 5);
    expect(compress(new Uint8Array([...chunk, ...chunk]))).toBeNull();
  });

  test("gives up (returns 0) on data it cannot shrink", () => {
    expect(compress(pseudoRandomBytes(1 << 20, 11))).toBeNull();
    for (let n = 0; n <= 12; n++) expect(compress(new Uint8Array(n))).toBeNull();
  });

  test("compresses a range of a larger buffer at any alignment, never reading outside it", () => {
    const inner = words(50_000, 4);
    const buffer = new Uint8Array(inner.length + 1000);
    // Identical bytes around the range: a match reaching outside it would be found if allowed.
    buffer.set(inner.subarray(0, 497), 0);
    buffer.set(inner, 497);
    buffer.set(inner.subarray(0, 503), 497 + inner.length);
    const block = compress(buffer.subarray(1), 496, inner.length)!;
    expectValidBlock(block, inner);
  });
});

describe("LZ4 block compression in WebAssembly", () => {
  const wasm = WasmLz4Compressor.create();
  const wasmCompress = (data: Uint8Array, start = 0, length = data.length) => {
    const out = wasm.compress(data, start, length);
    return out === null ? null : out.slice();
  };

  test("produces the same bytes as the JavaScript compressor, which lz4js decodes", () => {
    const cases: Uint8Array<ArrayBuffer>[] = [
      new Uint8Array(100_000),
      new Uint8Array(70_000).fill(0x61),
      words(300_000, 3),
      floodWal(1000, 4096),
      new Uint8Array([...pseudoRandomBytes(65_530, 9), ...pseudoRandomBytes(65_530, 9)]),
      words(4 * 1024 * 1024, 12), // one whole block, the largest there is
    ];
    // Every length around the end-of-block rules, and matches ending at every distance from the end.
    for (let n = 0; n <= 80; n++) cases.push(words(n, n), new Uint8Array(n));
    for (const data of cases) {
      const ours = wasmCompress(data);
      expect(ours).toEqual(compress(data));
      if (ours) expectValidBlock(ours, data);
    }
  });

  test("gives up on what it cannot shrink, and compresses a range of a larger buffer", () => {
    expect(wasmCompress(pseudoRandomBytes(1 << 20, 11))).toBeNull();
    const inner = words(50_000, 4);
    const buffer = new Uint8Array([...inner.subarray(0, 497), ...inner, ...inner.subarray(0, 503)]);
    const block = wasmCompress(buffer, 497, inner.length)!;
    expect(block).toEqual(compress(buffer, 497, inner.length)!);
    expectValidBlock(block, inner);
  });

  test("refuses a block larger than 4 MiB", () => {
    expect(() => wasm.compress(new Uint8Array(4 * 1024 * 1024 + 1), 0, 4 * 1024 * 1024 + 1)).toThrow(
      RangeError,
    );
  });
});
