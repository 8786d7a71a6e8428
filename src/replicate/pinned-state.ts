/**
 * The database's content at one replication position, held by a read transaction of its own
 * (database.ts `pinPosition` begins it where the shadow WAL ends). The transaction sees the database file
 * overlaid with the WAL's frames up to the position; that is what `digest` reads, as SQLite would, from
 * the file and the `-wal` (bun:sqlite has no sqlite_dbpage to read raw pages through SQL).
 *
 * Why the file and the WAL hold still enough while it is open: a transaction with a WAL read mark keeps
 * checkpoints from copying any frame past its mark into the file and the WAL from restarting, so each
 * page of the file is the position's, or an older one that a frame up to the position replaces. One that
 * began when every frame was already in the file takes no mark (SQLite's reader slot 0); the WAL may then
 * restart under it, but no checkpoint may write to the file until it ends, so the file alone is the
 * position's content. Every frame carries its WAL session's salts, so a restart shows in any frame read
 * after it; reading then starts over from the file alone.
 */

import * as fs from "node:fs";
import type { Pos } from "../format/layout.ts";
import { readInto } from "../io/file-io.ts";
import type { SqliteDatabase as Database } from "../runtime/sqlite.ts";
import { framePgno, frameSize, WAL_FRAME_HEADER_SIZE, WAL_HEADER_SIZE } from "../sqlite/wal.ts";
import { endRead } from "./connection.ts";
import { DIGEST_RUN_PAGES, digestPages, type PageDigest } from "./page-digest.ts";

/** What the pinned reads need from the database. */
export interface PinnedSource {
  readonly walPath: string;
  readonly pageSize: number;
  /** Reads the database file through replication's long-lived descriptor (never an ad-hoc one). */
  readDatabase(position: number, length: number): Uint8Array;
}

/** Frames scanned per read while mapping the WAL. */
const SCAN_FRAMES = 1024;

/** A frame read after the WAL restarted (see the module comment). */
class WalRestarted extends Error {}

export class PinnedState {
  /** The database's size in pages at the position, as the transaction sees it. */
  readonly pageCount: number;
  private released = false;

  constructor(
    private readonly conn: Database,
    /** The position the transaction sees: the shadow WAL's end when it began. */
    readonly pos: Pos,
    /** The `-wal` header when the transaction began (fewer bytes when there was no WAL). */
    private readonly walHeader: Uint8Array,
    /** How long the application's writers waited while the transaction began. */
    readonly writersHeldMs: number,
    private readonly source: PinnedSource,
  ) {
    this.pageCount = Number(conn.query("PRAGMA page_count").values()[0]?.[0] ?? 0);
  }

  /** The digest of pages 1..pageCount at the position (page-digest.ts). */
  async digest(): Promise<PageDigest> {
    const fd = this.walHeader.length === WAL_HEADER_SIZE ? fs.openSync(this.source.walPath, "r") : null;
    try {
      const frames = fd === null ? null : this.mapFrames(fd);
      try {
        return await digestPages(this.source.pageSize, this.pageCount, this.runs(fd, frames));
      } catch (err) {
        if (!(err instanceof WalRestarted)) throw err;
        return await digestPages(this.source.pageSize, this.pageCount, this.runs(null, null));
      }
    } finally {
      if (fd !== null) fs.closeSync(fd);
    }
  }

  /** Ends the transaction and closes its connection. Safe to call twice. */
  release(): void {
    if (this.released) return;
    this.released = true;
    try {
      endRead(this.conn);
    } finally {
      this.conn.close();
    }
  }

  /** Where the newest frame up to the position of each page lies in the WAL; null when it restarted. */
  private mapFrames(fd: number): Map<number, number> | null {
    const size = frameSize(this.source.pageSize);
    const frames = new Map<number, number>();
    const buf = new Uint8Array(SCAN_FRAMES * size);
    for (let at = WAL_HEADER_SIZE; at < this.pos.offset; at += buf.length) {
      const got = readInto(fd, buf.subarray(0, Math.min(buf.length, this.pos.offset - at)), at);
      for (let off = 0; off + size <= got.length; off += size) {
        if (!this.ownSalts(got, off)) return null;
        frames.set(framePgno(got, off), at + off);
      }
    }
    return frames;
  }

  /** The pages in runs of DIGEST_RUN_PAGES: the file's, each replaced by its newest frame when it has one. */
  private async *runs(fd: number | null, frames: Map<number, number> | null): AsyncGenerator<Uint8Array> {
    const pageSize = this.source.pageSize;
    const frame = new Uint8Array(frameSize(pageSize));
    for (let first = 1; first <= this.pageCount; first += DIGEST_RUN_PAGES) {
      const pages = Math.min(DIGEST_RUN_PAGES, this.pageCount - first + 1);
      const run = new Uint8Array(pages * pageSize);
      // Pages past the file's end (only in the WAL yet) read as zeros until their frame fills them.
      run.set(this.source.readDatabase((first - 1) * pageSize, run.length));
      for (let p = first; fd !== null && frames !== null && p < first + pages; p++) {
        const at = frames.get(p);
        if (at === undefined) continue;
        const got = readInto(fd, frame, at);
        if (got.length < frame.length || !this.ownSalts(got, 0)) throw new WalRestarted();
        run.set(got.subarray(WAL_FRAME_HEADER_SIZE), (p - first) * pageSize);
      }
      yield run;
      // Let replication run between runs of a large database.
      await new Promise((r) => setImmediate(r));
    }
  }

  /** Whether the frame at `off` carries the salts of the WAL session the transaction began in. */
  private ownSalts(b: Uint8Array, off: number): boolean {
    for (let i = 0; i < 8; i++) if (b[off + 8 + i] !== this.walHeader[16 + i]) return false;
    return true;
  }
}
