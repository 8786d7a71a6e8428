/**
 * Decodes a large LZ4 frame (a snapshot, or a WAL segment Litestream wrote after a burst) with every
 * core: the frames Litestream 0.3.13 and walship write have independent blocks, so this thread reads the
 * frame's structure and hands each block to the decode pool, then takes the results back in order,
 * checksums them and hands them on while later blocks decode. At most IN_FLIGHT_PER_WORKER blocks per
 * worker are out at once, each in a slot of memory shared with the workers (a block's maximum size,
 * compressed and decoded: 8 MiB for the 4 MiB blocks Litestream writes) that the pool keeps for the next
 * frame, so memory does not grow with the frame and nothing is copied between threads or left for the
 * garbage collector. A frame with dependent blocks, or no worker threads, is decoded here block by block.
 */
import { Lz4FormatError } from "../format/lz4-frame.ts";
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
import type { BlockSlot, DecodePool } from "./decode-pool.ts";
import { corrupt, decodeStream } from "./segment-replay.ts";

/** Blocks out per worker: one decoding, one queued, so a worker never waits for this thread. */
const IN_FLIGHT_PER_WORKER = 2;

/**
 * Decodes the frame `source` (object `key`), handing each piece of content to `sink` with its offset, in
 * order. Returns the content's size. Throws RestoreIntegrityError naming `key` for anything wrong with
 * the frame; a failure can come after some content was handed over. The content handed to `sink` is
 * valid only during the call.
 */
export async function decodeFrameParallel(
  source: FrameSource,
  key: string,
  maxOutputBytes: number,
  pool: DecodePool,
  sink: (chunk: Uint8Array, offset: number) => void,
): Promise<number> {
  let header: Lz4FrameHeader;
  try {
    header = await readHeaderWhenThere(source, maxOutputBytes);
  } catch (err) {
    throw unlessUnavailable(err, key);
  }
  if (!header.independent || pool.size === 0) {
    await available(source, source.length).catch((err: unknown) => {
      throw unlessUnavailable(err, key);
    });
    let offset = 0;
    return decodeStream(source, key, maxOutputBytes, (chunk) => {
      sink(chunk, offset);
      offset += chunk.length;
    });
  }

  // The memory of the blocks in flight, kept by the pool: a block's bytes never move between threads.
  const slots = pool.takeBlockSlots(pool.size * IN_FLIGHT_PER_WORKER, header.blockMaxSize);
  const free = [...slots];
  const inFlight: { block: Lz4BlockRef; slot: BlockSlot; length: Promise<number> }[] = [];
  const checksum = header.contentChecksum ? new Xxh32() : null;
  let pos = header.blocksAt;
  let ended = false;
  let total = 0;
  try {
    for (;;) {
      for (let slot = free.pop(); slot; slot = free.pop()) {
        // Enough for the block's header, its largest data and its checksum.
        if (!ended) await available(source, pos + header.blockMaxSize + 8);
        const block = ended ? null : readLz4Block(source, header, pos);
        if (!block) {
          free.push(slot);
          ended = true;
          break;
        }
        const input = new Uint8Array(slot.input, 0, block.size);
        if (source.copyTo) source.copyTo(block.dataAt, input);
        else input.set(source.bytes(block.dataAt, block.dataAt + block.size));
        inFlight.push({
          block,
          slot,
          length: pool.decodeBlock(slot, block.size, block.stored, header.blockMaxSize),
        });
        pos = block.next;
      }
      const next = inFlight.shift();
      if (!next) break;
      const { block, slot } = next;
      const length = await next.length.catch((err: unknown) => {
        throw err instanceof Lz4FormatError
          ? new Lz4FormatError(err.problem, block.dataAt + err.offset)
          : err;
      });
      if (length > outputRoom(header, total)) throw tooMuchOutput(header, block.headerAt);
      const content = new Uint8Array(slot.output, 0, length);
      checksum?.update(content);
      sink(content, total);
      total += length;
      free.push(slot);
    }
    await available(source, source.length);
    finishLz4Frame(source, header, pos, total, () => checksum?.digest() ?? 0);
  } catch (err) {
    // The slots are not given back: a worker may still be writing into one.
    // Blocks still out are dropped; their results (or failures) must not go unhandled.
    for (const f of inFlight) f.length.catch(() => {});
    throw unlessUnavailable(err, key);
  }
  pool.returnBlockSlots(slots);
  return total;
}

/** Bytes searched for the frame header before waiting for all of a frame still downloading. */
const HEADER_LOOKAHEAD = 1024 * 1024;

/** A frame's bytes could not be had (its download failed): the download's error, not a corrupt frame. */
class Unavailable extends Error {
  constructor(override readonly cause: unknown) {
    super("frame bytes unavailable");
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

/** A download's failure as it is; anything else as the frame being corrupt. */
function unlessUnavailable(err: unknown, key: string): unknown {
  return err instanceof Unavailable ? err.cause : corrupt(key, err);
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
