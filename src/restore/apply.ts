/**
 * Applies WAL indexes to a database file the way a checkpoint does, with no SQLite: each committed
 * transaction's pages are written at (pgno - 1) * pageSize, then the file is cut to the last commit's
 * size. Bytes arrive segment by segment; only the current transaction's frames are held back, in memory
 * up to a limit and then in a spill file (pending-transaction.ts).
 */
import * as fs from "node:fs";
import { concatBytes } from "../format/bytes.ts";
import { writeAt } from "../io/file-io.ts";
import {
  decodeFrameHeader,
  decodeWalHeader,
  frameSize,
  WAL_FRAME_HEADER_SIZE,
  WAL_HEADER_SIZE,
  WalScanner,
} from "../sqlite/wal.ts";
import { PendingTransaction } from "./pending-transaction.ts";

/** Restored data does not match its own checksums or layout; carries the object that showed it. */
export class RestoreIntegrityError extends Error {
  override name = "RestoreIntegrityError";
  constructor(
    message: string,
    readonly key?: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

export class WalApplier {
  /** Checks the current index's frames; null until its header has arrived. */
  private scanner: WalScanner | null = null;
  private headerBytes: Uint8Array = new Uint8Array(0);
  /** Bytes of an incomplete frame carried over to the next push. */
  private carry: Uint8Array = new Uint8Array(0);
  private readonly pending: PendingTransaction;
  private lastCommitSize = 0;
  /** Total transactions applied, across indexes. */
  commits = 0;

  /** `spillPath`: where the pages of a transaction too large for memory wait for its commit. */
  constructor(
    private readonly fd: number,
    private readonly pageSize: number,
    spillPath: string,
    memoryLimit?: number,
  ) {
    this.pending = new PendingTransaction(pageSize, spillPath, memoryLimit);
  }

  /** Removes the spill file. */
  close(): void {
    this.pending.close();
  }

  /** Starts a new WAL index (a new WAL session); its first bytes must be the WAL header. */
  begin(): void {
    this.scanner = null;
    this.headerBytes = new Uint8Array(0);
    this.carry = new Uint8Array(0);
    this.pending.clear();
    this.lastCommitSize = 0;
  }

  /** Feeds the next bytes of the current index. `key` names the object they came from, for errors. */
  push(bytes: Uint8Array, key: string): void {
    let data = bytes;
    if (!this.scanner) {
      const need = WAL_HEADER_SIZE - this.headerBytes.length;
      this.headerBytes = concatBytes([this.headerBytes, data.subarray(0, need)]);
      data = data.subarray(need);
      if (this.headerBytes.length < WAL_HEADER_SIZE) return;
      let header: ReturnType<typeof decodeWalHeader>;
      try {
        header = decodeWalHeader(this.headerBytes);
      } catch (err) {
        throw new RestoreIntegrityError(`${(err as Error).message} in ${key}`, key);
      }
      if (header.pageSize !== this.pageSize) {
        throw new RestoreIntegrityError(
          `WAL page size ${header.pageSize} does not match the snapshot's ${this.pageSize} in ${key}`,
          key,
        );
      }
      this.scanner = new WalScanner(header);
    }
    const scanner = this.scanner;
    const fs_ = frameSize(this.pageSize);
    const buf = this.carry.length > 0 ? concatBytes([this.carry, data]) : data;
    const whole = buf.length - (buf.length % fs_);
    const frames = buf.subarray(0, whole);
    if (scanner.push(frames) !== whole) {
      throw new RestoreIntegrityError(
        `WAL frame at offset ${scanner.validEnd} fails its salt or checksum check in ${key}`,
        key,
      );
    }
    // Frames of a transaction that commits within this buffer are written straight from it; only a
    // transaction still open at the end of the buffer is copied, to outlive the buffer.
    let txStart = 0;
    for (let off = 0; off < whole; off += fs_) {
      const commitSize = decodeFrameHeader(frames, off).commitSize;
      if (commitSize === 0) continue;
      this.flush();
      for (let f = txStart; f <= off; f += fs_) this.writePage(frames, f);
      txStart = off + fs_;
      this.lastCommitSize = commitSize;
      this.commits++;
    }
    for (let f = txStart; f < whole; f += fs_) {
      this.pending.add(
        decodeFrameHeader(frames, f).pgno,
        frames.subarray(f + WAL_FRAME_HEADER_SIZE, f + fs_),
      );
    }
    this.carry = buf.slice(whole);
  }

  /** Writes the transaction frames carried over from earlier buffers. */
  private flush(): void {
    this.pending.writeTo(this.fd);
  }

  private writePage(frames: Uint8Array, frameOffset: number): void {
    const pgno = decodeFrameHeader(frames, frameOffset).pgno;
    const page = frames.subarray(frameOffset + WAL_FRAME_HEADER_SIZE, frameOffset + frameSize(this.pageSize));
    writeAt(this.fd, page, (pgno - 1) * this.pageSize);
  }

  /**
   * Ends the current index, and cuts the file to the database size of its last commit. `key` names the
   * last object read. Returns the bytes consumed.
   *
   * Replicators upload only whole transactions, so the last object of an index ends with a commit frame;
   * frames after it mean the replica holds something that never committed (or lost the rest of an upload),
   * and a restore that went on would call a state restorable that may be missing commits. So they are an
   * error, unless `openTransactionAllowed`: the restore stops inside this index on purpose (a point in
   * time), and the transaction completes in an object it does not read.
   */
  end(key: string, openTransactionAllowed = false): number {
    if (this.carry.length > 0 || (!this.scanner && this.headerBytes.length > 0)) {
      throw new RestoreIntegrityError(`WAL data ends with a partial frame in ${key}`, key);
    }
    if (this.pending.count > 0 && !openTransactionAllowed) {
      throw new RestoreIntegrityError(
        `Cannot restore: ${key} ends inside a transaction (${this.pending.count} frame(s) after the last commit of its WAL index), so the replica is missing data after that commit`,
        key,
        "the replica holds frames that never committed, or an upload was cut short; restore an earlier point in time (-timestamp or -index) or another generation (-generation)",
      );
    }
    if (this.lastCommitSize > 0) fs.ftruncateSync(this.fd, this.lastCommitSize * this.pageSize);
    this.pending.clear();
    return this.scanner?.validEnd ?? 0;
  }
}
