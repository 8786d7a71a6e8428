/**
 * SQLite WAL file format: header and frame parsing, the cumulative checksum, frame alignment.
 * Pure: takes and returns bytes, imports nothing from the runtime.
 *
 * The scanner verifies salts and the checksum chain while it reads, and reports where the valid prefix
 * ends and where its last commit frame ends. It does not decide what to ship: callers use
 * `lastCommitEnd`, never `validEnd`, so frames after the last commit are never replicated or applied.
 */

export const WAL_HEADER_SIZE = 32;
export const WAL_FRAME_HEADER_SIZE = 24;
/** Magic with checksum words read little-endian (what x86 and arm64 SQLite writes). */
export const WAL_MAGIC_LE = 0x377f0682;
/** Magic with checksum words read big-endian. */
export const WAL_MAGIC_BE = 0x377f0683;
export const WAL_FORMAT_VERSION = 3007000;

export interface WalHeader {
  magic: number;
  version: number;
  pageSize: number;
  checkpointSeq: number;
  salt1: number;
  salt2: number;
  checksum1: number;
  checksum2: number;
}

/** A WAL is malformed in a way that is not simply "the valid part ends here". */
export class WalFormatError extends Error {
  override name = "WalFormatError";
  /** Stable, as walship's other errors have one (errors/walship-error.ts, which this pure module may not import). */
  readonly code = "wal-invalid";
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

export function isValidPageSize(n: number): boolean {
  return Number.isInteger(n) && n >= 512 && n <= 65536 && (n & (n - 1)) === 0;
}

export function frameSize(pageSize: number): number {
  return WAL_FRAME_HEADER_SIZE + pageSize;
}

/** Byte size of a WAL holding `frames` whole frames. */
export function walSize(pageSize: number, frames: number): number {
  return WAL_HEADER_SIZE + frames * frameSize(pageSize);
}

/** Rounds `size` down to the end of the last whole frame (0 when not even the header fits). */
export function frameAlign(size: number, pageSize: number): number {
  if (size < WAL_HEADER_SIZE) return 0;
  const fs = frameSize(pageSize);
  return WAL_HEADER_SIZE + Math.floor((size - WAL_HEADER_SIZE) / fs) * fs;
}

function u32(b: Uint8Array, off: number): number {
  return ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
}

function putU32(b: Uint8Array, off: number, v: number): void {
  b[off] = v >>> 24;
  b[off + 1] = v >>> 16;
  b[off + 2] = v >>> 8;
  b[off + 3] = v;
}

/**
 * SQLite's WAL checksum over `len` bytes of `b` at `off` (a multiple of 8), continuing from (s0, s1).
 * `littleEndian` selects how the 32-bit words are read; the stored result is always big-endian.
 */
export function walChecksum(
  littleEndian: boolean,
  s0: number,
  s1: number,
  b: Uint8Array,
  off: number,
  len: number,
): [number, number] {
  return new ChecksumReader(b, littleEndian).sum(s0, s1, off, len);
}

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Computes WAL checksums over one buffer. SQLite writes a WAL in the machine's byte order, so the words
 * are usually read straight from a Uint32Array; a DataView (one for the whole buffer, not one per
 * frame) covers the other order and unaligned buffers. This is the hot loop of capture and restore.
 */
class ChecksumReader {
  private readonly words: Int32Array | null;
  private readonly view: DataView;

  constructor(
    b: Uint8Array,
    private readonly littleEndian: boolean,
  ) {
    this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    this.words =
      littleEndian === HOST_LITTLE_ENDIAN && b.byteOffset % 4 === 0
        ? new Int32Array(b.buffer, b.byteOffset, b.byteLength >>> 2)
        : null;
  }

  /** The running sum after the last sumInto (unsigned). */
  s0 = 0;
  s1 = 0;

  /** Sums wrap at 2^32; kept as int32 (`| 0`) the JIT adds machine words instead of doubles. */
  sum(s0: number, s1: number, off: number, len: number): [number, number] {
    this.sumInto(s0, s1, off, len);
    return [this.s0, this.s1];
  }

  /** As sum, leaving the result in s0 and s1: the hot loops allocate nothing per frame. */
  sumInto(s0: number, s1: number, off: number, len: number): void {
    let a = s0 | 0;
    let c = s1 | 0;
    const words = this.words;
    if (words) {
      for (let i = off >>> 2, end = (off + len) >>> 2; i < end; i += 2) {
        a = (((a + words[i]!) | 0) + c) | 0;
        c = (((c + words[i + 1]!) | 0) + a) | 0;
      }
    } else {
      const view = this.view;
      const le = this.littleEndian;
      for (let i = off, end = off + len; i < end; i += 8) {
        a = (((a + view.getInt32(i, le)) | 0) + c) | 0;
        c = (((c + view.getInt32(i + 4, le)) | 0) + a) | 0;
      }
    }
    this.s0 = a >>> 0;
    this.s1 = c >>> 0;
  }
}

/**
 * Decodes and validates a 32-byte WAL header. Throws WalFormatError for a bad magic, version, page size
 * or header checksum: unlike a bad frame, a bad header means there is no valid WAL at all.
 */
export function decodeWalHeader(b: Uint8Array): WalHeader {
  if (b.length < WAL_HEADER_SIZE) {
    throw new WalFormatError(`Cannot read WAL header: need 32 bytes, have ${b.length}`, 0);
  }
  const h: WalHeader = {
    magic: u32(b, 0),
    version: u32(b, 4),
    pageSize: u32(b, 8),
    checkpointSeq: u32(b, 12),
    salt1: u32(b, 16),
    salt2: u32(b, 20),
    checksum1: u32(b, 24),
    checksum2: u32(b, 28),
  };
  if (h.magic !== WAL_MAGIC_LE && h.magic !== WAL_MAGIC_BE) {
    throw new WalFormatError(`Cannot read WAL header: invalid magic 0x${h.magic.toString(16)}`, 0);
  }
  // SQLite stores a 65536-byte page size as 1 in the database header, but as 65536 in the WAL header.
  if (!isValidPageSize(h.pageSize)) {
    throw new WalFormatError(`Cannot read WAL header: invalid page size ${h.pageSize}`, 8);
  }
  const [c1, c2] = walChecksum(h.magic === WAL_MAGIC_LE, 0, 0, b, 0, 24);
  if (c1 !== h.checksum1 || c2 !== h.checksum2) {
    throw new WalFormatError("Cannot read WAL header: header checksum mismatch", 24);
  }
  return h;
}

/** Encodes a WAL header, computing its checksum. Used by tests and by restore tooling. */
export function encodeWalHeader(h: Omit<WalHeader, "checksum1" | "checksum2">): Uint8Array {
  const b = new Uint8Array(WAL_HEADER_SIZE);
  putU32(b, 0, h.magic);
  putU32(b, 4, h.version);
  putU32(b, 8, h.pageSize);
  putU32(b, 12, h.checkpointSeq);
  putU32(b, 16, h.salt1);
  putU32(b, 20, h.salt2);
  const [c1, c2] = walChecksum(h.magic === WAL_MAGIC_LE, 0, 0, b, 0, 24);
  putU32(b, 24, c1);
  putU32(b, 28, c2);
  return b;
}

export interface FrameHeader {
  pgno: number;
  /** Database size in pages after this commit; 0 for a frame that is not a commit. */
  commitSize: number;
  salt1: number;
  salt2: number;
  checksum1: number;
  checksum2: number;
}

/** The page number of the frame at `off` (decodeFrameHeader's, without an object per frame). */
export function framePgno(b: Uint8Array, off: number): number {
  return u32(b, off);
}

/** The commit size of the frame at `off`: 0 for a frame that is not a commit. */
export function frameCommitSize(b: Uint8Array, off: number): number {
  return u32(b, off + 4);
}

export function decodeFrameHeader(b: Uint8Array, off: number): FrameHeader {
  return {
    pgno: u32(b, off),
    commitSize: u32(b, off + 4),
    salt1: u32(b, off + 8),
    salt2: u32(b, off + 12),
    checksum1: u32(b, off + 16),
    checksum2: u32(b, off + 20),
  };
}

/** Where a scan of WAL bytes stopped, as byte offsets in the WAL file. */
export interface WalScan {
  /** End of the last frame whose salt and checksum were valid. */
  readonly validEnd: number;
  /**
   * End of the committed part: the end of the last valid commit frame, or the position the scan started
   * from until it sees one. Everything before it is whole transactions; nothing after it may be shipped.
   */
  readonly lastCommitEnd: number;
  /** Running checksum after the last valid frame (to continue a scan later). */
  readonly checksum: [number, number];
  /** Checksum after the last valid commit frame (the start's seed until one is seen). */
  readonly commitChecksum: [number, number];
  /** Database size in pages after the last valid commit, or 0 if this scan has seen none. */
  readonly commitSize: number;
}

/**
 * Scans the frames of one WAL session, fed in pieces of any size: the checksum chain and the committed
 * position carry from one piece to the next, so a transaction that spans pieces is committed only when
 * its commit frame is seen, wherever the pieces were cut. The scan stops for good at the first frame
 * that carries other salts (a leftover of an earlier WAL session) or breaks the checksum chain: SQLite's
 * recovery stops there too.
 *
 * `start` must be the end of a commit frame, or the header's end: the caller vouches that nothing before
 * it is pending, and `seed` is the checksum chain's value there.
 */
export class WalScanner implements WalScan {
  validEnd: number;
  lastCommitEnd: number;
  checksum: [number, number];
  commitChecksum: [number, number];
  commitSize = 0;
  /** A frame failed its checks: nothing at or after `validEnd` belongs to this session. */
  stopped = false;
  private readonly frameBytes: number;

  constructor(
    readonly header: WalHeader,
    start = WAL_HEADER_SIZE,
    seed: [number, number] = [header.checksum1, header.checksum2],
  ) {
    if (start < WAL_HEADER_SIZE || (start - WAL_HEADER_SIZE) % frameSize(header.pageSize) !== 0) {
      throw new WalFormatError(`WAL scan cannot start at ${start}: not a frame boundary`, start);
    }
    this.frameBytes = frameSize(header.pageSize);
    this.validEnd = start;
    this.lastCommitEnd = start;
    this.checksum = seed;
    this.commitChecksum = seed;
  }

  /**
   * Scans `bytes`, the file's content from `validEnd` on, and returns how many of them were whole valid
   * frames. Fewer than the whole frames in `bytes` means the scan stopped; bytes of a trailing partial
   * frame are left for the next piece, which starts at `validEnd` again.
   */
  push(bytes: Uint8Array): number {
    if (this.stopped) return 0;
    const header = this.header;
    const fs = this.frameBytes;
    const c = new ChecksumReader(bytes, header.magic === WAL_MAGIC_LE);
    let [s0, s1] = this.checksum;
    let off = 0;
    for (; off + fs <= bytes.length; off += fs) {
      if (u32(bytes, off + 8) !== header.salt1 || u32(bytes, off + 12) !== header.salt2) break;
      c.sumInto(s0, s1, off, 8);
      c.sumInto(c.s0, c.s1, off + WAL_FRAME_HEADER_SIZE, header.pageSize);
      if (c.s0 !== u32(bytes, off + 16) || c.s1 !== u32(bytes, off + 20)) break;
      s0 = c.s0;
      s1 = c.s1;
      const commitSize = u32(bytes, off + 4);
      if (commitSize !== 0) {
        this.lastCommitEnd = this.validEnd + off + fs;
        this.commitChecksum = [s0, s1];
        this.commitSize = commitSize;
      }
    }
    this.checksum = [s0, s1];
    this.validEnd += off;
    if (off + fs <= bytes.length) this.stopped = true;
    return off;
  }
}

/** Scans a whole WAL file image (header included). */
export function scanWal(wal: Uint8Array): { header: WalHeader; scan: WalScan } {
  const header = decodeWalHeader(wal);
  const scan = new WalScanner(header);
  scan.push(wal.subarray(WAL_HEADER_SIZE));
  return { header, scan };
}

/**
 * Where the last whole transaction within `bytes` ends: they hold a WAL's content from file offset
 * `offset` (0, or a frame boundary) on, and the answer is the end of their last commit frame, or the
 * header's end when they start with the header and hold no commit frame; null when neither is in them.
 * Reads only the frames' commit fields: for bytes already verified, such as a shadow WAL's.
 */
export function lastTransactionEnd(bytes: Uint8Array, offset: number, pageSize: number): number | null {
  const fs = frameSize(pageSize);
  const first = offset === 0 ? WAL_HEADER_SIZE : 0;
  for (let k = Math.floor((bytes.length - first) / fs) - 1; k >= 0; k--) {
    if (u32(bytes, first + k * fs + 4) !== 0) return offset + first + (k + 1) * fs;
  }
  return first > 0 && bytes.length >= first ? WAL_HEADER_SIZE : null;
}

/** Whether two 32-byte WAL headers are identical, i.e. belong to the same WAL session. */
export function sameWalHeader(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length < WAL_HEADER_SIZE || b.length < WAL_HEADER_SIZE) return false;
  for (let i = 0; i < WAL_HEADER_SIZE; i++) if (a[i] !== b[i]) return false;
  return true;
}
