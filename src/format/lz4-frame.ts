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
  type Lz4BlockRef,
  type Lz4FrameHeader,
  outputRoom,
  readLz4Block,
  readLz4FrameHeader,
  tooMuchOutput,
} from "./lz4-frame-reader.ts";
import { type WasmKernels, wasmLz4Compressor } from "./wasm-kernels.ts";
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
  const wasm = opts.decoder === "js" ? null : claimWasm();
  try {
    const decoder = new FrameStreamDecoder(frame, header, sink, wasm);
    const endMarkAt = decoder.decodeBlocks();
    finishLz4Frame(frame, header, endMarkAt, decoder.total, () => decoder.digest());
    return decoder.total;
  } finally {
    wasm?.releaseDecoder();
  }
}

/**
 * One streaming decode's state between blocks: the output so far (its length and checksum) and the
 * working buffer. Created once per frame; its steps are methods, so a block costs no closure.
 */
class FrameStreamDecoder {
  /** Bytes handed to the sink so far. */
  total = 0;
  /** The back-reference window dependent blocks may use; 0 when blocks are independent. */
  private readonly window: number;
  /**
   * Working buffer: the window, then room for one block. With the WebAssembly decoder it is that
   * decoder's work area, which holds any block.
   */
  private work: Uint8Array;
  /** How many bytes of earlier output sit at the start of `work` (at most `window`). */
  private history = 0;
  private readonly checksum: Xxh32 | null;

  constructor(
    private readonly frame: FrameSource,
    private readonly header: Lz4FrameHeader,
    private readonly sink: (chunk: Uint8Array) => void,
    private readonly wasm: WasmKernels | null,
  ) {
    this.window = header.independent ? 0 : DEPENDENT_WINDOW;
    this.work = wasm ? wasm.work : new Uint8Array(0);
    this.checksum = header.contentChecksum ? new Xxh32() : null;
  }

  /** Decodes every block in order; returns where the end mark is. */
  decodeBlocks(): number {
    const { frame, header } = this;
    let pos = header.blocksAt;
    for (let block = readLz4Block(frame, header, pos); block; block = readLz4Block(frame, header, pos)) {
      if (block.stored) this.copyStored(block);
      else this.decompress(block);
      pos = block.next;
    }
    return pos;
  }

  /** The content checksum of everything handed over (0 when the frame has none). */
  digest(): number {
    return this.checksum?.digest() ?? 0;
  }

  /** A block the encoder kept uncompressed: handed over as it is, and kept as window if one is needed. */
  private copyStored(block: Lz4BlockRef): void {
    const { headerAt, dataAt, size } = block;
    if (size > outputRoom(this.header, this.total)) throw tooMuchOutput(this.header, headerAt);
    const data = this.frame.bytes(dataAt, dataAt + size);
    const window = this.window;
    if (window > 0) {
      if (this.work.length < window + size) this.work = grow(this.work, window + size, this.history);
      this.work.set(data, this.history);
      this.keepWindow(this.history + size);
    }
    this.emit(data);
  }

  /**
   * A compressed block, decoded after the window in `work`: the JavaScript decoder gets room for a few
   * times the compressed size, doubled while the block needs more; the WebAssembly work area holds any
   * block.
   */
  private decompress(block: Lz4BlockRef): void {
    const { header } = this;
    const room = outputRoom(header, this.total);
    // A block is at most blockMaxSize; grow the buffer only as far as this block needs.
    const limit = Math.min(header.blockMaxSize, room);
    let capacity = this.wasm ? limit : Math.min(limit, Math.max(block.size * 4, MIN_OUTPUT_GROWTH));
    for (;;) {
      const end = this.decodeInto(block, capacity);
      if (end !== OUTPUT_LIMIT_REACHED) {
        this.emit(this.work.subarray(this.history, end));
        if (this.window > 0) this.keepWindow(end);
        return;
      }
      if (capacity >= limit) throw blockTooLarge(header, block.headerAt, limit === room);
      capacity = Math.min(limit, capacity * 2);
    }
  }

  /**
   * Decodes `block` into `work` after the window, producing at most `capacity` bytes; returns the
   * output's end, or OUTPUT_LIMIT_REACHED when the block needs more room.
   */
  private decodeInto(block: Lz4BlockRef, capacity: number): number {
    const { dataAt, size } = block;
    const history = this.history;
    if (this.work.length < history + capacity) this.work = grow(this.work, history + capacity, history);
    const data = this.frame.bytes(dataAt, dataAt + size);
    // Independent blocks may not reach back into the window.
    const windowStart = this.header.independent ? history : 0;
    return this.wasm
      ? decodeBlockWasm(this.wasm, data, dataAt, history, history + capacity, windowStart)
      : decodeBlockAt(data, dataAt, this.work, history, history + capacity, windowStart);
  }

  private emit(chunk: Uint8Array): void {
    this.checksum?.update(chunk);
    this.total += chunk.length;
    this.sink(chunk);
  }

  /** Keeps the last `window` bytes of output at the start of `work` for the next dependent block. */
  private keepWindow(end: number): void {
    const keep = Math.min(this.window, end);
    this.work.copyWithin(0, end - keep, end);
    this.history = keep;
  }
}

/**
 * A block that produced more than it may: past the output limit or declared content size when that is
 * what bounded it (`byRoom`), else past the frame's maximum block size.
 */
function blockTooLarge(header: Lz4FrameHeader, headerAt: number, byRoom: boolean): Lz4FormatError {
  if (byRoom) return tooMuchOutput(header, headerAt);
  return new Lz4FormatError(
    `block decompresses to more than the maximum block size of ${header.blockMaxSize}`,
    headerAt,
  );
}

/** A larger buffer holding the first `keep` bytes of `buf`. */
function grow(buf: Uint8Array, capacity: number, keep: number): Uint8Array {
  const grown = new Uint8Array(capacity);
  grown.set(buf.subarray(0, keep));
  return grown;
}
