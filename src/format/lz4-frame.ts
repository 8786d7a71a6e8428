/**
 * The LZ4 frame format as Litestream 0.3.13 (pierrec/lz4 v4) writes and reads it: an encoder that emits one
 * frame of independent 4 MiB blocks with a content checksum, and a defensive decoder for hostile input.
 * Pure: imports nothing from the runtime; takes and returns Uint8Array.
 */
// biome-ignore-all lint/style/noNonNullAssertion: byte reads are bounds-checked by the surrounding logic; `!` only undoes noUncheckedIndexedAccess in hot loops.

import { concatBytes, readU32LE, writeU32LE } from "./bytes.ts";
import { compressBlock, compressBound, LZ4_HASH_TABLE_SIZE } from "./lz4-block.ts";
import { type WasmKernels, wasmKernels } from "./wasm-kernels.ts";
import { Xxh32, xxh32 } from "./xxhash32.ts";

// ---------------------------------------------------------------------------------------------------------
// Format constants (https://github.com/lz4/lz4/blob/dev/doc/lz4_Frame_format.md)
// ---------------------------------------------------------------------------------------------------------

const MAGIC = 0x184d2204;
const LEGACY_MAGIC = 0x184c2102;
/** Skippable frames use magic numbers 0x184D2A50 to 0x184D2A5F. */
const SKIPPABLE_MAGIC = 0x184d2a50;
const SKIPPABLE_MAGIC_MASK = 0xfffffff0;

// FLG byte.
const FLG_VERSION_MASK = 0xc0;
const FLG_VERSION_01 = 0x40;
const FLG_BLOCK_INDEPENDENCE = 0x20;
const FLG_BLOCK_CHECKSUM = 0x10;
const FLG_CONTENT_SIZE = 0x08;
const FLG_CONTENT_CHECKSUM = 0x04;
const FLG_RESERVED = 0x02;
const FLG_DICT_ID = 0x01;

// BD byte: bits 6-4 select the block maximum size; bit 7 and bits 3-0 are reserved.
const BD_RESERVED = 0x8f;
const BD_SIZE_SHIFT = 4;
const BD_SIZE_MASK = 0x07;
const BD_SIZE_INDEX_MIN = 4;
const BD_SIZE_INDEX_4MIB = 7;

const BLOCK_SIZE_4MIB = 4 * 1024 * 1024;
/** Block header bit 31: the block is stored uncompressed. The low 31 bits are the data length. */
const BLOCK_UNCOMPRESSED = 0x80000000;
const BLOCK_LENGTH_MASK = 0x7fffffff;
const END_MARK = 0;

/** Every LZ4 match is at least this long; the token stores the length minus this. */
const MIN_MATCH = 4;

/** Our FLG: version 01, independent blocks, content checksum; no block checksum, content size or dictID. */
const ENCODER_FLG = FLG_VERSION_01 | FLG_BLOCK_INDEPENDENCE | FLG_CONTENT_CHECKSUM;
/** Our BD: 4 MiB maximum block size. */
const ENCODER_BD = BD_SIZE_INDEX_4MIB << BD_SIZE_SHIFT;

/**
 * Default decoder output limit. Walship's largest objects are snapshots, which hold a whole database; 1 GiB
 * covers every database we expect to replicate while keeping a decompression bomb (LZ4 expands up to ~255x,
 * so a 4 MiB object could claim ~1 GiB) from exhausting memory. Callers restoring larger databases pass a
 * bigger `maxOutputBytes`.
 */
const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024 * 1024;
/** No LZ4 block can decompress to more than 255 bytes per input byte; used to cap pre-sizing. */
const MAX_EXPANSION_RATIO = 255;
/** Copies shorter than this are faster as byte loops than as `set`/`copyWithin` calls (measured in Bun). */
const SHORT_COPY = 256;
/** Smallest growth step for the decoder's output buffer. */
const MIN_OUTPUT_GROWTH = 64 * 1024;
/** How far back a dependent block's matches may reach: LZ4's 64 KiB window. */
const DEPENDENT_WINDOW = 64 * 1024;

// ---------------------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------------------

/** The input is not a valid LZ4 frame (or exceeds a decoder limit). `offset` is where in the input. */
export class Lz4FormatError extends Error {
  override name = "Lz4FormatError";
  readonly offset: number;

  constructor(problem: string, offset: number) {
    super(`Cannot decode LZ4 frame: ${problem} at offset ${offset}`);
    this.offset = offset;
  }
}

/** The frame may be valid, but its content is larger than the caller's `maxOutputBytes`. */
export class Lz4OutputLimitError extends Lz4FormatError {
  override name = "Lz4OutputLimitError";
}

/** Header checksum byte: second byte of xxh32 over the descriptor (FLG up to, not including, HC). */
function headerChecksum(descriptor: Uint8Array): number {
  return (new Xxh32().update(descriptor).digest() >>> 8) & 0xff;
}

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
  scratch ??= {
    hashTable: new Int32Array(LZ4_HASH_TABLE_SIZE),
    output: new Uint8Array(compressBound(BLOCK_SIZE_4MIB)),
  };
  const { hashTable, output } = scratch;
  hashTable.fill(0); // independent blocks: no match may reach into an earlier block
  const n = compressBlock(src, start, length, output, hashTable);
  if (n === 0) {
    const block = new Uint8Array(4 + length);
    writeU32LE(block, 0, (BLOCK_UNCOMPRESSED | length) >>> 0);
    block.set(src.subarray(start, start + length), 4);
    return block;
  }
  const block = new Uint8Array(4 + n);
  writeU32LE(block, 0, n);
  block.set(output.subarray(0, n), 4);
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

/** Returned by decodeBlock when the output would pass its limit. */
const OUTPUT_LIMIT_REACHED = -1;

/**
 * Decodes one LZ4 block `src[s, sEnd)` into `dst` at `d`, writing nothing at or past `dLimit`. Matches may
 * reach back to `windowStart`. Returns the output end, or OUTPUT_LIMIT_REACHED. Unlike lz4js's
 * decompressBlock it bounds-checks every read, write and back-reference, so hostile blocks cannot read
 * outside the input or fabricate bytes.
 */
function decodeBlock(
  src: Uint8Array,
  s: number,
  sEnd: number,
  dst: Uint8Array,
  d: number,
  dLimit: number,
  windowStart: number,
): number {
  for (;;) {
    const token = src[s++]!;
    let literals = token >>> 4;
    if (literals === 15) {
      let b: number;
      do {
        if (s >= sEnd) throw new Lz4FormatError("block ends inside a literal length", s);
        b = src[s++]!;
        literals += b;
      } while (b === 255);
    }
    if (literals > 0) {
      if (literals > sEnd - s) throw new Lz4FormatError("literal run overruns the block", s);
      if (literals > dLimit - d) return OUTPUT_LIMIT_REACHED;
      if (literals < SHORT_COPY) {
        const end = s + literals;
        while (s < end) dst[d++] = src[s++]!;
      } else {
        dst.set(src.subarray(s, s + literals), d);
        s += literals;
        d += literals;
      }
    }
    if (s === sEnd) return d; // a block ends with a literal-only sequence
    if (sEnd - s < 2) throw new Lz4FormatError("block ends inside a match offset", s);
    const offset = src[s]! | (src[s + 1]! << 8);
    if (offset === 0) throw new Lz4FormatError("match offset is zero", s);
    if (offset > d - windowStart) {
      throw new Lz4FormatError(`match offset ${offset} reaches before the start of the available output`, s);
    }
    s += 2;
    let length = token & 15;
    if (length === 15) {
      let b: number;
      do {
        if (s >= sEnd) throw new Lz4FormatError("block ends inside a match length", s);
        b = src[s++]!;
        length += b;
      } while (b === 255);
    }
    length += MIN_MATCH;
    if (length > dLimit - d) return OUTPUT_LIMIT_REACHED;
    let m = d - offset;
    if (length < SHORT_COPY) {
      const end = d + length;
      while (d < end) dst[d++] = dst[m++]!;
    } else if (offset >= length) {
      dst.copyWithin(d, m, m + length);
      d += length;
    } else {
      // Overlapping copy of a repeating pattern: each pass copies everything written since `m`, doubling.
      const end = d + length;
      while (d < end) {
        const n = Math.min(d - m, end - d);
        dst.copyWithin(d, m, m + n);
        d += n;
      }
    }
    if (s >= sEnd) throw new Lz4FormatError("block ends with a match instead of literals", s);
  }
}

function checkLimitOption(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`decodeLz4Frame: ${name} must be a non-negative integer, got ${value}`);
  }
}

function hex(n: number, digits: number): string {
  return `0x${n.toString(16).toUpperCase().padStart(digits, "0")}`;
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
  const byteAt = (at: number): number => frame.bytes(at, at + 1)[0]!;
  const u32At = (at: number): number => readU32LE(frame.bytes(at, at + 4), 0);
  const maxOutputBytes = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  checkLimitOption("maxOutputBytes", maxOutputBytes);

  const need = (at: number, n: number, what: string): void => {
    if (frame.length - at < n) {
      throw new Lz4FormatError(
        `input is truncated in the ${what} (needs ${n} bytes, has ${frame.length - at})`,
        at,
      );
    }
  };

  // Magic number, after any skippable frames.
  let pos = 0;
  for (;;) {
    need(pos, 4, "magic number");
    const magic = u32At(pos);
    if (magic === MAGIC) break;
    if ((magic & SKIPPABLE_MAGIC_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      need(pos + 4, 4, "skippable frame size");
      const size = u32At(pos + 4);
      need(pos + 8, size, "skippable frame");
      pos += 8 + size;
      continue;
    }
    if (magic === LEGACY_MAGIC) throw new Lz4FormatError("legacy LZ4 format is not supported", pos);
    throw new Lz4FormatError(`bad magic number ${hex(magic, 8)}`, pos);
  }
  pos += 4;

  // Frame descriptor.
  const descriptorStart = pos;
  need(pos, 2, "frame descriptor");
  const flg = byteAt(pos);
  const bd = byteAt(pos + 1);
  if ((flg & FLG_VERSION_MASK) !== FLG_VERSION_01) {
    throw new Lz4FormatError(`unsupported frame version ${(flg & FLG_VERSION_MASK) >>> 6}`, pos);
  }
  if (flg & FLG_RESERVED) throw new Lz4FormatError(`reserved bit set in FLG byte ${hex(flg, 2)}`, pos);
  if (flg & FLG_DICT_ID) throw new Lz4FormatError("dictionary IDs are not supported", pos);
  if (bd & BD_RESERVED) throw new Lz4FormatError(`reserved bits set in BD byte ${hex(bd, 2)}`, pos + 1);
  const sizeIndex = (bd >>> BD_SIZE_SHIFT) & BD_SIZE_MASK;
  if (sizeIndex < BD_SIZE_INDEX_MIN) {
    throw new Lz4FormatError(`invalid block maximum size index ${sizeIndex} (must be 4 to 7)`, pos + 1);
  }
  const blockMaxSize = 1 << (2 * sizeIndex + 8); // 4 → 64 KiB, 5 → 256 KiB, 6 → 1 MiB, 7 → 4 MiB
  const independent = (flg & FLG_BLOCK_INDEPENDENCE) !== 0;
  const hasBlockChecksums = (flg & FLG_BLOCK_CHECKSUM) !== 0;
  const hasContentChecksum = (flg & FLG_CONTENT_CHECKSUM) !== 0;
  pos += 2;

  let contentSize: number | undefined;
  if (flg & FLG_CONTENT_SIZE) {
    need(pos, 8, "content size");
    // Exact below 2^53; anything larger is far past any output limit anyway.
    contentSize = u32At(pos + 4) * 2 ** 32 + u32At(pos);
    if (contentSize > maxOutputBytes) {
      throw new Lz4OutputLimitError(
        `declared content size ${contentSize} exceeds the output limit of ${maxOutputBytes} bytes`,
        pos,
      );
    }
    pos += 8;
  }
  need(pos, 1, "header checksum");
  const expectedHc = headerChecksum(frame.bytes(descriptorStart, pos));
  if (byteAt(pos) !== expectedHc) {
    throw new Lz4FormatError(
      `header checksum mismatch (stored ${hex(byteAt(pos), 2)}, computed ${hex(expectedHc, 2)})`,
      pos,
    );
  }
  pos += 1;

  const capacityLimit = contentSize ?? maxOutputBytes;
  const tooMuchOutput = (at: number): Lz4FormatError =>
    contentSize !== undefined
      ? new Lz4FormatError(`decompressed data exceeds the declared content size of ${contentSize} bytes`, at)
      : new Lz4OutputLimitError(`decompressed data exceeds the output limit of ${maxOutputBytes} bytes`, at);

  // Working buffer: the back-reference window dependent blocks may use, then room for one block. With
  // the WebAssembly decoder it is that decoder's work area, which holds any block.
  const window = independent ? 0 : DEPENDENT_WINDOW;
  const wasm = opts.decoder === "js" ? null : claimWasm();
  try {
    let work: Uint8Array = wasm ? wasm.work : new Uint8Array(0);
    let history = 0;
    let total = 0;
    const checksum = hasContentChecksum ? new Xxh32() : null;
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

    // Data blocks.
    for (;;) {
      const headerAt = pos;
      need(pos, 4, "block header");
      const header = u32At(pos);
      pos += 4;
      if (header === END_MARK) break;
      const size = header & BLOCK_LENGTH_MASK;
      if (size > blockMaxSize) {
        throw new Lz4FormatError(
          `block of ${size} bytes exceeds the maximum block size of ${blockMaxSize}`,
          headerAt,
        );
      }
      need(pos, size + (hasBlockChecksums ? 4 : 0), "block data");
      if (hasBlockChecksums) {
        const stored = u32At(pos + size);
        const computed = xxh32(frame.bytes(pos, pos + size));
        if (stored !== computed) {
          throw new Lz4FormatError(
            `block checksum mismatch (stored ${hex(stored, 8)}, computed ${hex(computed, 8)})`,
            pos + size,
          );
        }
      }

      const room = capacityLimit - total;
      if (header & BLOCK_UNCOMPRESSED) {
        if (size > room) throw tooMuchOutput(headerAt);
        const data = frame.bytes(pos, pos + size);
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
          const block = frame.bytes(pos, pos + size);
          const windowStart = independent ? history : 0;
          const end = wasm
            ? decodeBlockWasm(wasm, block, pos, history, history + capacity, windowStart)
            : decodeBlockAt(block, pos, work, history, history + capacity, windowStart);
          if (end !== OUTPUT_LIMIT_REACHED) {
            emit(work.subarray(history, end));
            if (window > 0) keepWindow(end);
            break;
          }
          if (capacity >= limit) {
            if (limit === room) throw tooMuchOutput(headerAt);
            throw new Lz4FormatError(
              `block decompresses to more than the maximum block size of ${blockMaxSize}`,
              headerAt,
            );
          }
          capacity = Math.min(limit, capacity * 2);
        }
      }
      pos += size + (hasBlockChecksums ? 4 : 0);
    }

    const endMarkAt = pos - 4;
    if (contentSize !== undefined && total !== contentSize) {
      throw new Lz4FormatError(
        `content size mismatch (declared ${contentSize} bytes, decoded ${total})`,
        endMarkAt,
      );
    }
    if (checksum) {
      need(pos, 4, "content checksum");
      const stored = u32At(pos);
      const computed = checksum.digest();
      if (stored !== computed) {
        throw new Lz4FormatError(
          `content checksum mismatch (stored ${hex(stored, 8)}, computed ${hex(computed, 8)})`,
          pos,
        );
      }
      pos += 4;
    }
    if (pos !== frame.length) {
      const n = frame.length - pos;
      throw new Lz4FormatError(`trailing data after the frame (${n} byte${n === 1 ? "" : "s"})`, pos);
    }
    return total;
  } finally {
    wasm?.releaseDecoder();
  }
}

/**
 * Which block decoder decodes: `wasm` (the default) uses the WebAssembly one where it loads and the
 * JavaScript one elsewhere; `js` forces the JavaScript one (tests compare the two).
 */
export type BlockDecoderChoice = "wasm" | "js";

/** The WebAssembly decoder for one frame, or null (not available, or a frame decoding on this thread has it). */
function claimWasm(): WasmKernels | null {
  const kernels = wasmKernels();
  return kernels?.claimDecoder() ? kernels : null;
}

/** What each negative result of the WebAssembly decoder means, as decodeBlock words it. */
const WASM_ERRORS: Readonly<Record<number, (value: number) => string>> = {
  [-2]: () => "block ends inside a literal length",
  [-3]: () => "literal run overruns the block",
  [-4]: () => "block ends inside a match offset",
  [-5]: () => "match offset is zero",
  [-6]: (offset) => `match offset ${offset} reaches before the start of the available output`,
  [-7]: () => "block ends inside a match length",
  [-8]: () => "block ends with a match instead of literals",
};

/** decodeBlockAt with the WebAssembly decoder: same results, same errors at the same offsets. */
function decodeBlockWasm(
  wasm: WasmKernels,
  block: Uint8Array,
  blockOffset: number,
  d: number,
  dLimit: number,
  windowStart: number,
): number {
  const end = wasm.decodeBlock(block, d, dLimit, windowStart);
  if (end >= 0 || end === OUTPUT_LIMIT_REACHED) return end;
  const message = WASM_ERRORS[end];
  if (!message) throw new Error(`lz4 wasm: unknown result ${end}`);
  throw new Lz4FormatError(message(wasm.errorValue), blockOffset + wasm.errorOffset);
}

/** Where the decoder reads a frame from: a byte array, or a file read piece by piece. */
export interface FrameSource {
  readonly length: number;
  /** Bytes [start, end) of the frame; the view may be reused after the next call. */
  bytes(start: number, end: number): Uint8Array;
}

function arraySource(frame: Uint8Array): FrameSource {
  return { length: frame.length, bytes: (start, end) => frame.subarray(start, end) };
}

/** decodeBlock over one block's bytes, reporting errors at their offset in the whole frame. */
function decodeBlockAt(
  block: Uint8Array,
  blockOffset: number,
  dst: Uint8Array,
  d: number,
  dLimit: number,
  windowStart: number,
): number {
  try {
    return decodeBlock(block, 0, block.length, dst, d, dLimit, windowStart);
  } catch (err) {
    if (!(err instanceof Lz4FormatError)) throw err;
    const problem = err.message.replace(/^Cannot decode LZ4 frame: /, "").replace(/ at offset \d+$/, "");
    throw new Lz4FormatError(problem, blockOffset + err.offset);
  }
}

/** A larger buffer holding the first `keep` bytes of `buf`. */
function grow(buf: Uint8Array, capacity: number, keep: number): Uint8Array {
  const grown = new Uint8Array(capacity);
  grown.set(buf.subarray(0, keep));
  return grown;
}
