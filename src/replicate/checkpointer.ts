/**
 * Our checkpoints: when (Litestream's thresholds, plus the backpressure bound), and how: first without
 * blocking anyone; when the application keeps appending (a write flood), the checkpoint never catches up
 * with it, so then we hold the write lock for a moment, copy the last frames and checkpoint everything.
 * Backpressure holds the same lock for longer (holdWriters). Either way our read transaction then moves to
 * the end (the capture callback), where it no longer stands in the way of the WAL's restart.
 *
 * Long-lived per database; `attach` gives it the connections of each opening of the database.
 */

import * as fs from "node:fs";
import { fileSize } from "../io/file-io.ts";
import type { Logger } from "../observe/log.ts";
import { sleepSync } from "../runtime/sleep.ts";
import type { SqliteDatabase as Database } from "../runtime/sqlite.ts";
import { frameAlign, frameSize, WAL_HEADER_SIZE, walSize } from "../sqlite/wal.ts";
import { BUSY_TIMEOUT_MS, type CheckpointMode, type CheckpointResult, checkpoint } from "./connection.ts";
import type { ShmLocks } from "./shm-locks.ts";

/** How long a checkpoint tries to take the application's write lock (the event loop waits with it). */
const WRITER_LOCK_TIMEOUT_MS = 100;
/** How long checkpoints leave the write lock alone after one failed to finish with it. */
const BLOCKED_CHECKPOINT_BACKOFF_MS = 250;
/**
 * At most one checkpoint holding the write lock this often: each costs the application a few
 * milliseconds of waiting, and a flood fills the checkpoint threshold every few milliseconds.
 */
const BLOCKING_CHECKPOINT_GAP_MS = 100;
/** How long we try to take the checkpointer lock back after our own checkpoint. */
const CHECKPOINT_LOCK_RETAKE_MS = 1;
/** How long a checkpoint holding the write lock waits for another connection's checkpoint to end. */
const CHECKPOINT_LOCK_TIMEOUT_MS = 1000;

/** Litestream 0.3.13's TRUNCATE threshold (pages): a runaway WAL is truncated at about 2 GB. */
export const DEFAULT_TRUNCATE_PAGE_COUNT = 500_000;

export interface CheckpointPolicy {
  checkpointIntervalMs: number;
  minCheckpointPageCount: number;
  maxCheckpointPageCount: number;
  truncatePageCount: number;
  /** The backpressure bound (`max-wal-size`; 0: none). */
  maxWalBytes: number;
}

export interface CheckpointStats {
  checkpoints: Record<CheckpointMode, { count: number; errors: number; seconds: number }>;
  /** Times the application's writers were held for backpressure, and for how long in all. */
  writerHolds: number;
  writerHoldSeconds: number;
}

/** What one opening of the database gives the checkpointer. */
export interface CheckpointHandles {
  /** Our writing connection (the write lock's fallback where shmLocks is null). */
  conn: Database;
  /** The reader connection that is not holding our read transaction right now. */
  idleReader: () => Database;
  /** SQLite's shm locks taken from outside it (shm-locks.ts); null where that is not possible. */
  shmLocks: ShmLocks | null;
  pageSize: number;
}

export class Checkpointer {
  private handles: CheckpointHandles | null = null;
  private nextBlockingCheckpointAt = 0;
  /** After a checkpoint holding the writers could not finish (a reader in the way), none before this. */
  private blockedUntil = 0;
  /** Since when we hold the application's writers for backpressure (holdWriters), or null. */
  private writersHeldSince: number | null = null;
  /** Whether the WAL session is past maxWalBytes (said once per episode). */
  private overBound = false;
  /**
   * Where the last checkpoint that caught up left the current shadow index: the WAL restarts at the next
   * write. Reset by newIndex().
   */
  private checkpointedTo = 0;

  constructor(
    private readonly dbPath: string,
    private readonly walPath: string,
    private readonly policy: CheckpointPolicy,
    private readonly stats: CheckpointStats,
    /** Copies what is new into the shadow WAL and moves our read transaction to the end. */
    private readonly capture: () => void,
    /** The shadow WAL's committed end in the current index. */
    private readonly shadowEnd: () => number,
    private readonly log: Logger,
  ) {}

  attach(handles: CheckpointHandles): void {
    this.handles = handles;
  }

  detach(): void {
    this.releaseWriters();
    this.handles = null;
  }

  /** A new shadow index began: nothing of it is checkpointed yet. */
  newIndex(): void {
    this.checkpointedTo = 0;
  }

  private get h(): CheckpointHandles {
    if (!this.handles) throw new Error("the database is not open");
    return this.handles;
  }

  /**
   * Which checkpoint is due, if any, and whether it is urgent: past half the bound the WAL must restart
   * now, whatever the usual pace of blocking checkpoints.
   */
  due(): { mode: CheckpointMode; urgent: boolean } | null {
    const ps = this.h.pageSize;
    const p = this.policy;
    const shadow = this.shadowEnd();
    const urgent = p.maxWalBytes > 0 && shadow >= p.maxWalBytes / 2;
    const realWal = frameAlign(fileSize(this.walPath) ?? 0, ps);
    let mode: CheckpointMode | null = null;
    if (p.truncatePageCount > 0 && realWal >= walSize(ps, p.truncatePageCount)) mode = "TRUNCATE";
    else if (p.maxCheckpointPageCount > 0 && shadow >= walSize(ps, p.maxCheckpointPageCount))
      mode = "RESTART";
    else if (shadow >= walSize(ps, p.minCheckpointPageCount)) mode = "PASSIVE";
    else if (p.checkpointIntervalMs > 0 && shadow > walSize(ps, 1)) {
      const mtime = fs.statSync(this.dbPath).mtimeMs;
      if (Date.now() - mtime > p.checkpointIntervalMs) mode = "PASSIVE";
    }
    if (!mode && urgent) mode = "RESTART";
    return mode ? { mode, urgent } : null;
  }

  /**
   * Moves the WAL into the database file so the next write restarts it (see the module comment). `mode` is
   * Litestream's name for the threshold that triggered it (metrics, logs); `urgent` skips the pacing gap
   * between checkpoints that hold the writers, never the back-off after one that could not finish: holding
   * the writers again and again for a checkpoint that cannot finish would only stall them.
   */
  run(mode: CheckpointMode, urgent = false): void {
    const stats = this.stats.checkpoints[mode];
    const started = performance.now();
    let result: CheckpointResult;
    try {
      this.capture();
      result = this.passive();
      const now = Date.now();
      if (
        !this.caughtUp(result) &&
        now >= this.blockedUntil &&
        (urgent || now >= this.nextBlockingCheckpointAt)
      ) {
        // Copy what arrived during that checkpoint first, so the writers wait for as little as possible.
        this.capture();
        result = this.holdingWriters() ?? result;
        if (complete(result)) this.nextBlockingCheckpointAt = Date.now() + BLOCKING_CHECKPOINT_GAP_MS;
        else this.blockedUntil = Date.now() + BLOCKED_CHECKPOINT_BACKOFF_MS;
      }
      this.capture();
      if (this.caughtUp(result)) this.checkpointedTo = this.shadowEnd();
    } catch (err) {
      stats.errors++;
      throw err;
    } finally {
      stats.count++;
      stats.seconds += (performance.now() - started) / 1000;
    }
    this.log.debug("checkpoint", { db: this.dbPath, mode, ...result });
  }

  /**
   * Whether a checkpoint moved the whole WAL into the database file and nothing was appended after our
   * last capture: then the application's next write restarts the WAL. A flood appends all the time, so a
   * checkpoint that was complete when it ran is not enough.
   */
  private caughtUp(r: CheckpointResult): boolean {
    return complete(r) && r.log === (this.shadowEnd() - WAL_HEADER_SIZE) / frameSize(this.h.pageSize);
  }

  /** A PASSIVE checkpoint on the reader connection that is not holding our read transaction. */
  private passive(): CheckpointResult {
    try {
      return checkpoint(this.h.idleReader(), "PASSIVE");
    } finally {
      // Ending our checkpoint let go of the lock (shm-locks.ts). An application commit may be trying it
      // this very moment; with nothing for it to copy, it lets go within microseconds.
      this.h.shmLocks?.take("checkpoint", CHECKPOINT_LOCK_RETAKE_MS);
    }
  }

  /**
   * Takes the write lock (trying for at most WRITER_LOCK_TIMEOUT_MS), so nothing is appended while we
   * copy the last frames and checkpoint all of them; null when the application held the lock all along.
   */
  holdingWriters(): CheckpointResult | null {
    const held = this.whileWritersHeld(() => {
      this.capture();
      const deadline = performance.now() + CHECKPOINT_LOCK_TIMEOUT_MS;
      let result = this.passive();
      let retried = false;
      while (!complete(result) && performance.now() < deadline) {
        if (result.busy !== 0) {
          // An application checkpoint still running (begun before we took the lock) makes ours fail at
          // once. Waiting costs the application nothing, its writer is the one running it; its fsync can
          // take a while on a busy disk.
          sleepSync(1);
        } else if (!retried) {
          // A reader mark short of the end: ours, when every read-mark slot was taken as it began.
          retried = true;
          this.capture();
        } else {
          break; // someone else's read transaction: do not keep the writers waiting for it
        }
        result = this.passive();
      }
      // Still holding the writers back: move our read transaction past the checkpointed WAL first, or
      // the next writer would find it in the way and append instead of restarting.
      this.capture();
      return result;
    });
    return held?.value ?? null;
  }

  /**
   * Runs `fn` with the application's writers held (the write lock, tried for at most
   * WRITER_LOCK_TIMEOUT_MS) and says for how long they were; null when the application held the lock all
   * along. A hold of backpressure's stays in place afterwards: it releases the lock itself.
   */
  whileWritersHeld<T>(fn: () => T): { value: T; heldMs: number } | null {
    const { shmLocks: locks, conn } = this.h;
    const already = this.writersHeldSince !== null;
    const held =
      already ||
      (locks ? locks.take("write", WRITER_LOCK_TIMEOUT_MS) : tryBeginImmediate(conn, WRITER_LOCK_TIMEOUT_MS));
    if (!held) return null;
    const started = performance.now();
    let value: T;
    try {
      value = fn();
    } finally {
      if (!already) {
        if (locks) locks.release("write");
        else conn.run("ROLLBACK");
      }
    }
    return { value, heldMs: performance.now() - started };
  }

  /**
   * Backpressure: takes the application's write lock (trying for at most WRITER_LOCK_TIMEOUT_MS) and keeps
   * it until releaseWriters, so commits wait (for as long as their busy_timeout allows) while the replicas
   * catch up. Only where SQLite's locks can be taken from outside it (shm-locks.ts); false elsewhere, or
   * when the application held the lock all along.
   */
  holdWriters(): boolean {
    if (this.writersHeldSince !== null) return true;
    if (!this.handles?.shmLocks?.take("write", WRITER_LOCK_TIMEOUT_MS)) return false;
    this.writersHeldSince = performance.now();
    this.stats.writerHolds++;
    return true;
  }

  releaseWriters(): void {
    if (this.writersHeldSince === null) return;
    this.stats.writerHoldSeconds += (performance.now() - this.writersHeldSince) / 1000;
    this.writersHeldSince = null;
    this.handles?.shmLocks?.release("write");
  }

  /**
   * Says when the WAL session passes the bound after all, and why: one line per episode. The exceptions
   * the bound cannot cover are a snapshot reading the database file (`snapshotReading`: checkpoints wait
   * for it), a read transaction of the application's that keeps the WAL from restarting, and a single
   * transaction larger than the bound (it cannot be captured before its commit).
   */
  reportBound(snapshotReading: boolean): void {
    const bound = this.policy.maxWalBytes;
    if (bound <= 0) return;
    const shadow = this.shadowEnd();
    // A session checkpointed to its end restarts at the next write, however long it is.
    const over = shadow > bound && shadow > this.checkpointedTo;
    if (over && !this.overBound) {
      this.log.warn("the wal is past max-wal-size", {
        db: this.dbPath,
        wal_bytes: shadow,
        max_wal_size: bound,
        reason: snapshotReading
          ? "a snapshot is reading the database file; checkpoints wait for it"
          : "a checkpoint could not restart the wal: an application read transaction, or one transaction larger than the bound",
      });
    } else if (!over && this.overBound) {
      this.log.info("the wal is back within max-wal-size", { db: this.dbPath, max_wal_size: bound });
    }
    this.overBound = over;
  }
}

/** Whether a checkpoint moved every frame of the WAL into the database file. */
export function complete(r: CheckpointResult): boolean {
  return r.busy === 0 && r.checkpointed === r.log;
}

/**
 * BEGIN IMMEDIATE, retried without sleeping until `timeoutMs` has passed. SQLite's busy handler sleeps
 * between attempts (1, 2, 5, 10 ms...) and so almost never lands in the microseconds between two
 * commits of an application writing flat out; trying again at once does, usually within a millisecond.
 */
function tryBeginImmediate(db: Database, timeoutMs: number): boolean {
  db.run("PRAGMA busy_timeout = 0");
  try {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      try {
        db.run("BEGIN IMMEDIATE");
        return true;
      } catch (err) {
        if (!String((err as { code?: unknown }).code).startsWith("SQLITE_BUSY")) throw err;
        if (performance.now() >= deadline) return false;
      }
    }
  } finally {
    db.run(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
  }
}
