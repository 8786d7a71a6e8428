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
  scanFrames,
  WAL_FRAME_HEADER_SIZE,
  WAL_HEADER_SIZE,
  type WalHeader,
} from "../sqlite/wal.ts";

/** Frames read from the real WAL per step, so a large backlog is copied with bounded memory. */
const COPY_CHUNK_BYTES = 4 * 1024 * 1024;
/**
 * One buffer for every copy (captures are synchronous): a fresh one per read costs more than the copy
 * itself under a write flood (zeroing and faulting in megabytes each time).
 */
let copyBuffer: Uint8Array | undefined;

/** The first 32 bytes of a file (fewer when it is shorter or missing): a WAL header. */
export function readHeaderBytes(path: string): Uint8Array {
  return readFileAt(path, 0, WAL_HEADER_SIZE);
}

/**
 * Appends to `shadowPath` every committed frame of the real WAL that follows the shadow's end, and
 * returns the shadow's new size. Stops at the first frame with foreign salts or a broken checksum;
 * frames after the last commit frame stay behind until their commit frame appears. `fsync` makes the
 * copy durable before returning (see run-marker.ts for when that is needed).
 */
export function copyCommittedFrames(walPath: string, shadowPath: string, fsync: boolean): number {
  const shadowFd = fs.openSync(shadowPath, "r+");
  try {
    const headerBytes = readAt(shadowFd, 0, WAL_HEADER_SIZE);
    const header = decodeWalHeader(headerBytes);
    const start = frameAlign(fs.fstatSync(shadowFd).size, header.pageSize);
    // The chain continues from the checksum in the last frame's header (or the WAL header's).
    let seed: [number, number] = [header.checksum1, header.checksum2];
    if (start > WAL_HEADER_SIZE) {
      const last = decodeFrameHeader(
        readAt(shadowFd, start - frameSize(header.pageSize), WAL_FRAME_HEADER_SIZE),
        0,
      );
      seed = [last.checksum1, last.checksum2];
    }
    const end = copyFrom(walPath, shadowFd, header, start, seed);
    if (fsync && end > start) fs.fsyncSync(shadowFd);
    // Drop any torn tail a crash may have left after the last whole frame.
    if (fs.fstatSync(shadowFd).size !== end) fs.ftruncateSync(shadowFd, end);
    return end;
  } finally {
    fs.closeSync(shadowFd);
  }
}

function copyFrom(
  walPath: string,
  shadowFd: number,
  header: WalHeader,
  start: number,
  seed: [number, number],
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
    const chunk = Math.max(1, Math.floor(COPY_CHUNK_BYTES / fs_)) * fs_;
    let committed = start;
    let scanPos = start;
    let scanSeed = seed;
    while (scanPos < walEnd) {
      copyBuffer ??= new Uint8Array(COPY_CHUNK_BYTES);
      const buf = readInto(walFd, copyBuffer.subarray(0, Math.min(chunk, walEnd - scanPos)), scanPos);
      const scan = scanFrames(header, buf, scanPos, scanSeed);
      if (scan.lastCommitEnd > committed) {
        // A transaction that began in an earlier chunk is re-read from the file rather than kept in memory.
        const data =
          committed >= scanPos
            ? buf.subarray(committed - scanPos, scan.lastCommitEnd - scanPos)
            : readAt(walFd, committed, scan.lastCommitEnd - committed);
        writeAt(shadowFd, data, committed);
        committed = scan.lastCommitEnd;
      }
      if (scan.validEnd < scanPos + buf.length || buf.length === 0) break;
      scanPos = scan.validEnd;
      scanSeed = scan.checksum;
    }
    return committed;
  } finally {
    fs.closeSync(walFd);
  }
}

/**
 * Starts shadow file `shadowPath` for the WAL session now in `walPath`: writes its header (checksum
 * verified) and copies its committed frames. Returns the new shadow size.
 */
export function initShadowWal(walPath: string, shadowPath: string, fsync: boolean): number {
  const header = readHeaderBytes(walPath);
  decodeWalHeader(header);
  fs.mkdirSync(path.dirname(shadowPath), { recursive: true });
  fs.writeFileSync(shadowPath, header, { mode: 0o600 });
  return copyCommittedFrames(walPath, shadowPath, fsync);
}
