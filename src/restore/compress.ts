/**
 * Compressed restore output for CI artifacts: `app.db.gz` (gzip) or `app.db.zip` (one entry, `app.db`).
 * Streams the restored file through fflate in chunks, so memory stays bounded by the chunk size.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Gzip, Zip, ZipDeflate } from "fflate";
import { readAt, writeAt } from "../io/file-io.ts";

export type OutputCompression = "gz" | "zip" | null;

const CHUNK_BYTES = 4 * 1024 * 1024;
/** Level 1: a CI artifact wants speed more than the last few percent of size. */
const LEVEL = 1;

export function compressionFor(output: string): OutputCompression {
  if (output.endsWith(".gz")) return "gz";
  if (output.endsWith(".zip")) return "zip";
  return null;
}

/** Writes `source` compressed into `dest` (created; must not exist), and fsyncs it. */
export function compressFile(source: string, dest: string, kind: "gz" | "zip", entryName: string): void {
  const inFd = fs.openSync(source, "r");
  const outFd = fs.openSync(dest, "wx", 0o600);
  try {
    let written = 0;
    let failure: Error | null = null;
    const sink = (err: Error | null, data: Uint8Array) => {
      if (err) failure = err;
      else {
        writeAt(outFd, data, written);
        written += data.length;
      }
    };
    const size = fs.fstatSync(inFd).size;
    const mtime = fs.fstatSync(inFd).mtime;
    let push: (chunk: Uint8Array, final: boolean) => void;
    let finish = () => {};
    if (kind === "gz") {
      const gz = new Gzip({ level: LEVEL, filename: entryName, mtime }, (data) => sink(null, data));
      push = (chunk, final) => gz.push(chunk, final);
    } else {
      const zip = new Zip(sink);
      const entry = new ZipDeflate(path.basename(entryName), { level: LEVEL });
      entry.mtime = mtime;
      zip.add(entry);
      push = (chunk, final) => entry.push(chunk, final);
      finish = () => zip.end();
    }
    if (size === 0) push(new Uint8Array(0), true);
    for (let off = 0; off < size; off += CHUNK_BYTES) {
      const n = Math.min(CHUNK_BYTES, size - off);
      push(readAt(inFd, off, n), off + n >= size);
    }
    finish();
    if (failure) throw failure;
    fs.fsyncSync(outFd);
  } finally {
    fs.closeSync(inFd);
    fs.closeSync(outFd);
  }
}
