/**
 * The shadow WAL read for upload: one segment's bytes into a buffer shared by every read, and a
 * transaction larger than a segment found and compressed piece by piece, so memory stays at a piece.
 */
import { Lz4FrameEncoder } from "../format/lz4-frame.ts";
import { readFileInto } from "../io/file-io.ts";
import { frameSize, lastTransactionEnd } from "../sqlite/wal.ts";

/**
 * Largest uncompressed WAL segment we upload; a bigger backlog goes up as several segments, each ending on
 * a commit frame. Only a single transaction larger than this makes a larger segment.
 */
export const MAX_SEGMENT_BYTES = 16 * 1024 * 1024;
/** About one 4 MiB LZ4 block. */
const PIECE_TARGET_BYTES = 4 * 1024 * 1024;

/** Pieces a transaction larger than a segment is read in (whole frames, about one LZ4 block). */
function pieceBytes(pageSize: number): number {
  const fs = frameSize(pageSize);
  return Math.max(1, Math.floor(PIECE_TARGET_BYTES / fs)) * fs;
}

/**
 * Where the transaction that begins at `from` (a commit's end) ends, reading the shadow WAL in pieces: the
 * last commit frame in the first piece that holds one.
 */
export function transactionEndAfter(
  shadowPath: string,
  from: number,
  available: number,
  pageSize: number,
): number {
  for (let at = from; at < available; ) {
    const piece = readShadow(shadowPath, at, Math.min(pieceBytes(pageSize), available - at));
    const end = lastTransactionEnd(piece, at, pageSize);
    if (end !== null) return end;
    at += piece.length;
  }
  throw new Error(`shadow wal ${shadowPath} has no commit frame between ${from} and ${available}`);
}

/** Shadow WAL bytes [from, end) as an LZ4 frame, read and compressed piece by piece, after `prefix`. */
export async function* compressedShadow(
  shadowPath: string,
  from: number,
  end: number,
  pageSize: number,
  prefix: Uint8Array | null,
): AsyncGenerator<Uint8Array> {
  if (prefix) yield prefix;
  const encoder = new Lz4FrameEncoder();
  for (let at = from; at < end; ) {
    const piece = readShadow(shadowPath, at, Math.min(pieceBytes(pageSize), end - at));
    // The encoder keeps its own copy of a partial block, so the shared read buffer may be reused.
    yield* encoder.push(piece);
    at += piece.length;
  }
  yield* encoder.finish();
}

/**
 * One buffer for every segment read, grown on demand up to MAX_SEGMENT_BYTES: with a fresh one per
 * segment the heap grew to ~330 MB in a write flood (~140-190 MB now). Safe to share: a segment is read
 * and compressed without an await in between, and the compressed frame never aliases its input.
 */
let segmentBuffer = new Uint8Array(0);

export function readShadow(p: string, position: number, length: number): Uint8Array {
  if (segmentBuffer.length < length)
    segmentBuffer = new Uint8Array(Math.min(MAX_SEGMENT_BYTES, Math.max(length, segmentBuffer.length * 2)));
  const data = readFileInto(p, segmentBuffer.subarray(0, length), position);
  if (data.length !== length) throw new Error(`shadow wal ${p} is shorter than expected`);
  return data;
}
