/** Positional file reads and writes: the few file operations the capture and restore sides share. */
import * as fs from "node:fs";
import type { FrameSource } from "../format/lz4-frame-format.ts";

/** Reads up to `length` bytes at `position`; shorter only at the end of the file. */
export function readAt(fd: number, position: number, length: number): Uint8Array {
  return readInto(fd, new Uint8Array(length), position);
}

/** Fills `buf` from `position` and returns the part read: shorter only at the end of the file. */
export function readInto(fd: number, buf: Uint8Array, position: number): Uint8Array {
  let done = 0;
  while (done < buf.length) {
    const n = fs.readSync(fd, buf, done, buf.length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done === buf.length ? buf : buf.subarray(0, done);
}

/** Writes all of `data` at `position`. */
export function writeAt(fd: number, data: Uint8Array, position: number): void {
  let done = 0;
  while (done < data.length) done += fs.writeSync(fd, data, done, data.length - done, position + done);
}

/**
 * Opens `path`, reads up to `length` bytes at `position`, closes it. Never use this on the database
 * file itself: closing any descriptor of it drops the process's SQLite locks. Returns an empty array
 * when the file does not exist.
 */
export function readFileAt(path: string, position: number, length: number): Uint8Array {
  return readFileInto(path, new Uint8Array(length), position);
}

/** readFileAt into the caller's buffer: returns the part of `buf` that was filled. */
export function readFileInto(path: string, buf: Uint8Array, position: number): Uint8Array {
  let fd: number;
  try {
    fd = fs.openSync(path, "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return buf.subarray(0, 0);
    throw err;
  }
  try {
    return readInto(fd, buf, position);
  } finally {
    fs.closeSync(fd);
  }
}

/** Size of a file, or null when it does not exist. */
export function fileSize(path: string): number | null {
  try {
    return fs.statSync(path).size;
  } catch {
    return null;
  }
}

/**
 * Random access to an open file as `{ length, bytes(start, end) }`, for decoders that read in pieces;
 * `ready` tells when a part of a file still being downloaded is there.
 */
export function fileSource(fd: number, length: number, ready?: (end: number) => Promise<void>): FrameSource {
  // One buffer, grown to the largest read and reused, as FrameSource allows: reading a snapshot block by
  // block then leaves no garbage behind (a fresh buffer per block kept hundreds of MB alive until the
  // garbage collector ran).
  let buffer = new Uint8Array(0);
  return {
    length,
    ...(ready ? { ready } : {}),
    bytes: (start, end) => {
      const n = Math.max(0, Math.min(end, length) - start);
      if (buffer.length < n) buffer = new Uint8Array(Math.max(n, buffer.length * 2));
      return readInto(fd, buffer.subarray(0, n), start);
    },
    copyTo: (start, target) => {
      if (readInto(fd, target, start).length < target.length)
        throw new RangeError("read past the end of the file");
    },
  };
}

/** Makes a rename or link in `dir` durable. */
export function syncDir(dir: string): void {
  const fd = fs.openSync(dir, "r");
  try {
    fs.fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on directories; the entry is still in place.
  } finally {
    fs.closeSync(fd);
  }
}
