/**
 * Decides when a database's new commits are captured: on the WAL's change events while the application
 * writes little, and by polling while it writes heavily.
 *
 * Watching is not free for the application: with a watch on the WAL's directory, the kernel queues a
 * change event for each of SQLite's writes (two per frame). Under a write flood (synchronous=NORMAL, ~100k
 * commits a second on these machines) a watcher that did nothing with its events cost the writer 20% of
 * its throughput (81k against 101k commits a second). A flood needs no events, there is something new at
 * every poll, so the watch is closed while captures are heavy and opened again after the first light one.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { errorMessage } from "../observe/error-text.ts";
import type { Logger } from "../observe/log.ts";

/** Captures closer together than this are merged into one (a write storm fires thousands of events). */
export const MIN_CAPTURE_GAP_MS = 5;
/**
 * A capture that copied at least this much means a heavy writer: poll every MIN_CAPTURE_GAP_MS, so our
 * checkpoints keep the WAL small. Below it, changes are captured once per `lightGapMs` at most (each
 * replica also captures right before it uploads, so lag is the same): a capture per commit cost ten
 * times Litestream's CPU at twenty commits a second.
 */
const HEAVY_CAPTURE_BYTES = 256 * 1024;
/**
 * Change events at this rate (per second, at least FLOOD_MIN_EVENTS of them) while a light-gap capture
 * waits mean a flood began: capture at once. Bun delivers at most about 500 a second for one file.
 */
const FLOOD_EVENTS_PER_SECOND = 200;
const FLOOD_MIN_EVENTS = 10;

export class WalWatch {
  private watcher: fs.FSWatcher | null = null;
  private pending: ReturnType<typeof setTimeout> | null = null;
  private gap = MIN_CAPTURE_GAP_MS;
  private lastCapture = 0;
  /** Change events since the pending capture was scheduled, and when that was. */
  private events = 0;
  private waitingSince = 0;
  private closed = false;
  /** Whether the filesystem gives change events at all (if not, the monitor tick is all there is). */
  private watchable = true;

  /**
   * `capture` copies what is new and returns how many bytes that was. `lightGapMs` is the longest a light
   * writer's change waits (the shortest sync interval). A rename or deletion of the database file itself
   * is captured at once: the capture notices that the path names another file, and the sooner it lets go
   * of the old one, the smaller the window in which the application could open the new file beside the
   * old WAL.
   */
  constructor(
    private readonly dbPath: string,
    private readonly lightGapMs: number,
    private readonly capture: () => number,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.open();
  }

  close(): void {
    this.closed = true;
    if (this.pending) clearTimeout(this.pending);
    this.pending = null;
    this.watcher?.close();
    this.watcher = null;
  }

  /** Whether change events are being watched (false while polling through a flood). */
  get watching(): boolean {
    return this.watcher !== null;
  }

  private open(): void {
    if (!this.watchable || this.watcher) return;
    const dbName = path.basename(this.dbPath);
    const walName = `${dbName}-wal`;
    try {
      const watcher = fs.watch(path.dirname(this.dbPath), (event, file) => {
        if (file === walName) this.changed();
        else if (file === dbName && event === "rename") this.replaced();
      });
      watcher.on("error", () => {
        watcher.close();
        if (this.watcher === watcher) this.watcher = null;
      });
      this.watcher = watcher;
    } catch (err) {
      this.watchable = false;
      this.log.debug("no change events for the WAL; polling only", {
        db: this.dbPath,
        error: errorMessage(err),
      });
    }
  }

  private changed(): void {
    if (this.closed) return;
    this.events++;
    const now = Date.now();
    if (this.pending) {
      const flood =
        this.events >= FLOOD_MIN_EVENTS &&
        this.events * 1000 >= FLOOD_EVENTS_PER_SECOND * Math.max(1, now - this.waitingSince);
      if (this.gap === MIN_CAPTURE_GAP_MS || !flood) return;
      clearTimeout(this.pending);
      this.gap = MIN_CAPTURE_GAP_MS;
    } else {
      this.waitingSince = now;
    }
    this.schedule(Math.max(0, this.lastCapture + this.gap - now));
  }

  private replaced(): void {
    if (this.closed) return;
    if (this.pending) clearTimeout(this.pending);
    this.schedule(0);
  }

  private schedule(waitMs: number): void {
    this.pending = setTimeout(() => this.run(), waitMs);
  }

  private run(): void {
    this.pending = null;
    this.events = 0;
    this.lastCapture = Date.now();
    const heavy = this.capture() >= HEAVY_CAPTURE_BYTES;
    if (this.closed) return;
    if (heavy) {
      this.gap = MIN_CAPTURE_GAP_MS;
      this.watcher?.close();
      this.watcher = null;
      this.waitingSince = Date.now();
      this.schedule(MIN_CAPTURE_GAP_MS);
    } else {
      this.gap = this.lightGapMs;
      if (!this.watcher && this.watchable) {
        // A commit between that capture and the new watch would wait for the monitor tick: look once more.
        this.open();
        this.waitingSince = Date.now();
        this.schedule(this.gap);
      }
    }
  }
}
