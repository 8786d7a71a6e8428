/**
 * The shadow WAL: per WAL session, a copy of the application's `-wal` that only ever receives whole
 * committed transactions (salts and checksum chain verified). Replicas upload from it, so what they ship
 * never depends on frames SQLite may still overwrite.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { readAt, readFileAt, readInto, writeAt } from "../io/file-io.ts";
import {
  decodeFrameHeader,
  decodeWalHeader,
  frameAlign,
  frameSize,
  WAL_FRAME_HEADER_SIZE,
  WAL_HEADER_SIZE,
  type WalHeader,
  WalScanner,
} from "../sqlite/wal.ts";

/** Frames read from the real WAL per step, so a large backlog or transaction is copied in bounded memory. */
const COPY_CHUNK_BYTES = 4 * 1024 * 1024;
/**
 * Two buffers for every copy (captures are synchronous): the chunk being scanned, and the pieces of a
 * transaction that began in an earlier chunk, re-read from the WAL. A fresh buffer per read costs more
 * than the copy itself under a write flood (zeroing and faulting in megabytes each time).
 */
const buffers: [Uint8Array | undefined, Uint8Array | undefined] = [undefined, undefined];

function buffer(which: 0 | 1, length: number): Uint8Array {
  let b = buffers[which];
  if (!b || b.length < length) b = buffers[which] = new Uint8Array(Math.max(length, COPY_CHUNK_BYTES));
  return b.subarray(0, length);
}

export interface CopyOptions {
  /** Make the copy durable before returning (see run-marker.ts for when that is needed). */
  fsync: boolean;
  /** Bytes read from the WAL per step; tests set small values to cut transactions at every place. */
  chunkBytes?: number;
}

/** The first 32 bytes of a file (fewer when it is shorter or missing): a WAL header. */
export function readHeaderBytes(path: string): Uint8Array {
  return readFileAt(path, 0, WAL_HEADER_SIZE);
}

/**
 * Appends to `shadowPath` every committed frame of the real WAL that follows the shadow's end, and
 * returns the shadow's new size. Stops at the first frame with foreign salts or a broken checksum;
 * frames after the last commit frame stay behind until their commit frame appears, however many read
 * chunks the transaction spans. The shadow's end is always the end of a commit frame (or of the header):
 * a tail a crash left after the last commit frame is dropped first.
 */
export function copyCommittedFrames(walPath: string, shadowPath: string, opts: CopyOptions): number {
  const { fsync, chunkBytes = COPY_CHUNK_BYTES } = opts;
  const shadowFd = fs.openSync(shadowPath, "r+");
  try {
    const header = decodeWalHeader(readAt(shadowFd, 0, WAL_HEADER_SIZE));
    const { end: start, checksum: seed } = committedEnd(shadowFd, header);
    const end = copyFrom(walPath, shadowFd, header, start, seed, chunkBytes);
    if (fsync && end > start) fs.fsyncSync(shadowFd);
    if (fs.fstatSync(shadowFd).size !== end) fs.ftruncateSync(shadowFd, end);
    return end;
  } finally {
    fs.closeSync(shadowFd);
  }
}

/**
 * Where the shadow's committed part ends, and the checksum there: the end of its last commit frame.
 * Normally that is its last frame; a process killed in the middle of writing a transaction leaves frames
 * after it (a short write), which are walked back over, one frame header each.
 */
function committedEnd(shadowFd: number, header: WalHeader): { end: number; checksum: [number, number] } {
  const fs_ = frameSize(header.pageSize);
  for (
    let end = frameAlign(fs.fstatSync(shadowFd).size, header.pageSize);
    end > WAL_HEADER_SIZE;
    end -= fs_
  ) {
    const frame = decodeFrameHeader(readAt(shadowFd, end - fs_, WAL_FRAME_HEADER_SIZE), 0);
    if (frame.commitSize !== 0) return { end, checksum: [frame.checksum1, frame.checksum2] };
  }
  return { end: WAL_HEADER_SIZE, checksum: [header.checksum1, header.checksum2] };
}

/**
 * Copies the WAL's committed frames from `start` on, chunk by chunk. One scanner reads the whole range,
 * so its committed position only moves at a commit frame. A transaction that began in an earlier chunk
 * is re-read from the file in pieces (see copyPending) rather than held in memory.
 */
function copyFrom(
  walPath: string,
  shadowFd: number,
  header: WalHeader,
  start: number,
  seed: [number, number],
  chunkBytes: number,
): number {
  let walFd: number;
  try {
    walFd = fs.openSync(walPath, "r");
  } catch {
    return start;
  }
  try {
    const fs_ = frameSize(header.pageSize);
    const walEnd = frameAlign(fs.fstatSync(walFd).size, header.pageSize);
    const chunk = Math.max(1, Math.floor(chunkBytes / fs_)) * fs_;
    const scanner = new WalScanner(header, start, seed);
    let copied = { end: start, checksum: seed };
    while (scanner.validEnd < walEnd) {
      const base = { end: scanner.validEnd, checksum: scanner.checksum };
      const buf = readInto(walFd, buffer(0, Math.min(chunk, walEnd - base.end)), base.end);
      const scanned = scanner.push(buf);
      if (scanner.lastCommitEnd > copied.end) {
        if (copied.end < base.end && !copyPending(walFd, shadowFd, header, copied, base, chunk)) {
          return copied.end; // the WAL changed under us; the next capture starts over from here
        }
        const from = Math.max(copied.end, base.end);
        writeAt(shadowFd, buf.subarray(from - base.end, scanner.lastCommitEnd - base.end), from);
        copied = { end: scanner.lastCommitEnd, checksum: scanner.commitChecksum };
      }
      if (buf.length === 0 || scanned < buf.length) break;
    }
    return copied.end;
  } finally {
    fs.closeSync(walFd);
  }
}

/**
 * Copies the frames between `from` (a commit's end) and `to` (the start of the chunk in which their
 * transaction's commit frame was just found), re-read in pieces. They were scanned before, when it was not
 * yet known whether they would commit; what is written now must be those same frames, so every piece is
 * scanned again (salts, checksum chain, no commit frame among them) and the chain must arrive at `to` with
 * the checksum the first scan had there. Returns false if it does not: SQLite rewrote them meanwhile (a
 * rollback and a new transaction), and the caller copies nothing past `from` this time.
 */
function copyPending(
  walFd: number,
  shadowFd: number,
  header: WalHeader,
  from: { end: number; checksum: [number, number] },
  to: { end: number; checksum: [number, number] },
  chunk: number,
): boolean {
  const scanner = new WalScanner(header, from.end, from.checksum);
  while (scanner.validEnd < to.end) {
    const at = scanner.validEnd;
    const piece = readInto(walFd, buffer(1, Math.min(chunk, to.end - at)), at);
    if (piece.length === 0 || scanner.push(piece) !== piece.length || scanner.commitSize !== 0) return false;
    writeAt(shadowFd, piece, at);
  }
  return scanner.checksum[0] === to.checksum[0] && scanner.checksum[1] === to.checksum[1];
}

/**
 * Starts shadow file `shadowPath` for the WAL session now in `walPath`: writes its header (checksum
 * verified) and copies its committed frames. Returns the new shadow size.
 */
export function initShadowWal(walPath: string, shadowPath: string, opts: CopyOptions): number {
  const header = readHeaderBytes(walPath);
  decodeWalHeader(header);
  fs.mkdirSync(path.dirname(shadowPath), { recursive: true });
  fs.writeFileSync(shadowPath, header, { mode: 0o600 });
  return copyCommittedFrames(walPath, shadowPath, opts);
}
