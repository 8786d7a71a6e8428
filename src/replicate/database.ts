/**
 * The capture side for one database: holds a read transaction so no other connection can restart the
 * WAL past frames we have not copied, copies committed frames into the shadow WAL, runs checkpoints by
 * policy, and starts a new generation whenever continuity with the previous position cannot be proven.
 * Every method here is synchronous: replicas never observe a half-updated shadow WAL.
 *
 * The read transaction moves forward with every capture without ever being let go (two connections
 * take turns, see `capture`), so checkpoints keep the WAL small and a write flood cannot make it grow
 * without bound. (Litestream lets go of its lock to checkpoint; a writer that restarts the WAL in that
 * moment overwrites frames it has not copied yet.) Where SQLite's locks can be taken from outside it,
 * the checkpoints are ours alone while we run (shm-locks.ts); elsewhere the application's run too.
 */
import { Database } from "bun:sqlite";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { CaptureTime } from "../format/capture-times.ts";
import {
  hex8,
  MAX_WAL_INDEX,
  newGenerationName,
  type Pos,
  parseShadowWalName,
  shadowWalName,
} from "../format/layout.ts";
import { fileSize, readAt, readFileAt } from "../io/file-io.ts";
import { errorMessage } from "../observe/error-text.ts";
import type { Logger } from "../observe/log.ts";
import { frameAlign, frameSize, sameWalHeader, WAL_HEADER_SIZE, walSize } from "../sqlite/wal.ts";
import { CaptureLog } from "./capture-log.ts";
import {
  BUSY_TIMEOUT_MS,
  type CheckpointMode,
  type CheckpointResult,
  checkpoint,
  openConnection,
} from "./connection.ts";
import { DatabaseFileGate } from "./database-file-gate.ts";
import { GenerationFile } from "./generation-file.ts";
import { findLitestream, OtherReplicatorError } from "./other-replicator.ts";
import { currentBootId, RunMarker } from "./run-marker.ts";
import { copyCommittedFrames, initShadowWal, readHeaderBytes } from "./shadow-wal.ts";
import { ShmLocks } from "./shm-locks.ts";

export interface DatabaseOptions {
  path: string;
  /** Meta directory; default `<dir>/.<name>-litestream`, the same place Litestream keeps its state. */
  metaPath?: string | undefined;
  checkpointIntervalMs: number;
  minCheckpointPageCount: number;
  maxCheckpointPageCount: number;
  truncatePageCount: number;
  /**
   * The backpressure bound (`max-wal-size`; 0: none): past half of it in one WAL session, checkpoints
   * hold the writers without waiting for their usual gap, so the WAL restarts before reaching it.
   * The backlog half of the bound is enforced by backpressure.ts, with holdWriters.
   */
  maxWalBytes: number;
  log: Logger;
}

/** Counters for metrics (Litestream's litestream_* names, walship_* here). */
export interface DatabaseStats {
  syncCount: number;
  syncErrorCount: number;
  syncSeconds: number;
  /** Bytes appended to the shadow WAL. */
  walBytes: number;
  checkpoints: Record<CheckpointMode, { count: number; errors: number; seconds: number }>;
  /** Times the application's writers were held for backpressure, and for how long in all. */
  writerHolds: number;
  writerHoldSeconds: number;
}

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

const SEQ_UPSERT =
  "INSERT INTO _litestream_seq (id, seq) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET seq = seq + 1";

/** The meta directory cannot be written (disk full, read-only, permissions). */
export class ReplicationStateError extends Error {
  override name = "ReplicationStateError";
  constructor(
    message: string,
    readonly hint: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Another process already replicates the database. */
export class AlreadyReplicatingError extends Error {
  override name = "AlreadyReplicatingError";
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

export function defaultMetaPath(dbPath: string): string {
  return path.join(path.dirname(dbPath), `.${path.basename(dbPath)}-litestream`);
}

export class ReplicatedDatabase {
  readonly path: string;
  readonly walPath: string;
  readonly metaPath: string;
  private readonly log: Logger;
  private readonly generationFile: GenerationFile;
  /** Refuses a file that is not an SQLite database, until it changes. */
  readonly fileGate: DatabaseFileGate;

  private conn: Database | undefined;
  /** Holds an exclusive SQLite lock on `<meta>/walship.lock` while this process replicates the database. */
  private processLock: Database | undefined;
  /** Two connections that take turns holding our read transaction; `reading` is the one holding it. */
  private readers: [Database, Database] | undefined;
  private reading: 0 | 1 = 0;
  /**
   * SQLite's checkpointer lock is ours between our own checkpoints, so the application's automatic ones
   * give up at once instead of working against our read mark; the writer lock stops appends while we
   * restart the WAL. Null where they cannot be taken from outside SQLite (see shm-locks.ts).
   */
  private shmLocks: ShmLocks | null = null;
  /** One long-lived descriptor for reading the database file: closing any descriptor of it would drop SQLite's POSIX locks. */
  private fd: number | undefined;
  pageSize = 0;
  generation = "";
  private shadowIndex = 0;
  private shadowSize = 0;
  /** Whether shadowIndex and shadowSize are what our own last capture left (not yet after an open). */
  private shadowKnown = false;
  /** While > 0 (a snapshot is being read), our own checkpoints are skipped. */
  private checkpointHolds = 0;
  private missingLogged = false;
  readonly stats: DatabaseStats = {
    syncCount: 0,
    syncErrorCount: 0,
    syncSeconds: 0,
    walBytes: 0,
    checkpoints: {
      PASSIVE: { count: 0, errors: 0, seconds: 0 },
      FULL: { count: 0, errors: 0, seconds: 0 },
      RESTART: { count: 0, errors: 0, seconds: 0 },
      TRUNCATE: { count: 0, errors: 0, seconds: 0 },
    },
    writerHolds: 0,
    writerHoldSeconds: 0,
  };
  private forcedReason = "";
  private runMarker: RunMarker | undefined;
  /** Whether each capture is fsynced: only where a lost page cache could not be detected (run-marker.ts). */
  private fsyncShadow = true;
  private nextBlockingCheckpointAt = 0;
  /** After a checkpoint holding the writers could not finish (a reader in the way), none before this. */
  private blockedUntil = 0;
  /** Since when we hold the application's writers for backpressure (holdWriters), or null. */
  private writersHeldSince: number | null = null;
  /** Whether the WAL session is past maxWalBytes (said once per episode). */
  private overBound = false;
  /**
   * Where the last checkpoint that caught up left the current shadow index: the WAL restarts at the next
   * write. 0 in a new index.
   */
  private checkpointedTo = 0;

  /** Bumped whenever the shadow WAL or generation changes; replicas wait on it. */
  private version = 0;
  private waiters: (() => void)[] = [];
  /**
   * The position of the replica furthest behind (null while one has none); set by the replicator, used
   * to delete shadow files and capture times no replica needs any more.
   */
  replicaFloor: () => Pos | null = () => null;
  /** When each capture happened, until every replica has uploaded it. */
  private readonly captures = new CaptureLog();

  constructor(readonly opts: DatabaseOptions) {
    this.path = path.resolve(opts.path);
    this.walPath = `${this.path}-wal`;
    this.metaPath = opts.metaPath ?? defaultMetaPath(this.path);
    this.generationFile = new GenerationFile(this.metaPath);
    this.fileGate = new DatabaseFileGate(this.path);
    this.log = opts.log;
  }

  get isOpen(): boolean {
    return this.conn !== undefined;
  }

  /** The current replication position: generation, highest shadow index and its committed size. */
  pos(): Pos | null {
    if (!this.generation) return null;
    return { generation: this.generation, index: this.shadowIndex, offset: this.shadowSize };
  }

  shadowPath(index: number, generation = this.generation): string {
    return path.join(this.metaPath, "generations", generation, "wal", shadowWalName(index));
  }

  /** Resolves when the shadow WAL changes after `since` (a value from `changeVersion`). */
  waitForChange(since: number): Promise<void> {
    if (this.version !== since) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  get changeVersion(): number {
    return this.version;
  }

  private notify(): void {
    this.version++;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /**
   * Makes sure no other walship process replicates this database: two writers to one replica would
   * interleave segments. The lock is an exclusive SQLite lock on a small file in the meta directory, so
   * the operating system releases it when the process dies. Safe to call again once held.
   */
  lockProcess(): void {
    if (this.processLock) return;
    fs.mkdirSync(this.metaPath, { recursive: true, mode: 0o700 });
    const lockPath = path.join(this.metaPath, "walship.lock");
    const lock = new Database(lockPath, { create: true });
    try {
      lock.run("PRAGMA busy_timeout = 0");
      lock.run("BEGIN EXCLUSIVE");
    } catch (err) {
      lock.close();
      if ((err as { code?: string }).code?.startsWith("SQLITE_BUSY")) {
        throw new AlreadyReplicatingError(
          `Cannot replicate ${this.path}: another walship process is already replicating it (it holds ${lockPath})`,
          "stop the other walship process first; only one process may write a database's replicas",
        );
      }
      throw err;
    }
    this.processLock = lock;
  }

  /**
   * The path may name another file than the one we have open: the application deleted the database (and
   * perhaps created it anew), or renamed another file over it (VACUUM INTO, then mv). Our connections
   * would go on replicating the old file and keep its WAL and shared memory alive beside the new one,
   * where the next SQLite to open the new file would read the old frames as if they were its own. So:
   * empty that WAL through our old connection (a TRUNCATE checkpoint, into the old file, which also
   * resets the shared index), let go of everything, and start a new generation from whatever file the
   * path names now (once one exists).
   */
  private letGoIfReplaced(): void {
    const reason = this.replacedReason();
    if (!reason) return;
    this.log.warn("database file replaced; starting over with the file its path names now", {
      db: this.path,
      reason,
    });
    try {
      for (const reader of this.readers ?? []) endRead(reader);
      const result = checkpoint(this.conn!, "TRUNCATE");
      if (result.busy !== 0) {
        this.log.warn("the replaced database's WAL is still in use and was not emptied", { db: this.path });
      }
    } catch (err) {
      this.log.warn("cannot empty the replaced database's WAL", { db: this.path, error: errorMessage(err) });
    }
    this.closeDatabase();
    this.forcedReason = reason;
  }

  /** Why the path no longer names the file we have open, or null while it does. */
  private replacedReason(): string | null {
    if (this.fd === undefined) return null;
    const open = fs.fstatSync(this.fd);
    let now: fs.Stats;
    try {
      now = fs.statSync(this.path);
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === "ENOENT" ? "database file deleted" : null;
    }
    return now.ino !== open.ino || now.dev !== open.dev ? "database file replaced by another file" : null;
  }

  /**
   * Refuses a database that Litestream replicates too (other-replicator.ts): the two would overwrite each
   * other's state in the meta directory they share. Where Litestream cannot be seen (another user's
   * process, another system), a generation file changed by someone else tells later (see syncOpen).
   */
  refuseSharedMetaDirectory(): void {
    const pid = findLitestream(this.path);
    if (pid === null) return;
    throw new OtherReplicatorError(
      `Cannot replicate ${this.path}: Litestream (pid ${pid}) replicates it too, and the two would overwrite each other's state in ${this.metaPath}`,
    );
  }

  /**
   * Something else writes our meta directory (Litestream started on the same database while we run: it
   * takes over our generation and appends to our shadow WAL, or starts its own). Say so; sync() lets go
   * of the database at once: each would delete or overwrite the other's state.
   */
  private refuseOtherWriter(what: string): never {
    const pid = findLitestream(this.path);
    throw new OtherReplicatorError(
      `Cannot go on replicating ${this.path}: another process${pid === null ? "" : ` (Litestream, pid ${pid})`} ${what}, so it replicates this database too`,
    );
  }

  /** Opens the database if it exists and is not open yet. Returns whether it is open. */
  private init(): boolean {
    if (this.conn) return true;
    if (!fs.existsSync(this.path)) {
      if (!this.missingLogged) this.log.warn("database not found, waiting for it", { db: this.path });
      this.missingLogged = true;
      return false;
    }
    // Before anything is created beside it: a wrong file gets no meta directory.
    const gate = this.fileGate.check();
    this.fileGate.report(gate, this.log);
    if (!gate.admitted) return false;
    try {
      this.lockProcess();
      this.refuseSharedMetaDirectory();
      this.conn = openConnection(this.path);
      const before = this.conn.query("PRAGMA journal_mode").values()[0]?.[0];
      const mode = this.conn.query("PRAGMA journal_mode = wal").values()[0]?.[0];
      if (mode !== "wal") throw new Error(`cannot enable WAL mode (journal_mode=${String(mode)})`);
      // The application sees it too (WAL mode persists in the file), so it is worth a line.
      if (before !== "wal")
        this.log.info("switched the database to WAL mode", { db: this.path, was: String(before) });
      this.conn.run("CREATE TABLE IF NOT EXISTS _litestream_seq (id INTEGER PRIMARY KEY, seq INTEGER)");
      this.conn.run("CREATE TABLE IF NOT EXISTS _litestream_lock (id INTEGER)");
      this.readers = [openConnection(this.path), openConnection(this.path)];
      this.fd = fs.openSync(this.path, "r");
      beginRead(this.readers[this.reading]);
      this.shmLocks = ShmLocks.open(`${this.path}-shm`);
      this.shmLocks?.take("checkpoint");
      this.pageSize = Number(this.conn.query("PRAGMA page_size").values()[0]?.[0]);
      fs.mkdirSync(this.metaPath, { recursive: true, mode: 0o700 });
      this.removeTmpFiles(this.metaPath);
      this.generation = this.generationFile.read();
      const boot = currentBootId();
      if (boot !== null && !this.runMarker) {
        this.runMarker = new RunMarker(path.join(this.metaPath, "walship.run"));
        if (this.runMarker.begin(boot)) this.forcedReason = "machine restarted while replicating";
        this.fsyncShadow = false;
      }
      if (this.generation && !this.forcedReason) this.checkHeadersAtStartup();
      this.clean();
      this.log.info("initialized db", {
        db: this.path,
        page_size: this.pageSize,
        generation: this.generation || undefined,
      });
      return true;
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /** On startup, continue the generation only if the real WAL still is the session we last copied. */
  private checkHeadersAtStartup(): void {
    const index = this.highestShadowIndex(this.generation);
    const shadowHeader = index === null ? new Uint8Array(0) : readHeaderBytes(this.shadowPath(index));
    if (index === null || !sameWalHeader(shadowHeader, readHeaderBytes(this.walPath))) {
      // Logged once, with the new generation's line.
      this.forcedReason = `wal changed while walship was stopped (generation ${this.generation} ends)`;
      this.generationFile.remove();
      this.generation = "";
    }
  }

  private highestShadowIndex(generation: string): number | null {
    let names: string[];
    try {
      names = fs.readdirSync(path.join(this.metaPath, "generations", generation, "wal"));
    } catch {
      return null;
    }
    let max: number | null = null;
    for (const n of names) {
      const p = parseShadowWalName(n);
      if (p && (max === null || p.index > max)) max = p.index;
    }
    return max;
  }

  /**
   * One capture step: verify continuity, copy new committed frames into the shadow WAL, checkpoint by
   * policy, and wake the replicas when anything changed. Returns false while the database is missing
   * or refused (database-file-gate.ts).
   */
  sync(): boolean {
    this.letGoIfReplaced();
    if (!this.init()) return false;
    const started = performance.now();
    try {
      this.syncOpen();
      return true;
    } catch (err) {
      this.stats.syncErrorCount++;
      if (err instanceof OtherReplicatorError) this.closeDatabase();
      throw this.explain(err);
    } finally {
      this.stats.syncCount++;
      this.stats.syncSeconds += (performance.now() - started) / 1000;
    }
  }

  private syncOpen(): void {
    if (this.generationFile.changedByOthers()) this.refuseOtherWriter(`changed ${this.generationFile.path}`);
    const before = this.pos();
    // Past the checkpoint threshold our read transaction stays put until our checkpoint moves it: each
    // move lets the application's next commit checkpoint (and fsync) the frames before it, which under a
    // write flood costs the application a checkpoint every few commits instead of one per thousand.
    this.capture(this.shadowSize < walSize(this.pageSize, this.opts.minCheckpointPageCount));
    // Past half the bound the WAL must restart now, whatever the usual pace of blocking checkpoints.
    const urgent = this.opts.maxWalBytes > 0 && this.shadowSize >= this.opts.maxWalBytes / 2;
    const mode = this.checkpointMode() ?? (urgent ? "RESTART" : null);
    if (mode) this.checkpoint(mode, urgent);
    this.reportBound();
    this.clean();

    const after = this.pos();
    if (
      !before ||
      before.generation !== after?.generation ||
      before.index !== after.index ||
      before.offset !== after.offset
    ) {
      this.notify();
    }
  }

  /**
   * Copies what is new into the shadow WAL and moves our read transaction to the WAL's end.
   *
   * SQLite restarts the WAL (writes over it from the start) only when no reader holds a WAL read mark,
   * and a reader starts without one only when every frame of the WAL is already in the database file.
   * The new read transaction starts before the copy and the old one ends after it, so some transaction
   * of ours holds a read mark at every moment until we have copied past it; and when a new one starts
   * without a read mark, the frames the checkpoint could reach were the old one's, all copied. So the WAL
   * can restart only after we have copied every frame of it, and a restart we see is always complete.
   * While a snapshot reads the database file the transaction stays where it is (see holdCheckpoints).
   */
  private capture(moveReadLock = true): void {
    const readers = this.readers!;
    const move = moveReadLock && this.checkpointHolds === 0;
    const next = this.reading === 0 ? 1 : 0;
    if (move) beginRead(readers[next]);
    try {
      this.captureFrames();
    } catch (err) {
      if (move) endRead(readers[next]);
      throw err;
    }
    if (move) {
      endRead(readers[this.reading]);
      this.reading = next;
    }
  }

  private captureFrames(): void {
    const walBytes = fileSize(this.walPath);
    if (walBytes === null || walBytes < WAL_HEADER_SIZE) this.conn!.run(SEQ_UPSERT);
    const { reason, restart } = this.verify();
    if (reason) this.createGeneration(reason);
    else {
      this.copyShadow();
      if (restart) this.startNextShadowIndex();
    }
  }

  /** Turns a full or read-only disk under the meta directory into an error that says where and what to do. */
  private explain(err: unknown): unknown {
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    if (code === "ENOSPC" || code === "EDQUOT") {
      return new ReplicationStateError(
        `Cannot write replication state in ${this.metaPath}: no space left on device`,
        `free space on the filesystem that holds ${this.metaPath}, or move it with meta-path; replication resumes by itself`,
        { cause: err },
      );
    }
    if (code === "EROFS" || code === "EACCES" || code === "EPERM") {
      return new ReplicationStateError(
        `Cannot write replication state in ${this.metaPath}: ${(err as Error).message}`,
        `make ${this.metaPath} writable for this user, or move it with meta-path`,
        { cause: err },
      );
    }
    return err;
  }

  /** Why the shadow WAL can no longer continue the real one (a new generation), or whether the WAL restarted. */
  private verify(): { reason?: string; restart: boolean } {
    if (this.forcedReason) {
      const reason = this.forcedReason;
      this.forcedReason = "";
      return { reason, restart: false };
    }
    if (!this.generation) return { reason: "no generation exists", restart: false };
    const index = this.highestShadowIndex(this.generation);
    if (index === null) return { reason: "no shadow wal", restart: false };
    if (index >= MAX_WAL_INDEX) return { reason: "max index exceeded", restart: false };
    const shadowPath = this.shadowPath(index);
    const ps = this.pageSize;
    const shadowSize = frameAlign(fileSize(shadowPath) ?? 0, ps);
    // Between our own captures nothing else writes the shadow WAL.
    if (this.shadowKnown && (index !== this.shadowIndex || shadowSize !== this.shadowSize)) {
      this.refuseOtherWriter(`wrote the shadow wal ${shadowPath}`);
    }
    this.shadowIndex = index;
    this.shadowSize = shadowSize;
    const walSizeNow = frameAlign(fileSize(this.walPath) ?? 0, ps);
    if (shadowSize < WAL_HEADER_SIZE) return { reason: "short shadow wal", restart: false };
    // A restart we see while running is always complete in the shadow (see capture).
    if (!sameWalHeader(readHeaderBytes(shadowPath), readHeaderBytes(this.walPath))) return { restart: true };
    if (shadowSize > walSizeNow) return { reason: "wal truncated by another process", restart: false };
    if (shadowSize > WAL_HEADER_SIZE) {
      // Frames past SQLite's last commit (a writer killed before it published them) may be rewritten.
      const fs_ = frameSize(ps);
      const a = readFileAt(shadowPath, shadowSize - fs_, fs_);
      const b = readFileAt(this.walPath, shadowSize - fs_, fs_);
      if (!bytesEqual(a, b)) return { reason: "wal overwritten by another process", restart: false };
    }
    return { restart: false };
  }

  private createGeneration(reason: string): void {
    const generation = newGenerationName(randomBytes);
    const dir = path.join(this.metaPath, "generations", generation);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.shadowIndex = 0;
    this.checkpointedTo = 0;
    this.captures.clear();
    this.shadowSize = initShadowWal(this.walPath, this.shadowPath(0, generation), {
      fsync: this.fsyncShadow,
    });
    this.captured(0);
    this.generationFile.write(generation);
    const previous = this.generation;
    this.generation = generation;
    this.log.info("starting a new generation", {
      db: this.path,
      generation,
      reason,
      previous_generation: previous || undefined,
    });
  }

  private startNextShadowIndex(): void {
    this.shadowIndex++;
    this.checkpointedTo = 0;
    this.shadowSize = initShadowWal(this.walPath, this.shadowPath(this.shadowIndex), {
      fsync: this.fsyncShadow,
    });
    this.captured(0);
  }

  /** Appends newly committed frames to the current shadow file. */
  private copyShadow(): void {
    const before = this.shadowSize;
    this.shadowSize = copyCommittedFrames(this.walPath, this.shadowPath(this.shadowIndex), {
      fsync: this.fsyncShadow,
    });
    this.captured(before);
  }

  /** Accounts for the frames a capture added to the current shadow index: metrics and capture times. */
  private captured(before: number): void {
    this.shadowKnown = true;
    if (this.shadowSize <= before) return;
    this.stats.walBytes += this.shadowSize - before;
    // The hot path: the fields are built only when someone reads them.
    if (this.log.enabled("debug"))
      this.log.debug("wal captured", {
        db: this.path,
        shadow_index: hex8(this.shadowIndex),
        offset: this.shadowSize,
        bytes: this.shadowSize - before,
      });
    if (this.shadowSize > WAL_HEADER_SIZE)
      this.captures.record(this.shadowIndex, this.shadowSize, Date.now());
  }

  /**
   * When the commits of shadow index `index` in (from, to] were captured, as offsets from `from`: what a
   * replica writes into the segment holding them (empty for frames captured before a restart).
   */
  captureTimes(index: number, from: number, to: number): CaptureTime[] {
    return this.captures.between(index, from, to);
  }

  private checkpointMode(): CheckpointMode | null {
    const ps = this.pageSize;
    const o = this.opts;
    const realWal = frameAlign(fileSize(this.walPath) ?? 0, ps);
    if (o.truncatePageCount > 0 && realWal >= walSize(ps, o.truncatePageCount)) return "TRUNCATE";
    if (o.maxCheckpointPageCount > 0 && this.shadowSize >= walSize(ps, o.maxCheckpointPageCount))
      return "RESTART";
    if (this.shadowSize >= walSize(ps, o.minCheckpointPageCount)) return "PASSIVE";
    if (o.checkpointIntervalMs > 0 && this.shadowSize > walSize(ps, 1)) {
      const mtime = fs.statSync(this.path).mtimeMs;
      if (Date.now() - mtime > o.checkpointIntervalMs) return "PASSIVE";
    }
    return null;
  }

  /**
   * Moves the WAL into the database file so the next write restarts it. First without blocking anyone;
   * when the application keeps appending (a write flood), the checkpoint never catches up with it, so we
   * then hold the write lock for a moment, copy the last frames and checkpoint everything. Either way
   * our read transaction then moves to the end (see capture), where it no longer stands in the way of
   * the restart. `mode` is Litestream's name for the threshold that triggered it (metrics, logs).
   */
  checkpoint(mode: CheckpointMode, urgent = false): void {
    if (this.checkpointHolds > 0 || !this.conn) return;
    const stats = this.stats.checkpoints[mode];
    const started = performance.now();
    let result: CheckpointResult;
    try {
      this.capture();
      result = this.checkpointPassive();
      // Urgent (the WAL is past half the bound) skips the pacing gap, never the back-off after a failure:
      // holding the writers again and again for a checkpoint that cannot finish would only stall them.
      const now = Date.now();
      if (
        !this.caughtUp(result) &&
        now >= this.blockedUntil &&
        (urgent || now >= this.nextBlockingCheckpointAt)
      ) {
        // Copy what arrived during that checkpoint first, so the writers wait for as little as possible.
        this.capture();
        result = this.checkpointHoldingWriters() ?? result;
        if (complete(result)) this.nextBlockingCheckpointAt = Date.now() + BLOCKING_CHECKPOINT_GAP_MS;
        else this.blockedUntil = Date.now() + BLOCKED_CHECKPOINT_BACKOFF_MS;
      }
      this.capture();
      if (this.caughtUp(result)) this.checkpointedTo = this.shadowSize;
    } catch (err) {
      stats.errors++;
      throw err;
    } finally {
      stats.count++;
      stats.seconds += (performance.now() - started) / 1000;
    }
    this.log.debug("checkpoint", { db: this.path, mode, ...result });
  }

  /**
   * Whether a checkpoint moved the whole WAL into the database file and nothing was appended after our
   * last capture: then the application's next write restarts the WAL. A flood appends all the time, so a
   * checkpoint that was complete when it ran is not enough.
   */
  private caughtUp(r: CheckpointResult): boolean {
    return complete(r) && r.log === (this.shadowSize - WAL_HEADER_SIZE) / frameSize(this.pageSize);
  }

  /** A PASSIVE checkpoint on the reader connection that is not holding our read transaction. */
  private checkpointPassive(): CheckpointResult {
    try {
      return checkpoint(this.readers![this.reading === 0 ? 1 : 0], "PASSIVE");
    } finally {
      // Ending our checkpoint let go of the lock (shm-locks.ts). An application commit may be trying it
      // this very moment; with nothing for it to copy, it lets go within microseconds.
      this.shmLocks?.take("checkpoint", CHECKPOINT_LOCK_RETAKE_MS);
    }
  }

  /**
   * Takes the write lock (trying for at most WRITER_LOCK_TIMEOUT_MS), so nothing is appended while we
   * copy the last frames and checkpoint all of them; null when the application held the lock all along.
   */
  private checkpointHoldingWriters(): CheckpointResult | null {
    const locks = this.shmLocks;
    // Backpressure may hold the writers already; then the lock stays taken when we are done.
    const already = this.writersHeldSince !== null;
    const held =
      already ||
      (locks
        ? locks.take("write", WRITER_LOCK_TIMEOUT_MS)
        : tryBeginImmediate(this.conn!, WRITER_LOCK_TIMEOUT_MS));
    if (!held) return null;
    try {
      this.capture();
      const deadline = performance.now() + CHECKPOINT_LOCK_TIMEOUT_MS;
      let result = this.checkpointPassive();
      let retried = false;
      while (!complete(result) && performance.now() < deadline) {
        if (result.busy !== 0) {
          // An application checkpoint still running (begun before we took the lock) makes ours fail at
          // once. Waiting costs the application nothing, its writer is the one running it; its fsync can
          // take a while on a busy disk.
          Bun.sleepSync(1);
        } else if (!retried) {
          // A reader mark short of the end: ours, when every read-mark slot was taken as it began.
          retried = true;
          this.capture();
        } else {
          break; // someone else's read transaction: do not keep the writers waiting for it
        }
        result = this.checkpointPassive();
      }
      // Still holding the writers back: move our read transaction past the checkpointed WAL first, or
      // the next writer would find it in the way and append instead of restarting.
      this.capture();
      return result;
    } finally {
      // A hold of backpressure's stays: it releases the lock itself.
      if (!already) {
        if (locks) locks.release("write");
        else this.conn!.run("ROLLBACK");
      }
    }
  }

  /**
   * Backpressure: takes the application's write lock (trying for at most WRITER_LOCK_TIMEOUT_MS) and keeps
   * it until releaseWriters, so commits wait (for as long as their busy_timeout allows) while the replicas
   * catch up. Only where SQLite's locks can be taken from outside it (shm-locks.ts); false elsewhere, or
   * when the application held the lock all along.
   */
  holdWriters(): boolean {
    if (this.writersHeldSince !== null) return true;
    if (!this.shmLocks?.take("write", WRITER_LOCK_TIMEOUT_MS)) return false;
    this.writersHeldSince = performance.now();
    this.stats.writerHolds++;
    return true;
  }

  releaseWriters(): void {
    if (this.writersHeldSince === null) return;
    this.stats.writerHoldSeconds += (performance.now() - this.writersHeldSince) / 1000;
    this.writersHeldSince = null;
    this.shmLocks?.release("write");
  }

  /**
   * Bytes captured into the shadow WAL that the replica furthest behind has not uploaded yet; 0 while a
   * replica has no position in this generation (its snapshot is still going up), which holds no backlog.
   */
  backlogBytes(): number {
    const floor = this.replicaFloor();
    if (!floor || floor.generation !== this.generation || !this.generation) return 0;
    if (floor.index === this.shadowIndex) return Math.max(0, this.shadowSize - floor.offset);
    let total = this.shadowSize - WAL_HEADER_SIZE;
    for (let index = floor.index; index < this.shadowIndex; index++) {
      const size = fileSize(this.shadowPath(index)) ?? 0;
      total += Math.max(0, size - (index === floor.index ? floor.offset : WAL_HEADER_SIZE));
    }
    return total;
  }

  /**
   * Says when the WAL session passes maxWalBytes after all, and why: one line per episode. The exceptions
   * the bound cannot cover are a snapshot reading the database file (checkpoints wait for it), a read
   * transaction of the application's that keeps the WAL from restarting, and a single transaction larger
   * than the bound (it cannot be captured before its commit).
   */
  private reportBound(): void {
    const bound = this.opts.maxWalBytes;
    if (bound <= 0) return;
    // A session checkpointed to its end restarts at the next write, however long it is.
    const over = this.shadowSize > bound && this.shadowSize > this.checkpointedTo;
    if (over && !this.overBound) {
      this.log.warn("the wal is past max-wal-size", {
        db: this.path,
        wal_bytes: this.shadowSize,
        max_wal_size: bound,
        reason:
          this.checkpointHolds > 0
            ? "a snapshot is reading the database file; checkpoints wait for it"
            : "a checkpoint could not restart the wal: an application read transaction, or one transaction larger than the bound",
      });
    } else if (!over && this.overBound) {
      this.log.info("the wal is back within max-wal-size", { db: this.path, max_wal_size: bound });
    }
    this.overBound = over;
  }

  /**
   * Makes the WAL start over in a new shadow index, so that a snapshot taken now gets an index of its own:
   * snapshots are named by index, and a second one at the same index would replace the first (and with it
   * the older end of the restorable window). Copies everything, checkpoints it all while holding the
   * application's writers back for a moment (as a flood's checkpoint does), then writes to the database
   * so the WAL restarts. Returns false when the index could not move on: a snapshot is reading the file
   * (our checkpoints are held), the application kept the write lock, or one of its readers still uses
   * the WAL.
   */
  startNewIndex(): boolean {
    if (!this.conn || this.checkpointHolds > 0 || !this.generation) return false;
    const { generation, index } = { generation: this.generation, index: this.shadowIndex };
    const started = performance.now();
    this.capture();
    const result = this.checkpointHoldingWriters();
    if (result && complete(result)) {
      // The first write after a complete checkpoint restarts the WAL (unless the application's came first).
      this.conn.run(SEQ_UPSERT);
      this.capture();
      this.notify();
    }
    const moved = this.generation === generation && this.shadowIndex > index;
    this.log.debug("new wal index for a snapshot", {
      db: this.path,
      index: this.shadowIndex,
      moved,
      elapsed_ms: Math.round((performance.now() - started) * 10) / 10,
    });
    return moved;
  }

  /** Makes the next sync start a new generation (a replica found it cannot continue the current one). */
  requestNewGeneration(reason: string): void {
    this.forcedReason = reason;
  }

  /**
   * Blocks our own checkpoints, and keeps our read transaction where it is, while a snapshot reads the
   * database file: nothing past the shadow's end can reach the file meanwhile. Returns the release function.
   */
  holdCheckpoints(): () => void {
    this.checkpointHolds++;
    let released = false;
    return () => {
      if (!released) this.checkpointHolds--;
      released = true;
    };
  }

  /** Reads the database file through the long-lived descriptor. */
  readDatabase(position: number, length: number): Uint8Array {
    if (this.fd === undefined) throw new Error("database is not open");
    return readAt(this.fd, position, length);
  }

  databaseSize(): number {
    if (this.fd === undefined) throw new Error("database is not open");
    return fs.fstatSync(this.fd).size;
  }

  /** Deletes other generations' shadow files and shadow indexes no replica needs any more. */
  private clean(): void {
    const gensDir = path.join(this.metaPath, "generations");
    let gens: string[] = [];
    try {
      gens = fs.readdirSync(gensDir);
    } catch {}
    for (const g of gens) {
      if (g !== this.generation) fs.rmSync(path.join(gensDir, g), { recursive: true, force: true });
    }
    const floor = this.replicaFloor();
    if (!floor || floor.generation !== this.generation) return;
    this.captures.forget(floor.index, floor.offset);
    if (floor.index <= 1) return;
    const walDir = path.join(gensDir, this.generation, "wal");
    let names: string[] = [];
    try {
      names = fs.readdirSync(walDir);
    } catch {}
    for (const n of names) {
      const p = parseShadowWalName(n);
      // Keep one index below the slowest replica, as Litestream does.
      if (p && p.index < floor.index - 1) fs.rmSync(path.join(walDir, n), { force: true });
    }
  }

  private removeTmpFiles(dir: string): void {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) this.removeTmpFiles(p);
      else if (e.name.endsWith(".tmp")) fs.rmSync(p, { force: true });
    }
  }

  /** Releases the read lock, closes every handle and lets go of the process lock. Safe to call twice. */
  close(): void {
    this.closeDatabase();
    this.runMarker?.end();
    this.runMarker = undefined;
    this.processLock?.close();
    this.processLock = undefined;
  }

  /** Closes our connections and descriptors of the database file; the meta directory stays ours. */
  private closeDatabase(): void {
    this.releaseWriters();
    for (const reader of this.readers ?? []) {
      try {
        endRead(reader);
      } catch {}
      reader.close();
    }
    this.readers = undefined;
    this.reading = 0;
    this.conn?.close();
    this.conn = undefined;
    // Only now: closing the -shm descriptor drops every POSIX lock of ours on it (see shm-locks.ts).
    this.shmLocks?.close();
    this.shmLocks = null;
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
    this.missingLogged = false;
    this.shadowKnown = false;
  }
}

/** Starts a read transaction: the WAL frames it can see stay where they are until it ends. */
function beginRead(db: Database): void {
  db.run("BEGIN");
  try {
    db.query("SELECT COUNT(1) FROM _litestream_seq").values();
  } catch (err) {
    db.run("ROLLBACK");
    throw err;
  }
}

function endRead(db: Database): void {
  if (db.inTransaction) db.run("ROLLBACK");
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

/** Whether a checkpoint moved every frame of the WAL into the database file. */
function complete(r: CheckpointResult): boolean {
  return r.busy === 0 && r.checkpointed === r.log;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
