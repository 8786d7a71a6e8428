/**
 * The LZ4 frame format's constants, errors and small helpers, shared by the encoder (lz4-frame.ts), the
 * frame reader (lz4-frame-reader.ts) and the block decoders (lz4-block-decode.ts). Pure.
 * https://github.com/lz4/lz4/blob/dev/doc/lz4_Frame_format.md
 */
import { Xxh32 } from "./xxhash32.ts";

export const MAGIC = 0x184d2204;
export const LEGACY_MAGIC = 0x184c2102;
/** Skippable frames use magic numbers 0x184D2A50 to 0x184D2A5F. */
export const SKIPPABLE_MAGIC = 0x184d2a50;
export const SKIPPABLE_MAGIC_MASK = 0xfffffff0;

// FLG byte.
export const FLG_VERSION_MASK = 0xc0;
export const FLG_VERSION_01 = 0x40;
export const FLG_BLOCK_INDEPENDENCE = 0x20;
export const FLG_BLOCK_CHECKSUM = 0x10;
export const FLG_CONTENT_SIZE = 0x08;
export const FLG_CONTENT_CHECKSUM = 0x04;
export const FLG_RESERVED = 0x02;
export const FLG_DICT_ID = 0x01;

// BD byte: bits 6-4 select the block maximum size; bit 7 and bits 3-0 are reserved.
export const BD_RESERVED = 0x8f;
export const BD_SIZE_SHIFT = 4;
export const BD_SIZE_MASK = 0x07;
export const BD_SIZE_INDEX_MIN = 4;
export const BD_SIZE_INDEX_4MIB = 7;

export const BLOCK_SIZE_4MIB = 4 * 1024 * 1024;
/** Block header bit 31: the block is stored uncompressed. The low 31 bits are the data length. */
export const BLOCK_UNCOMPRESSED = 0x80000000;
export const BLOCK_LENGTH_MASK = 0x7fffffff;
export const END_MARK = 0;

/** Every LZ4 match is at least this long; the token stores the length minus this. */
export const MIN_MATCH = 4;

/** Our FLG: version 01, independent blocks, content checksum; no block checksum, content size or dictID. */
export const ENCODER_FLG = FLG_VERSION_01 | FLG_BLOCK_INDEPENDENCE | FLG_CONTENT_CHECKSUM;
/** Our BD: 4 MiB maximum block size. */
export const ENCODER_BD = BD_SIZE_INDEX_4MIB << BD_SIZE_SHIFT;

/**
 * Default decoder output limit. Walship's largest objects are snapshots, which hold a whole database; 1 GiB
 * covers every database we expect to replicate while keeping a decompression bomb (LZ4 expands up to ~255x,
 * so a 4 MiB object could claim ~1 GiB) from exhausting memory. Callers restoring larger databases pass a
 * bigger `maxOutputBytes`.
 */
export const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024 * 1024;
/** No LZ4 block can decompress to more than 255 bytes per input byte; used to cap pre-sizing. */
export const MAX_EXPANSION_RATIO = 255;
/** Copies shorter than this are faster as byte loops than as `set`/`copyWithin` calls (measured in Bun). */
export const SHORT_COPY = 256;
/** Smallest growth step for the decoder's output buffer. */
export const MIN_OUTPUT_GROWTH = 64 * 1024;
/** How far back a dependent block's matches may reach: LZ4's 64 KiB window. */
export const DEPENDENT_WINDOW = 64 * 1024;

/**
 * The input is not a valid LZ4 frame (or exceeds a decoder limit). `offset` is where in the input.
 * `code` is stable, as walship's other errors have one (errors/walship-error.ts, which this pure module
 * may not import).
 */
export class Lz4FormatError extends Error {
  override name = "Lz4FormatError";
  readonly code: "lz4-frame-invalid" | "lz4-output-limit" = "lz4-frame-invalid";
  readonly offset: number;

  constructor(
    /** What is wrong, without where: the message is built from it and `offset`. */
    readonly problem: string,
    offset: number,
  ) {
    super(`Cannot decode LZ4 frame: ${problem} at offset ${offset}`);
    this.offset = offset;
  }
}

/** The frame may be valid, but its content is larger than the caller's `maxOutputBytes`. */
export class Lz4OutputLimitError extends Lz4FormatError {
  override name = "Lz4OutputLimitError";
  override readonly code = "lz4-output-limit";
}

/** Header checksum byte: second byte of xxh32 over the descriptor (FLG up to, not including, HC). */
export function headerChecksum(descriptor: Uint8Array): number {
  return (new Xxh32().update(descriptor).digest() >>> 8) & 0xff;
}

export function checkLimitOption(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`decodeLz4Frame: ${name} must be a non-negative integer, got ${value}`);
  }
}

export function hex(n: number, digits: number): string {
  return `0x${n.toString(16).toUpperCase().padStart(digits, "0")}`;
}

/** Where the decoder reads a frame from: a byte array, or a file read piece by piece. */
export interface FrameSource {
  readonly length: number;
  /** Bytes [start, end) of the frame; the view may be reused after the next call. */
  bytes(start: number, end: number): Uint8Array;
  /** Copies bytes [start, start + target.length) into `target` (as `bytes` and a copy, in one step). */
  copyTo?(start: number, target: Uint8Array): void;
  /**
   * Resolves once bytes [0, end) can be read, for a frame still being downloaded; absent when all of
   * it can. Only asynchronous decoders ask; the others need the whole frame there.
   */
  ready?(end: number): Promise<void>;
}

export function arraySource(frame: Uint8Array): FrameSource {
  return { length: frame.length, bytes: (start, end) => frame.subarray(start, end) };
}
