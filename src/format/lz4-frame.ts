/**
 * The LZ4 frame format as Litestream 0.3.13 (pierrec/lz4 v4) writes and reads it: an encoder that emits one
 * frame of independent 4 MiB blocks with a content checksum, and a defensive decoder for hostile input.
 * Pure: imports nothing from the runtime; takes and returns Uint8Array.
 */
// biome-ignore-all lint/style/noNonNullAssertion: byte reads are bounds-checked by the surrounding logic; `!` only undoes noUncheckedIndexedAccess in hot loops.

import { concatBytes, writeU32LE } from "./bytes.ts";
import { compressBlock, compressBound, LZ4_HASH_TABLE_SIZE } from "./lz4-block.ts";
import {
  type BlockDecoderChoice,
  claimWasm,
  decodeBlockAt,
  decodeBlockWasm,
  OUTPUT_LIMIT_REACHED,
} from "./lz4-block-decode.ts";
import {
  arraySource,
  BD_SIZE_INDEX_4MIB,
  BD_SIZE_SHIFT,
  BLOCK_SIZE_4MIB,
  BLOCK_UNCOMPRESSED,
  checkLimitOption,
  DEFAULT_MAX_OUTPUT_BYTES,
  DEPENDENT_WINDOW,
  END_MARK,
  FLG_BLOCK_INDEPENDENCE,
  FLG_CONTENT_CHECKSUM,
  FLG_VERSION_01,
  type FrameSource,
  headerChecksum,
  Lz4FormatError,
  MAX_EXPANSION_RATIO,
  MIN_OUTPUT_GROWTH,
} from "./lz4-frame-format.ts";
import {
  finishLz4Frame,
  outputRoom,
  readLz4Block,
  readLz4FrameHeader,
  tooMuchOutput,
} from "./lz4-frame-reader.ts";
import { wasmLz4Compressor } from "./wasm-kernels.ts";
import { Xxh32, xxh32 } from "./xxhash32.ts";

export type { BlockDecoderChoice } from "./lz4-block-decode.ts";
export { type FrameSource, Lz4FormatError, Lz4OutputLimitError } from "./lz4-frame-format.ts";

/** Our FLG: version 01, independent blocks, content checksum; no block checksum, content size or dictID. */
const ENCODER_FLG = FLG_VERSION_01 | FLG_BLOCK_INDEPENDENCE | FLG_CONTENT_CHECKSUM;
/** Our BD: 4 MiB maximum block size. */
const ENCODER_BD = BD_SIZE_INDEX_4MIB << BD_SIZE_SHIFT;

// ---------------------------------------------------------------------------------------------------------
// Encoder
// ---------------------------------------------------------------------------------------------------------

const FRAME_HEADER = Uint8Array.of(
  0x04,
  0x22,
  0x4d,
  0x18,
  ENCODER_FLG,
  ENCODER_BD,
  headerChecksum(Uint8Array.of(ENCODER_FLG, ENCODER_BD)),
);

/**
 * Scratch space shared by all encoders, allocated on first use (processes that only decode never pay for
 * it). Sharing is safe because compression is synchronous and every result is copied out.
 */
let scratch: { hashTable: Int32Array; output: Uint8Array } | undefined;

/**
 * Encodes `src[start, start + length)` (length ≤ 4 MiB) as one independent block with its 4-byte header:
 * compressed when that is smaller, else stored raw with bit 31 set.
 */
function encodeBlock(src: Uint8Array, start: number, length: number): Uint8Array {
  const wasm = wasmLz4Compressor();
  if (wasm) {
    const compressed = wasm.compress(src, start, length);
    return compressed ? compressedBlock(compressed) : storedBlock(src, start, length);
  }
  scratch ??= {
    hashTable: new Int32Array(LZ4_HASH_TABLE_SIZE),
    output: new Uint8Array(compressBound(BLOCK_SIZE_4MIB)),
  };
  const { hashTable, output } = scratch;
  hashTable.fill(0); // independent blocks: no match may reach into an earlier block
  const n = compressBlock(src, start, length, output, hashTable);
  return n === 0 ? storedBlock(src, start, length) : compressedBlock(output.subarray(0, n));
}

function compressedBlock(compressed: Uint8Array): Uint8Array {
  const block = new Uint8Array(4 + compressed.length);
  writeU32LE(block, 0, compressed.length);
  block.set(compressed, 4);
  return block;
}

/** A block that would not shrink: stored raw, bit 31 of its size set. */
function storedBlock(src: Uint8Array, start: number, length: number): Uint8Array {
  const block = new Uint8Array(4 + length);
  writeU32LE(block, 0, (BLOCK_UNCOMPRESSED | length) >>> 0);
  block.set(src.subarray(start, start + length), 4);
  return block;
}

/**
 * Incremental encoder for one LZ4 frame exactly as walship writes it: header `04 22 4D 18 64 70 B9`,
 * independent blocks of 4 MiB of input each, EndMark, content checksum. Lets a large snapshot be compressed
 * as it is read instead of holding the whole input and output at once. Concatenate every returned piece,
 * in order, to get the frame.
 */
export class Lz4FrameEncoder {
  /** Hashes the content as it is pushed, unless the caller already knows its checksum. */
  private readonly checksum: Xxh32 | null;
  private pending = new Uint8Array(0);
  private pendingLength = 0;
  private headerWritten = false;
  private finished = false;

  /** `contentChecksum`: the xxHash32 of everything that will be pushed, when known up front. */
  constructor(private readonly contentChecksum?: number) {
    this.checksum = contentChecksum === undefined ? new Xxh32() : null;
  }

  /** Adds input; returns the encoded pieces for every complete 4 MiB block (often none). */
  push(chunk: Uint8Array): Uint8Array[] {
    if (this.finished) throw new Error("Lz4FrameEncoder: push() after finish()");
    const out: Uint8Array[] = [];
    this.checksum?.update(chunk);
    let i = 0;
    if (this.pendingLength > 0) {
      i = Math.min(BLOCK_SIZE_4MIB - this.pendingLength, chunk.length);
      this.buffer(chunk.subarray(0, i));
      if (this.pendingLength < BLOCK_SIZE_4MIB) return out;
      this.emit(out, encodeBlock(this.pending, 0, BLOCK_SIZE_4MIB));
      this.pendingLength = 0;
    }
    // Whole blocks are compressed straight from the caller's chunk, without copying.
    for (; chunk.length - i >= BLOCK_SIZE_4MIB; i += BLOCK_SIZE_4MIB) {
      this.emit(out, encodeBlock(chunk, i, BLOCK_SIZE_4MIB));
    }
    if (i < chunk.length) this.buffer(chunk.subarray(i));
    return out;
  }

  /**
   * Adds `last` (if any), flushes the last partial block and returns the remaining pieces, EndMark and
   * content checksum included. With nothing pending, `last` is compressed where it is, not copied first.
   */
  finish(last: Uint8Array = new Uint8Array(0)): Uint8Array[] {
    if (this.finished) throw new Error("Lz4FrameEncoder: finish() called twice");
    let out: Uint8Array[] = [];
    let tail = last;
    if (this.pendingLength > 0) {
      out = this.push(last);
      tail = this.pending.subarray(0, this.pendingLength);
    } else {
      this.checksum?.update(last);
    }
    this.finished = true;
    for (let i = 0; i < tail.length; i += BLOCK_SIZE_4MIB) {
      this.emit(out, encodeBlock(tail, i, Math.min(BLOCK_SIZE_4MIB, tail.length - i)));
    }
    const trailer = new Uint8Array(8);
    writeU32LE(trailer, 0, END_MARK);
    writeU32LE(trailer, 4, this.checksum ? this.checksum.digest() : (this.contentChecksum ?? 0));
    this.emit(out, trailer);
    this.pending = new Uint8Array(0);
    return out;
  }

  private emit(out: Uint8Array[], piece: Uint8Array): void {
    if (!this.headerWritten) {
      out.push(FRAME_HEADER.slice());
      this.headerWritten = true;
    }
    out.push(piece);
  }

  /** Appends to the pending block, growing its buffer geometrically up to 4 MiB. */
  private buffer(data: Uint8Array): void {
    const needed = this.pendingLength + data.length;
    if (needed > this.pending.length) {
      const grown = new Uint8Array(Math.min(BLOCK_SIZE_4MIB, Math.max(needed, this.pending.length * 2)));
      grown.set(this.pending.subarray(0, this.pendingLength));
      this.pending = grown;
    }
    this.pending.set(data, this.pendingLength);
    this.pendingLength = needed;
  }
}

/** Encodes `data` as one LZ4 frame, byte-compatible with what Litestream 0.3.13 writes. */
export function encodeLz4Frame(data: Uint8Array): Uint8Array {
  // One piece: hash it in one go (natively where the runtime can), not stripe by stripe in JS.
  const encoder = new Lz4FrameEncoder(xxh32(data));
  return concatBytes(encoder.finish(data));
}

// ---------------------------------------------------------------------------------------------------------
// Decoder
// ---------------------------------------------------------------------------------------------------------

export interface DecodeLz4FrameOptions {
  /** Fail with Lz4FormatError rather than produce more than this many bytes. Default 1 GiB. */
  maxOutputBytes?: number;
  /** Expected decompressed size, used only to size the output buffer up front (not verified). */
  expectedSize?: number;
  decoder?: BlockDecoderChoice;
}

/**
 * Decodes an LZ4 frame (optionally preceded by skippable frames) into its content. Accepts everything the
 * LZ4 frame format allows except dictionary IDs; verifies header, block and content checksums and the
 * content size; rejects trailing bytes after the frame. Throws Lz4FormatError on invalid input or when the
 * output would exceed `maxOutputBytes`.
 */
export function decodeLz4Frame(frame: Uint8Array, opts: DecodeLz4FrameOptions = {}): Uint8Array {
  const maxOutputBytes = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  checkLimitOption("maxOutputBytes", maxOutputBytes);
  if (opts.expectedSize !== undefined) checkLimitOption("expectedSize", opts.expectedSize);
  // Output buffer: never sized from untrusted numbers beyond the output limit or what the input can hold.
  let out = new Uint8Array(0);
  let length = 0;
  decodeLz4FrameStream(
    frame,
    (chunk) => {
      if (length + chunk.length > out.length) {
        const sizeHint = opts.expectedSize ?? Math.max(frame.length * 4, MIN_OUTPUT_GROWTH);
        const capacity = Math.min(
          maxOutputBytes,
          frame.length * MAX_EXPANSION_RATIO,
          Math.max(length + chunk.length, out.length * 2, sizeHint),
        );
        const grown = new Uint8Array(capacity);
        grown.set(out.subarray(0, length));
        out = grown;
      }
      out.set(chunk, length);
      length += chunk.length;
    },
    { maxOutputBytes, ...(opts.decoder ? { decoder: opts.decoder } : {}) },
  );
  return out.length === length ? out : out.slice(0, length);
}
/**
 * Decodes an LZ4 frame block by block, handing each block's output to `sink` (valid only during the
 * call), so memory stays at one block plus the 64 KiB window however large the content is. All checks
 * of decodeLz4Frame apply; a failure can come after some output was already handed over.
 */
export function decodeLz4FrameStream(
  input: Uint8Array | FrameSource,
  sink: (chunk: Uint8Array) => void,
  opts: { maxOutputBytes?: number; decoder?: BlockDecoderChoice } = {},
): number {
  const frame: FrameSource = input instanceof Uint8Array ? arraySource(input) : input;
  const maxOutputBytes = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  checkLimitOption("maxOutputBytes", maxOutputBytes);
  const header = readLz4FrameHeader(frame, maxOutputBytes);
  const { blockMaxSize, independent } = header;

  // Working buffer: the back-reference window dependent blocks may use, then room for one block. With
  // the WebAssembly decoder it is that decoder's work area, which holds any block.
  const window = independent ? 0 : DEPENDENT_WINDOW;
  const wasm = opts.decoder === "js" ? null : claimWasm();
  try {
    let work: Uint8Array = wasm ? wasm.work : new Uint8Array(0);
    let history = 0;
    let total = 0;
    const checksum = header.contentChecksum ? new Xxh32() : null;
    const emit = (chunk: Uint8Array): void => {
      checksum?.update(chunk);
      total += chunk.length;
      sink(chunk);
    };
    /** Keeps the last `window` bytes of output at the start of `work` for the next dependent block. */
    const keepWindow = (end: number): void => {
      const keep = Math.min(window, end);
      work.copyWithin(0, end - keep, end);
      history = keep;
    };

    let pos = header.blocksAt;
    for (let block = readLz4Block(frame, header, pos); block; block = readLz4Block(frame, header, pos)) {
      const { headerAt, dataAt, size } = block;
      const room = outputRoom(header, total);
      if (block.stored) {
        if (size > room) throw tooMuchOutput(header, headerAt);
        const data = frame.bytes(dataAt, dataAt + size);
        if (window > 0) {
          if (work.length < window + size) work = grow(work, window + size, history);
          work.set(data, history);
          keepWindow(history + size);
        }
        emit(data);
      } else {
        // A block is at most blockMaxSize; grow the buffer only as far as this block needs.
        const limit = Math.min(blockMaxSize, room);
        let capacity = wasm ? limit : Math.min(limit, Math.max(size * 4, MIN_OUTPUT_GROWTH));
        for (;;) {
          if (work.length < history + capacity) work = grow(work, history + capacity, history);
          const data = frame.bytes(dataAt, dataAt + size);
          const windowStart = independent ? history : 0;
          const end = wasm
            ? decodeBlockWasm(wasm, data, dataAt, history, history + capacity, windowStart)
            : decodeBlockAt(data, dataAt, work, history, history + capacity, windowStart);
          if (end !== OUTPUT_LIMIT_REACHED) {
            emit(work.subarray(history, end));
            if (window > 0) keepWindow(end);
            break;
          }
          if (capacity >= limit) {
            if (limit === room) throw tooMuchOutput(header, headerAt);
            throw new Lz4FormatError(
              `block decompresses to more than the maximum block size of ${blockMaxSize}`,
              headerAt,
            );
          }
          capacity = Math.min(limit, capacity * 2);
        }
      }
      pos = block.next;
    }
    finishLz4Frame(frame, header, pos, total, () => checksum?.digest() ?? 0);
    return total;
  } finally {
    wasm?.releaseDecoder();
  }
}

/** A larger buffer holding the first `keep` bytes of `buf`. */
function grow(buf: Uint8Array, capacity: number, keep: number): Uint8Array {
  const grown = new Uint8Array(capacity);
  grown.set(buf.subarray(0, keep));
  return grown;
}
