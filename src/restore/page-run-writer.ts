/**
 * Writes database pages at their places, joining runs of consecutive page numbers into one write. Bulk
 * inserts append pages in order (a Litestream burst of 120,000 frames held 1,000 runs), and a system call
 * per 4 KiB page cost a fifth of a large restore; pages in random order cost what they did before.
 *
 * A run is copied into one buffer rather than written from many views: a view per page is garbage that
 * the collector lets pile up (40 MB of resident memory in a 1.5 GiB restore). The first page of a run is
 * only remembered, so a page without neighbours is written from where it is, uncopied. The caller
 * flushes before it reuses a buffer a queued page is in.
 */
import { Buffer } from "node:buffer";
import * as fs from "node:fs";
import { writeAt } from "../io/file-io.ts";

/** Bytes one write may take. */
const MAX_RUN_BYTES = 1024 * 1024;

export class PageRunWriter {
  /** Allocated on the first run of two pages. */
  private staging: Buffer | null = null;
  /** The run's first page while it is alone: its buffer and offset. */
  private first: Buffer | null = null;
  private firstAt = 0;
  private firstPgno = 0;
  private count = 0;
  private readonly maxPages: number;

  constructor(
    private readonly fd: number,
    private readonly pageSize: number,
  ) {
    this.maxPages = Math.max(1, Math.floor(MAX_RUN_BYTES / pageSize));
  }

  /**
   * Queues the page at `source[at, at + pageSize)` for page number `pgno`. `source` is a Buffer so that
   * copying a page needs no view of it; an earlier queued version of the same page is written first.
   */
  write(pgno: number, source: Buffer, at: number): void {
    if (this.count > 0 && (pgno !== this.firstPgno + this.count || this.count === this.maxPages)) {
      this.flush();
    }
    if (this.count === 0) {
      this.first = source;
      this.firstAt = at;
      this.firstPgno = pgno;
      this.count = 1;
      return;
    }
    const ps = this.pageSize;
    this.staging ??= Buffer.allocUnsafe(this.maxPages * ps);
    if (this.count === 1) this.first!.copy(this.staging, 0, this.firstAt, this.firstAt + ps);
    source.copy(this.staging, this.count * ps, at, at + ps);
    this.count++;
  }

  /** Writes what is queued. */
  flush(): void {
    const position = (this.firstPgno - 1) * this.pageSize;
    if (this.count === 1) {
      let done = 0;
      while (done < this.pageSize) {
        done += fs.writeSync(
          this.fd,
          this.first!,
          this.firstAt + done,
          this.pageSize - done,
          position + done,
        );
      }
    } else if (this.count > 1) {
      writeAt(this.fd, this.staging!.subarray(0, this.count * this.pageSize), position);
    }
    this.count = 0;
    this.first = null;
  }
}
