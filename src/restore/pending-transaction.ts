/**
 * The pages of a transaction that has not committed yet, while a restore applies WAL frames: written
 * to the database only when its commit frame arrives. Litestream writes a burst as one segment holding
 * transactions of tens of MB, so past MEMORY_LIMIT the pages go to a spill file beside the output
 * instead of memory, and memory stays bounded whatever the transaction's size.
 */
import * as fs from "node:fs";
import { readInto, writeAt } from "../io/file-io.ts";

/** Pages held in memory before the rest go to the spill file. */
export const MEMORY_LIMIT = 8 * 1024 * 1024;
/** The spill file is read back in pieces of this size. */
const READ_BACK_BYTES = 4 * 1024 * 1024;

export class PendingTransaction {
  private readonly inMemory: { pgno: number; page: Uint8Array }[] = [];
  private memoryBytes = 0;
  /** Page numbers of the spilled pages, in order; page i is at i * pageSize in the spill file. */
  private readonly spilled: number[] = [];
  private spillFd: number | null = null;

  constructor(
    private readonly pageSize: number,
    private readonly spillPath: string,
    private readonly memoryLimit = MEMORY_LIMIT,
  ) {}

  /** Frames held (for messages). */
  get count(): number {
    return this.spilled.length + this.inMemory.length;
  }

  /** Adds one page (copied: `page` may be a view of a buffer that is reused). */
  add(pgno: number, page: Uint8Array): void {
    if (this.memoryBytes + page.length <= this.memoryLimit && this.spilled.length === 0) {
      this.inMemory.push({ pgno, page: page.slice() });
      this.memoryBytes += page.length;
      return;
    }
    // Once spilling, every later page spills too, so the file keeps the transaction's order.
    this.spillFd ??= fs.openSync(this.spillPath, "w+", 0o600);
    writeAt(this.spillFd, page, this.spilled.length * this.pageSize);
    this.spilled.push(pgno);
  }

  /** Writes every page at its place in `fd`, in the order they came (a later version wins), and forgets them. */
  writeTo(fd: number): void {
    for (const { pgno, page } of this.inMemory) writeAt(fd, page, (pgno - 1) * this.pageSize);
    if (this.spillFd !== null && this.spilled.length > 0) {
      const perRead = Math.max(1, Math.floor(READ_BACK_BYTES / this.pageSize));
      const buf = new Uint8Array(perRead * this.pageSize);
      for (let i = 0; i < this.spilled.length; i += perRead) {
        const n = Math.min(perRead, this.spilled.length - i);
        const got = readInto(this.spillFd, buf.subarray(0, n * this.pageSize), i * this.pageSize);
        for (let j = 0; j < n; j++) {
          const page = got.subarray(j * this.pageSize, (j + 1) * this.pageSize);
          writeAt(fd, page, (this.spilled[i + j]! - 1) * this.pageSize);
        }
      }
    }
    this.clear();
  }

  clear(): void {
    this.inMemory.length = 0;
    this.memoryBytes = 0;
    this.spilled.length = 0;
  }

  /** Removes the spill file, if there is one. */
  close(): void {
    if (this.spillFd !== null) {
      fs.closeSync(this.spillFd);
      this.spillFd = null;
    }
    fs.rmSync(this.spillPath, { force: true });
  }
}
