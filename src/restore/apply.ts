/**
 * Applies WAL indexes to a database file the way a checkpoint does, with no SQLite: each committed
 * transaction's pages are written at (pgno - 1) * pageSize, then the file is cut to the last commit's
 * size. Bytes arrive segment by segment.
 *
 * A transaction's pages are written as they arrive when the caller knows the index will be read to its
 * end: then the transaction either commits or the restore fails (and its file is deleted), so writing
 * early changes nothing but the cost. Only where a restore may stop inside the index on purpose (a point
 * in time) are an open transaction's frames held back until their commit, in memory up to a limit and
 * then in a spill file (pending-transaction.ts); the spill doubled the writes of Litestream's bursts,
 * whose transactions span segments of tens of MB.
 */
import { Buffer } from "node:buffer";
import * as fs from "node:fs";
import { WalshipError } from "../errors/walship-error.ts";
import { concatBytes } from "../format/bytes.ts";
import {
  decodeWalHeader,
  frameCommitSize,
  framePgno,
  frameSize,
  WAL_FRAME_HEADER_SIZE,
  WAL_HEADER_SIZE,
  WalScanner,
} from "../sqlite/wal.ts";
import { PageRunWriter } from "./page-run-writer.ts";
import { PendingTransaction } from "./pending-transaction.ts";

/** Restored data does not match its own checksums or layout; carries the object that showed it. */
export class RestoreIntegrityError extends WalshipError<"restore-integrity"> {
  override name = "RestoreIntegrityError";
  constructor(
    message: string,
    readonly key?: string,
    hint?: string,
  ) {
    super(message, { code: "restore-integrity", operation: "restore", subject: key, hint });
  }
}

export class WalApplier {
  /** Checks the current index's frames; null until its header has arrived. */
  private scanner: WalScanner | null = null;
  private headerBytes: Uint8Array = new Uint8Array(0);
  /** Bytes of an incomplete frame carried over to the next push. */
  private carry: Uint8Array = new Uint8Array(0);
  private readonly pending: PendingTransaction;
  /** Writes runs of consecutive pages with one system call; flushed before a buffer can be reused. */
  private readonly pages: PageRunWriter;
  private lastCommitSize = 0;
  /** Whether the current index's pages are written before their commit (see the file's comment). */
  private writeBeforeCommit = false;
  /** Frames of the current index after its last commit that were written already. */
  private uncommittedWritten = 0;
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
    this.pages = new PageRunWriter(fd, pageSize);
  }

  /** Removes the spill file. */
  close(): void {
    this.pending.close();
  }

  /**
   * Starts a new WAL index (a new WAL session); its first bytes must be the WAL header. With
   * `toTheEnd`, the caller promises to read the index to its end or fail the restore, so pages are
   * written before their transaction's commit arrives.
   */
  begin(toTheEnd: boolean): void {
    this.writeBeforeCommit = toTheEnd;
    this.uncommittedWritten = 0;
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
    const fs_ = frameSize(this.pageSize);
    if (this.carry.length > 0) {
      // Complete the frame split across buffers; the rest is used in place (a copy of every 4 MiB block
      // that does not end on a frame boundary cost a tenth of a large restore).
      const need = fs_ - this.carry.length;
      const first = concatBytes([this.carry, data.subarray(0, need)]);
      data = data.subarray(need);
      if (first.length < fs_) {
        this.carry = first;
        return;
      }
      this.applyFrames(first, key);
    }
    const whole = data.length - (data.length % fs_);
    this.applyFrames(data.subarray(0, whole), key);
    this.carry = data.slice(whole);
  }

  /** Checks and applies whole frames (`frames.length` is a multiple of the frame size). */
  private applyFrames(bytes: Uint8Array, key: string): void {
    const scanner = this.scanner!;
    const frames = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const fs_ = frameSize(this.pageSize);
    const whole = frames.length;
    if (scanner.push(frames) !== whole) {
      throw new RestoreIntegrityError(
        `WAL frame at offset ${scanner.validEnd} fails its salt or checksum check in ${key}`,
        key,
      );
    }
    if (this.writeBeforeCommit) {
      for (let off = 0; off < whole; off += fs_) {
        this.writePage(frames, off);
        const commitSize = frameCommitSize(frames, off);
        if (commitSize === 0) {
          this.uncommittedWritten++;
          continue;
        }
        this.uncommittedWritten = 0;
        this.lastCommitSize = commitSize;
        this.commits++;
      }
      this.pages.flush();
      return;
    }
    // Frames of a transaction that commits within this buffer are written straight from it; only a
    // transaction still open at the end of the buffer is copied, to outlive the buffer.
    let txStart = 0;
    for (let off = 0; off < whole; off += fs_) {
      const commitSize = frameCommitSize(frames, off);
      if (commitSize === 0) continue;
      this.pages.flush();
      this.pending.writeTo(this.fd);
      for (let f = txStart; f <= off; f += fs_) this.writePage(frames, f);
      txStart = off + fs_;
      this.lastCommitSize = commitSize;
      this.commits++;
    }
    this.pages.flush();
    for (let f = txStart; f < whole; f += fs_) {
      this.pending.add(framePgno(frames, f), frames.subarray(f + WAL_FRAME_HEADER_SIZE, f + fs_));
    }
  }

  private writePage(frames: Buffer, frameOffset: number): void {
    this.pages.write(framePgno(frames, frameOffset), frames, frameOffset + WAL_FRAME_HEADER_SIZE);
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
    const open = this.pending.count + this.uncommittedWritten;
    if (this.uncommittedWritten > 0 && openTransactionAllowed) {
      // A caller bug, not a replica problem: begin(true) promised the index would be read to its end.
      throw new Error(`restore stopped inside WAL index of ${key} after writing an open transaction`);
    }
    if (open > 0 && !openTransactionAllowed) {
      throw new RestoreIntegrityError(
        `Cannot restore: ${key} ends inside a transaction (${open} frame(s) after the last commit of its WAL index), so the replica is missing data after that commit`,
        key,
        "the replica holds frames that never committed, or an upload was cut short; restore an earlier point in time (-timestamp or -index) or another generation (-generation)",
      );
    }
    if (this.lastCommitSize > 0) fs.ftruncateSync(this.fd, this.lastCommitSize * this.pageSize);
    this.pending.clear();
    return this.scanner?.validEnd ?? 0;
  }
}
