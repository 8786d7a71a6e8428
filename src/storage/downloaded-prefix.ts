/**
 * How much of a file being downloaded in ranges is there from its start, for a reader that follows the
 * download instead of waiting for all of it: ranges finish out of order, and bytes [0, end) are
 * readable once every range below `end` is written.
 */
export class DownloadedPrefix {
  private end = 0;
  /** Finished ranges beyond the prefix, by start. */
  private readonly finished = new Map<number, number>();
  private readonly waiting: { end: number; resolve: () => void; reject: (err: unknown) => void }[] = [];
  private failure: { err: unknown } | null = null;

  /** Bytes [start, end) are written. */
  add(start: number, end: number): void {
    this.finished.set(start, end);
    for (let e = this.finished.get(this.end); e !== undefined; e = this.finished.get(this.end)) {
      this.finished.delete(this.end);
      this.end = e;
    }
    for (let i = this.waiting.length - 1; i >= 0; i--) {
      const w = this.waiting[i]!;
      if (w.end > this.end) continue;
      this.waiting.splice(i, 1);
      w.resolve();
    }
  }

  /** The download failed: every reader waiting, or still to wait, for bytes not there gets `err`. */
  fail(err: unknown): void {
    this.failure = { err };
    for (const w of this.waiting.splice(0)) w.reject(err);
  }

  /** Resolves once bytes [0, end) are written; rejects with the download's error if it fails first. */
  ready(end: number): Promise<void> {
    if (end <= this.end) return Promise.resolve();
    if (this.failure) return Promise.reject(this.failure.err);
    return new Promise((resolve, reject) => this.waiting.push({ end, resolve, reject }));
  }
}
