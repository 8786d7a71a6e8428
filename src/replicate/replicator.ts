/**
 * Runs replication for a set of databases: a monitor tick per database that captures new commits, a
 * loop per replica that uploads them, and a graceful stop that performs a final sync of everything.
 */
import { errorHint, errorMessage } from "../observe/error-text.ts";
import type { Logger } from "../observe/log.ts";
import { Backpressure } from "./backpressure.ts";
import type { ReplicatedDatabase } from "./database.ts";
import type { Replica } from "./replica.ts";
import { replicaFloor } from "./replica-floor.ts";
import { Signal } from "./signal.ts";
import type { Validator } from "./validator.ts";
import { MIN_CAPTURE_GAP_MS, WalWatch } from "./wal-watch.ts";

export interface ReplicatedSet {
  db: ReplicatedDatabase;
  replicas: Replica[];
  monitorIntervalMs: number;
  /** The replicas with a `validation-interval`, one validator each. */
  validators?: Validator[];
}

/**
 * Longest wait between retries of a failing replica: short, so replication catches up within a few
 * seconds of an outage ending; failing requests cost the object store next to nothing.
 */
const MAX_RETRY_DELAY_MS = 5_000;
/** With `sync-interval: 0` (ship on commit) a failing replica still waits this long between attempts. */
const MIN_RETRY_DELAY_MS = 200;
/** How long a stop waits for the final sync of a replica that was not answering. */
const FINAL_SYNC_DOWN_MS = 5_000;

export class Replicator {
  private timers: ReturnType<typeof setInterval>[] = [];
  private watches: WalWatch[] = [];
  private loops: Promise<void>[] = [];
  /** Kept apart from `loops`: stop waits for a validation's restore no longer than FINAL_SYNC_DOWN_MS. */
  private validations: Promise<void>[] = [];
  /** Fires once stop() begins, to cut every wait short. */
  private readonly stopped = new Signal();

  private started = false;
  /** Per database, what holds its application's writers when the replicas fall too far behind. */
  private readonly pressure = new Map<ReplicatedDatabase, Backpressure>();

  constructor(
    readonly sets: ReplicatedSet[],
    private readonly log: Logger,
  ) {
    for (const set of sets) this.wire(set);
  }

  private wire(set: ReplicatedSet): void {
    const bound = set.db.opts.maxWalBytes;
    this.pressure.set(set.db, new Backpressure(set.db, set.replicas, bound, this.stopped, this.log));
  }

  start(): void {
    this.started = true;
    for (const set of this.sets) this.startSet(set);
  }

  /** Adds a database while running (directory mode finds new ones). */
  add(set: ReplicatedSet): void {
    if (this.stopped.fired) return;
    this.wire(set);
    this.sets.push(set);
    if (this.started) this.startSet(set);
  }

  private startSet(set: ReplicatedSet): void {
    this.syncDb(set);
    if (set.monitorIntervalMs > 0) {
      this.timers.push(setInterval(() => this.syncDb(set), set.monitorIntervalMs));
      const syncMin = Math.min(...set.replicas.map((r) => r.opts.syncIntervalMs));
      // New commits are captured as soon as the WAL changes; the tick is the fallback (see wal-watch.ts).
      const lightGapMs = Math.max(MIN_CAPTURE_GAP_MS, Math.min(syncMin, set.monitorIntervalMs));
      const watch = new WalWatch(set.db.path, lightGapMs, () => this.capture(set), this.log);
      this.watches.push(watch);
      watch.start();
    }
    for (const r of set.replicas) {
      this.loops.push(this.replicaLoop(set, r));
      const retention = r.opts.retentionMs ?? 0;
      if (retention > 0) {
        const every = Math.min(r.opts.retentionCheckIntervalMs ?? retention, retention);
        this.loops.push(this.periodic(r, "retention", every, every, () => r.enforceRetention(retention)));
      }
      const interval = r.opts.snapshotIntervalMs ?? 0;
      if (interval > 0) {
        this.loops.push(
          this.periodic(
            r,
            "snapshot",
            interval,
            () => this.firstSnapshotDelay(r, interval),
            () => r.snapshotNow(),
          ),
        );
      }
    }
    for (const v of set.validators ?? []) {
      const validate = async () => {
        await v.run(() => this.stopped.fired);
      };
      this.validations.push(this.periodic(v.replica, "validation", v.intervalMs, v.intervalMs, validate));
    }
  }

  /** Syncs a database; returns how many bytes that added to its shadow WAL. */
  private capture(set: ReplicatedSet): number {
    const before = set.db.stats.walBytes;
    this.syncDb(set);
    return set.db.stats.walBytes - before;
  }

  private syncDb(set: ReplicatedSet): boolean {
    const db = set.db;
    try {
      const synced = db.sync(replicaFloor(set));
      this.pressure.get(db)?.check();
      return synced;
    } catch (err) {
      this.log.error("sync error", { db: db.path, error: errorMessage(err), hint: errorHint(err) });
      return false;
    }
  }

  private async replicaLoop(set: ReplicatedSet, r: Replica): Promise<void> {
    let seen = -1;
    while (!this.stopped.fired) {
      // The newest commits, whether or not a change event has had them captured yet (see wal-watch.ts).
      this.syncDb(set);
      if (r.reachability.reachable) {
        await Signal.until(set.db.waitForChange(seen), this.stopped);
        if (this.stopped.fired) return;
      }
      seen = set.db.changeVersion;
      const started = Date.now();
      try {
        await r.sync();
        const ended = r.reachability.succeeded();
        if (ended) {
          this.log.info("replica recovered", {
            db: r.db.path,
            replica: r.name,
            failed_attempts: ended.attempts,
            down_ms: Date.now() - ended.since.getTime(),
          });
        }
      } catch (err) {
        this.reportFailure(r, err);
      }
      const failures = r.reachability.failure?.attempts ?? 0;
      const base = Math.max(r.opts.syncIntervalMs, MIN_RETRY_DELAY_MS);
      const delay =
        failures === 0
          ? // Uploads start once per interval, as Litestream's ticker does: waiting a whole interval after
            // a long upload (a flood's backlog) would add that upload's duration to every commit's lag.
            Math.max(0, r.opts.syncIntervalMs - (Date.now() - started))
          : Math.min(MAX_RETRY_DELAY_MS, base * 2 ** Math.min(failures - 1, 10)) * (0.5 + Math.random() / 2);
      await Signal.sleep(delay, this.stopped, this.pressure.get(set.db)!.hurry);
    }
  }

  /** An outage is one error line, then a reminder a minute while it lasts; each retry logs at debug. */
  private reportFailure(r: Replica, err: unknown): void {
    const report = r.reachability.failed(err);
    const failure = r.reachability.failure!;
    const fields = {
      db: r.db.path,
      replica: r.name,
      error: failure.error,
      hint: failure.hint,
      failed_attempts: failure.attempts,
      since: failure.since.toISOString(),
    };
    if (report === "new") this.log.error("replica sync error", fields);
    else if (report === "reminder") this.log.error("replica sync still failing", fields);
    else this.log.debug("replica sync error", fields);
  }

  /** Runs `task` every `intervalMs` after a first delay, until stop; failures are logged and retried next time. */
  private async periodic(
    r: Replica,
    what: string,
    intervalMs: number,
    firstDelay: number | (() => Promise<number>),
    task: () => Promise<void>,
  ): Promise<void> {
    let delay = typeof firstDelay === "number" ? firstDelay : await firstDelay().catch(() => intervalMs);
    while (!this.stopped.fired) {
      await Signal.sleep(delay, this.stopped);
      if (this.stopped.fired) return;
      try {
        await task();
      } catch (err) {
        // A replica known to be down already has its outage reported; this is one more symptom of it.
        const level = r.reachability.reachable ? "error" : "debug";
        this.log[level](`${what} failed`, {
          db: r.db.path,
          replica: r.name,
          error: errorMessage(err),
          hint: errorHint(err),
        });
      }
      delay = intervalMs;
    }
  }

  /** The first scheduled snapshot comes one interval after the newest existing one (as in Litestream). */
  private async firstSnapshotDelay(r: Replica, intervalMs: number): Promise<number> {
    const generation = r.db.pos()?.generation;
    if (!generation) return intervalMs;
    const snapshots = await r.client.snapshots(generation);
    const newest = snapshots.reduce((t, s) => Math.max(t, s.createdAt.getTime()), 0);
    return newest === 0 ? intervalMs : Math.max(0, newest + intervalMs - Date.now());
  }

  /** Stops the loops, then syncs every database and replica one last time. Returns false if that failed. */
  async stop(): Promise<boolean> {
    this.stopped.latch();
    for (const t of this.timers) clearInterval(t);
    for (const w of this.watches) w.close();
    // A loop may be waiting on a replica that does not answer; the others' final syncs queue behind their
    // own loop's work (a replica runs one operation at a time), so they still complete.
    const down = this.sets.some((set) => set.replicas.some((r) => !r.reachability.reachable));
    await (down
      ? Promise.race([Promise.all(this.loops), sleep(FINAL_SYNC_DOWN_MS)])
      : Promise.all(this.loops));
    // A validation in progress stops at its next step; a restore under way is not waited for long.
    await Promise.race([Promise.all(this.validations), sleep(FINAL_SYNC_DOWN_MS)]);
    // Every replica at once: one that does not answer must not use up the stop timeout of the others.
    const results = await Promise.all(
      this.sets.map(async (set) => {
        const { db, replicas } = set;
        const captured = this.syncDb(set) || !db.isOpen;
        const synced = await Promise.all(replicas.map((r) => this.finalSync(r)));
        db.close();
        const { writerHolds, writerHoldSeconds } = db.stats;
        if (writerHolds > 0) {
          this.log.info("backpressure held the application's writers during this run", {
            db: db.path,
            holds: writerHolds,
            held_s: Math.round(writerHoldSeconds * 10) / 10,
          });
        }
        return captured && synced.every(Boolean);
      }),
    );
    return results.every(Boolean);
  }

  /**
   * The last sync of one replica. A replica that is not answering gets FINAL_SYNC_DOWN_MS rather than
   * the storage client's whole retry budget (minutes against a server that accepts and never answers).
   */
  private async finalSync(r: Replica): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const limit = r.reachability.reachable
      ? null
      : new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new Error(
                  `the replica has not answered since ${r.reachability.failure?.since.toISOString()}`,
                ),
              ),
            FINAL_SYNC_DOWN_MS,
          );
        });
    try {
      await (limit ? Promise.race([r.sync(), limit]) : r.sync());
      return true;
    } catch (err) {
      this.log.error("final sync failed", {
        db: r.db.path,
        replica: r.name,
        error: errorMessage(err),
        hint: errorHint(err),
      });
      return false;
    } finally {
      clearTimeout(timer);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
