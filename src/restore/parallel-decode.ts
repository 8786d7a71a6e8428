/**
 * Decodes a sequence of LZ4 frames (a snapshot, then the WAL segments after it) with every core, in
 * order. The frames Litestream 0.3.13 and walship write have independent blocks, so this thread reads
 * each frame's structure and hands its blocks to the decode pool, while it takes earlier results back in
 * order, checksums them and hands them on. Blocks go out across frame boundaries: the workers decode the
 * next segments' blocks while this thread applies the current one's, however small the segments are.
 *
 * At most IN_FLIGHT_PER_WORKER blocks per worker are out at once, each in a slot of memory shared with
 * the workers (a block's maximum size, compressed and decoded: 8 MiB for 4 MiB blocks) that the pool
 * keeps from one call to the next. Nothing is copied between threads or left for the garbage collector,
 * so memory does not grow with the frames' number or size: decoding each WAL segment into a buffer of
 * its own left 2 GB of garbage behind in a restore of 1,200 segments, and peak memory followed the
 * collector rather than the data. A frame with dependent blocks, or no worker threads, is decoded on this
 * thread block by block, in its turn.
 */
import { decodeLz4FrameStream, Lz4FormatError } from "../format/lz4-frame.ts";
import type { FrameSource } from "../format/lz4-frame-format.ts";
import {
  finishLz4Frame,
  type Lz4BlockRef,
  type Lz4FrameHeader,
  outputRoom,
  readLz4Block,
  readLz4FrameHeader,
  tooMuchOutput,
} from "../format/lz4-frame-reader.ts";
import { Xxh32 } from "../format/xxhash32.ts";
import { RestoreIntegrityError } from "./apply.ts";
import type { BlockSlot, DecodePool } from "./decode-pool.ts";

/** Blocks out per worker: one decoding, one queued, so a worker never waits for this thread. */
const IN_FLIGHT_PER_WORKER = 2;
/** The largest block an LZ4 frame may have: every slot fits any frame's blocks. */
const MAX_BLOCK_BYTES = 4 * 1024 * 1024;
/** Bytes searched for the frame header before waiting for all of a frame still downloading. */
const HEADER_LOOKAHEAD = 1024 * 1024;

/** One frame to decode, and where its content goes. */
export interface FrameJob {
  source: FrameSource;
  /** Names the object in errors. */
  key: string;
  maxOutputBytes: number;
  /** Called before the frame's first content, in order with the other frames' calls. */
  start?(): void;
  /** Each piece of content in order, with its offset in the frame's content; valid only during the call. */
  sink(chunk: Uint8Array, offset: number): void;
  /** Called once the whole frame is decoded and its checksum checked, with its content's size. */
  end?(total: number): void;
}

interface FrameState {
  job: FrameJob;
  header: Lz4FrameHeader;
  checksum: Xxh32 | null;
  total: number;
  /** Where the frame's end mark is, once all its blocks went out. */
  endAt: number;
}

type Step =
  | { kind: "start"; frame: FrameState }
  | { kind: "block"; frame: FrameState; block: Lz4BlockRef; slot: BlockSlot; length: Promise<number> }
  /** Decoded here in its turn: dependent blocks, or no workers. */
  | { kind: "whole"; frame: FrameState }
  | { kind: "end"; frame: FrameState };

/**
 * Decodes every frame of `jobs`, in order, handing content to each job's sink. Throws
 * RestoreIntegrityError naming the object for anything wrong with a frame, a download's own error when
 * a frame's bytes cannot be had, and whatever a job's callbacks throw; a failure can come after some
 * content was handed over.
 */
export async function decodeFramesInOrder(
  pool: DecodePool,
  jobs: Iterable<FrameJob> | AsyncIterable<FrameJob>,
): Promise<void> {
  const parallel = pool.size > 0;
  const slots = parallel ? pool.takeBlockSlots(pool.size * IN_FLIGHT_PER_WORKER, MAX_BLOCK_BYTES) : [];
  const free = new Handoff<BlockSlot>();
  for (const slot of slots) free.put(slot);
  const steps = new Handoff<Step | null>();

  const produce = async (): Promise<void> => {
    for await (const job of jobs) {
      const { source, key } = job;
      const header = await decoding(key, () => readHeaderWhenThere(source, job.maxOutputBytes));
      const frame: FrameState = {
        job,
        header,
        checksum: header.contentChecksum ? new Xxh32() : null,
        total: 0,
        endAt: 0,
      };
      steps.put({ kind: "start", frame });
      if (!parallel || !header.independent || header.blockMaxSize > MAX_BLOCK_BYTES) {
        steps.put({ kind: "whole", frame });
        continue;
      }
      let pos = header.blocksAt;
      for (;;) {
        // Enough for the block's header, its largest data and its checksum.
        await decoding(key, () => available(source, pos + header.blockMaxSize + 8));
        const block = await decoding(key, async () => readLz4Block(source, header, pos));
        if (!block) break;
        const slot = await free.take();
        const input = new Uint8Array(slot.input, 0, block.size);
        if (source.copyTo) source.copyTo(block.dataAt, input);
        else input.set(source.bytes(block.dataAt, block.dataAt + block.size));
        const length = pool.decodeBlock(slot, block.size, block.stored, header.blockMaxSize);
        // A result never taken (after a failure) must not go unhandled.
        length.catch(() => {});
        steps.put({ kind: "block", frame, block, slot, length });
        pos = block.next;
      }
      frame.endAt = pos;
      steps.put({ kind: "end", frame });
    }
    steps.put(null);
  };

  const consume = async (): Promise<void> => {
    for (let step = await steps.take(); step; step = await steps.take()) {
      const { frame } = step;
      const { job, header } = frame;
      switch (step.kind) {
        case "start":
          job.start?.();
          break;
        case "whole": {
          await decoding(job.key, () => available(job.source, job.source.length));
          let offset = 0;
          const total = decodeStream(job.source, job.key, job.maxOutputBytes, (chunk) => {
            job.sink(chunk, offset);
            offset += chunk.length;
          });
          job.end?.(total);
          break;
        }
        case "block": {
          const { block, slot } = step;
          const length = await decoding(job.key, () =>
            step.length.catch((err: unknown) => {
              throw err instanceof Lz4FormatError
                ? new Lz4FormatError(err.problem, block.dataAt + err.offset)
                : err;
            }),
          );
          if (length > outputRoom(header, frame.total)) {
            throw corrupt(job.key, tooMuchOutput(header, block.headerAt));
          }
          const content = new Uint8Array(slot.output, 0, length);
          frame.checksum?.update(content);
          job.sink(content, frame.total);
          frame.total += length;
          free.put(slot);
          break;
        }
        case "end":
          await decoding(job.key, async () => {
            await available(job.source, job.source.length);
            finishLz4Frame(job.source, header, frame.endAt, frame.total, () => frame.checksum?.digest() ?? 0);
          });
          job.end?.(frame.total);
          break;
      }
    }
  };

  // Each side stops the other when it fails: a producer waiting for a slot, or a consumer for a step.
  const fail = (err: unknown) => {
    free.fail(err);
    steps.fail(err);
    throw err;
  };
  await Promise.all([produce().catch(fail), consume().catch(fail)]);
  // After a failure the slots are not given back: a worker may still be writing into one.
  pool.returnBlockSlots(slots);
}

/** Decodes one frame (see decodeFramesInOrder) and returns its content's size. */
export async function decodeFrameParallel(
  source: FrameSource,
  key: string,
  maxOutputBytes: number,
  pool: DecodePool,
  sink: (chunk: Uint8Array, offset: number) => void,
): Promise<number> {
  let size = 0;
  await decodeFramesInOrder(pool, [
    {
      source,
      key,
      maxOutputBytes,
      sink,
      end: (total) => {
        size = total;
      },
    },
  ]);
  return size;
}

/**
 * A hand-over point between the two sides of the decoder: `take` waits for something `put`, in order;
 * after `fail`, every take rejects.
 */
class Handoff<T> {
  private readonly items: T[] = [];
  private readonly takers: { resolve: (item: T) => void; reject: (err: unknown) => void }[] = [];
  private failure: { err: unknown } | null = null;

  put(item: T): void {
    const taker = this.takers.shift();
    if (taker) taker.resolve(item);
    else this.items.push(item);
  }

  take(): Promise<T> {
    if (this.failure) return Promise.reject(this.failure.err);
    if (this.items.length > 0) return Promise.resolve(this.items.shift() as T);
    return new Promise((resolve, reject) => this.takers.push({ resolve, reject }));
  }

  fail(err: unknown): void {
    this.failure ??= { err };
    for (const t of this.takers.splice(0)) t.reject(err);
  }
}

/** A frame's bytes could not be had (its download failed): the download's error, not a corrupt frame. */
class Unavailable extends Error {
  constructor(override readonly cause: unknown) {
    super("frame bytes unavailable");
  }
}

/** Runs a step of decoding `key`: a download's failure comes out as it is, anything else as corruption. */
async function decoding<T>(key: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    throw err instanceof Unavailable ? err.cause : corrupt(key, err);
  }
}

/** Waits until `source` has bytes [0, end) (clamped to its length). */
async function available(source: FrameSource, end: number): Promise<void> {
  if (!source.ready) return;
  try {
    await source.ready(Math.min(end, source.length));
  } catch (err) {
    throw new Unavailable(err);
  }
}

/**
 * The frame header, read once the bytes it spans are there. A frame's header comes within its first
 * bytes, after any skippable frames (walship's capture times: a few KB); if it is not found within
 * them, the whole frame is waited for, so unwritten bytes are never taken for a damaged header.
 */
async function readHeaderWhenThere(source: FrameSource, maxOutputBytes: number): Promise<Lz4FrameHeader> {
  const first = Math.min(source.length, HEADER_LOOKAHEAD);
  await available(source, first);
  if (first < source.length) {
    try {
      const header = readLz4FrameHeader(source, maxOutputBytes);
      if (header.blocksAt <= first) return header;
    } catch {
      // Perhaps bytes not there yet: read again below once all are.
    }
    await available(source, source.length);
  }
  return readLz4FrameHeader(source, maxOutputBytes);
}

/** Decodes an object block by block into `sink`; a format error names the object. */
export function decodeStream(
  bytes: Parameters<typeof decodeLz4FrameStream>[0],
  key: string,
  max: number,
  sink: (chunk: Uint8Array) => void,
): number {
  try {
    return decodeLz4FrameStream(bytes, sink, { maxOutputBytes: max });
  } catch (err) {
    throw corrupt(key, err);
  }
}

/** An object that does not decode, as the error a restore reports. */
function corrupt(key: string, err: unknown): RestoreIntegrityError {
  if (err instanceof RestoreIntegrityError) return err;
  return new RestoreIntegrityError(`Cannot restore: ${key} is corrupt: ${(err as Error).message}`, key);
}
