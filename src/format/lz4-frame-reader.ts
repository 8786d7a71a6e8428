/**
 * Reading an LZ4 frame's structure without decoding it: the header (after any skippable frames), each
 * block's place and kind, and the checks after the end mark. The frame decoder (lz4-frame.ts) decodes
 * the blocks in turn; a restore hands independent blocks to worker threads and puts them back in order.
 * Every check a frame can fail is here, so both ways reject the same frames. Pure.
 */
// biome-ignore-all lint/style/noNonNullAssertion: byte reads are bounds-checked by `need`.
import { readU32LE } from "./bytes.ts";
import {
  BD_RESERVED,
  BD_SIZE_INDEX_MIN,
  BD_SIZE_MASK,
  BD_SIZE_SHIFT,
  BLOCK_LENGTH_MASK,
  BLOCK_UNCOMPRESSED,
  END_MARK,
  FLG_BLOCK_CHECKSUM,
  FLG_BLOCK_INDEPENDENCE,
  FLG_CONTENT_CHECKSUM,
  FLG_CONTENT_SIZE,
  FLG_DICT_ID,
  FLG_RESERVED,
  FLG_VERSION_01,
  FLG_VERSION_MASK,
  type FrameSource,
  headerChecksum,
  hex,
  LEGACY_MAGIC,
  Lz4FormatError,
  Lz4OutputLimitError,
  MAGIC,
  SKIPPABLE_MAGIC,
  SKIPPABLE_MAGIC_MASK,
} from "./lz4-frame-format.ts";
import { xxh32 } from "./xxhash32.ts";

export interface Lz4FrameHeader {
  /** Where the first block header is. */
  blocksAt: number;
  blockMaxSize: number;
  /** Blocks do not refer back into earlier blocks: they can be decoded apart. */
  independent: boolean;
  blockChecksums: boolean;
  contentChecksum: boolean;
  /** The declared content size, when the frame has one. */
  contentSize: number | undefined;
  /** The output limit the frame was read with. */
  maxOutputBytes: number;
}

export interface Lz4BlockRef {
  headerAt: number;
  /** Where the block's data is, and how long it is. */
  dataAt: number;
  size: number;
  /** Kept uncompressed by the encoder. */
  stored: boolean;
  /** Where the next block header is. */
  next: number;
}

function needIn(frame: FrameSource, at: number, n: number, what: string): void {
  if (frame.length - at < n) {
    throw new Lz4FormatError(
      `input is truncated in the ${what} (needs ${n} bytes, has ${frame.length - at})`,
      at,
    );
  }
}

const byteAt = (frame: FrameSource, at: number): number => frame.bytes(at, at + 1)[0]!;
const u32At = (frame: FrameSource, at: number): number => readU32LE(frame.bytes(at, at + 4), 0);

/** Reads and checks the frame header. Throws Lz4FormatError (Lz4OutputLimitError for a declared size over the limit). */
export function readLz4FrameHeader(frame: FrameSource, maxOutputBytes: number): Lz4FrameHeader {
  // Magic number, after any skippable frames.
  let pos = 0;
  for (;;) {
    needIn(frame, pos, 4, "magic number");
    const magic = u32At(frame, pos);
    if (magic === MAGIC) break;
    if ((magic & SKIPPABLE_MAGIC_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      needIn(frame, pos + 4, 4, "skippable frame size");
      const size = u32At(frame, pos + 4);
      needIn(frame, pos + 8, size, "skippable frame");
      pos += 8 + size;
      continue;
    }
    if (magic === LEGACY_MAGIC) throw new Lz4FormatError("legacy LZ4 format is not supported", pos);
    throw new Lz4FormatError(`bad magic number ${hex(magic, 8)}`, pos);
  }
  pos += 4;

  // Frame descriptor.
  const descriptorStart = pos;
  needIn(frame, pos, 2, "frame descriptor");
  const flg = byteAt(frame, pos);
  const bd = byteAt(frame, pos + 1);
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
  pos += 2;

  let contentSize: number | undefined;
  if (flg & FLG_CONTENT_SIZE) {
    needIn(frame, pos, 8, "content size");
    // Exact below 2^53; anything larger is far past any output limit anyway.
    contentSize = u32At(frame, pos + 4) * 2 ** 32 + u32At(frame, pos);
    if (contentSize > maxOutputBytes) {
      throw new Lz4OutputLimitError(
        `declared content size ${contentSize} exceeds the output limit of ${maxOutputBytes} bytes`,
        pos,
      );
    }
    pos += 8;
  }
  needIn(frame, pos, 1, "header checksum");
  const expectedHc = headerChecksum(frame.bytes(descriptorStart, pos));
  if (byteAt(frame, pos) !== expectedHc) {
    throw new Lz4FormatError(
      `header checksum mismatch (stored ${hex(byteAt(frame, pos), 2)}, computed ${hex(expectedHc, 2)})`,
      pos,
    );
  }
  return {
    blocksAt: pos + 1,
    blockMaxSize,
    independent: (flg & FLG_BLOCK_INDEPENDENCE) !== 0,
    blockChecksums: (flg & FLG_BLOCK_CHECKSUM) !== 0,
    contentChecksum: (flg & FLG_CONTENT_CHECKSUM) !== 0,
    contentSize,
    maxOutputBytes,
  };
}

/**
 * The block whose header is at `pos`, with its size and checksum checked; null at the end mark (the
 * frame's tail then starts at `pos + 4`).
 */
export function readLz4Block(frame: FrameSource, header: Lz4FrameHeader, pos: number): Lz4BlockRef | null {
  needIn(frame, pos, 4, "block header");
  const word = u32At(frame, pos);
  if (word === END_MARK) return null;
  const size = word & BLOCK_LENGTH_MASK;
  if (size > header.blockMaxSize) {
    throw new Lz4FormatError(
      `block of ${size} bytes exceeds the maximum block size of ${header.blockMaxSize}`,
      pos,
    );
  }
  const dataAt = pos + 4;
  needIn(frame, dataAt, size + (header.blockChecksums ? 4 : 0), "block data");
  if (header.blockChecksums) {
    const stored = u32At(frame, dataAt + size);
    const computed = xxh32(frame.bytes(dataAt, dataAt + size));
    if (stored !== computed) {
      throw new Lz4FormatError(
        `block checksum mismatch (stored ${hex(stored, 8)}, computed ${hex(computed, 8)})`,
        dataAt + size,
      );
    }
  }
  return {
    headerAt: pos,
    dataAt,
    size,
    stored: (word & BLOCK_UNCOMPRESSED) !== 0,
    next: dataAt + size + (header.blockChecksums ? 4 : 0),
  };
}

/** How much more a block may produce, and the error when it produced too much. */
export function outputRoom(header: Lz4FrameHeader, total: number): number {
  return (header.contentSize ?? header.maxOutputBytes) - total;
}

export function tooMuchOutput(header: Lz4FrameHeader, at: number): Lz4FormatError {
  return header.contentSize !== undefined
    ? new Lz4FormatError(
        `decompressed data exceeds the declared content size of ${header.contentSize} bytes`,
        at,
      )
    : new Lz4OutputLimitError(
        `decompressed data exceeds the output limit of ${header.maxOutputBytes} bytes`,
        at,
      );
}

/**
 * The checks after the end mark at `endMarkAt`: the declared content size, the content checksum (`digest`
 * of everything decoded, when the frame has one) and no trailing bytes.
 */
export function finishLz4Frame(
  frame: FrameSource,
  header: Lz4FrameHeader,
  endMarkAt: number,
  total: number,
  digest: () => number,
): void {
  if (header.contentSize !== undefined && total !== header.contentSize) {
    throw new Lz4FormatError(
      `content size mismatch (declared ${header.contentSize} bytes, decoded ${total})`,
      endMarkAt,
    );
  }
  let pos = endMarkAt + 4;
  if (header.contentChecksum) {
    needIn(frame, pos, 4, "content checksum");
    const stored = u32At(frame, pos);
    const computed = digest();
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
}
