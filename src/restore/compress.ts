/**
 * Compressed restore output for CI artifacts: `app.db.gz` (gzip) or `app.db.zip` (one entry, `app.db`;
 * `app.zip` gets the entry `app.db` too).
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

/**
 * The database's name inside a compressed output: the output's file name without `.gz` or `.zip`. A zip
 * entry without an extension gets `.db`, so `qt.zip` unpacks to a file that looks like a database, not an
 * extensionless `qt`; gzip keeps gunzip's convention (the name minus `.gz`), which every tool agrees on.
 */
export function entryNameFor(output: string, kind: "gz" | "zip"): string {
  const stem = path.basename(output).slice(0, -`.${kind}`.length);
  return kind === "zip" && path.extname(stem) === "" ? `${stem}.db` : stem;
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
      const entry = new ZipDeflate(entryName, { level: LEVEL });
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
