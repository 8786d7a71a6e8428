/** A snapshot decoded block by block on the worker threads equals the sequential decode, and fails the same way. */
import { afterAll, describe, expect, test } from "bun:test";
import { encodeLz4Frame } from "../../src/format/lz4-frame.ts";
import { arraySource, FLG_BLOCK_INDEPENDENCE, headerChecksum } from "../../src/format/lz4-frame-format.ts";
import { RestoreIntegrityError } from "../../src/restore/apply.ts";
import { DecodePool } from "../../src/restore/decode-pool.ts";
import { decodeFrameParallel, decodeFramesInOrder, decodeStream } from "../../src/restore/parallel-decode.ts";

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

describe("a sequence of frames decoded in order", async () => {
  const pool = await DecodePool.start(2);
  const none = await DecodePool.start(0);
  pools.push(pool, none);
  // Small frames of one block (walship's segments) and larger ones of several, with dependent blocks
  // in one (decoded on the calling thread in its turn).
  const contents = Array.from({ length: 14 }, (_, i) => {
    return content().subarray(i * 1000, i * 1000 + (i % 4 === 3 ? 9 * MiB : 70_000 + i * 3000));
  });
  const frames = contents.map((c) => encodeLz4Frame(c));
  // Frame 7 (9 MiB, three blocks) marked as having dependent blocks.
  frames[7]![4] = frames[7]![4]! & ~FLG_BLOCK_INDEPENDENCE;
  frames[7]![6] = headerChecksum(frames[7]!.subarray(4, 6));

  /** Decodes frames as one sequence; returns the log of calls, which must be in the frames' order. */
  async function run(p: DecodePool, fs: Uint8Array[], log: string[], out: Uint8Array[]) {
    await decodeFramesInOrder(
      p,
      fs.map((frame, i) => ({
        source: arraySource(frame),
        key: `seg${i}`,
        maxOutputBytes: 64 * MiB,
        start: () => log.push(`start ${i}`),
        sink: (chunk: Uint8Array, offset: number) => {
          out[i] ??= new Uint8Array(contents[i]!.length);
          out[i]!.set(chunk, offset);
        },
        end: (total: number) => log.push(`end ${i} ${total}`),
      })),
    );
  }

  test("every frame's content, each between its start and its end, in the frames' order", async () => {
    const expectedLog = contents.flatMap((c, i) => [`start ${i}`, `end ${i} ${c.length}`]);
    for (const p of [pool, none]) {
      const log: string[] = [];
      const out: Uint8Array[] = [];
      await run(p, frames, log, out);
      expect(log).toEqual(expectedLog);
      for (const [i, c] of contents.entries()) expect(Buffer.from(out[i]!).equals(Buffer.from(c))).toBe(true);
    }
  });

  test("a damaged frame in the middle: the frames before it are whole, the error names it, nothing after it starts", async () => {
    const damaged = frames.map((f) => f);
    const bad = frames[6]!.slice();
    bad[bad.length - 1] = bad[bad.length - 1]! ^ 1; // its content checksum
    damaged[6] = bad;
    for (const p of [pool, none]) {
      const log: string[] = [];
      const err = await failure(run(p, damaged, log, []));
      expect(err).toBeInstanceOf(RestoreIntegrityError);
      expect(err.message).toContain("seg6 is corrupt");
      expect(log).toEqual([
        ...contents.slice(0, 6).flatMap((c, i) => [`start ${i}`, `end ${i} ${c.length}`]),
        "start 6",
      ]);
    }
    // The pool still works afterwards.
    const log: string[] = [];
    await run(pool, frames.slice(0, 2), log, []);
    expect(log.length).toBe(4);
  });

  test("a job whose callback throws stops the sequence with its error", async () => {
    const err = await failure(
      decodeFramesInOrder(
        pool,
        frames.map((frame, i) => ({
          source: arraySource(frame),
          key: `seg${i}`,
          maxOutputBytes: 64 * MiB,
          sink: () => {},
          end: () => {
            if (i === 2) throw new Error("the WAL index is missing");
          },
        })),
      ),
    );
    expect(err.message).toBe("the WAL index is missing");
  });
});
