/**
 * The capture side for one database: holds a read transaction so no other connection can restart the
 * WAL past frames we have not copied, has the shadow writer copy committed frames into the shadow WAL
 * (shadow-writer.ts; a new generation whenever continuity.ts cannot prove the position continues) and the
 * checkpointer run checkpoints by policy (checkpointer.ts). Every method here is synchronous: replicas
 * never observe a half-updated shadow WAL.
 *
 * The read transaction moves forward with every capture without ever being let go (two connections
 * take turns, see `capture`), so checkpoints keep the WAL small and a write flood cannot make it grow
 * without bound. (Litestream lets go of its lock to checkpoint; a writer that restarts the WAL in that
 * moment overwrites frames it has not copied yet.) Where SQLite's locks can be taken from outside it,
 * the checkpoints are ours alone while we run (shm-locks.ts); elsewhere the application's run too.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { CaptureTime } from "../format/capture-times.ts";
import type { Pos } from "../format/layout.ts";
import { fileSize, readAt, readFileAt } from "../io/file-io.ts";
import { errorMessage } from "../observe/error-text.ts";
import type { Logger } from "../observe/log.ts";
import { WAL_HEADER_SIZE, walSize } from "../sqlite/wal.ts";
import { Checkpointer, type CheckpointPolicy, complete } from "./checkpointer.ts";
import {
  beginRead,
  type CheckpointMode,
  checkpoint,
  closeOurConnections,
  endRead,
  type OurConnections,
  openConnection,
  openOurConnections,
} from "./connection.ts";
import { DatabaseFileGate } from "./database-file-gate.ts";
import { type DatabaseStats, newDatabaseStats } from "./database-stats.ts";
import { defaultMetaPath, MetaDirectory } from "./meta-directory.ts";
import { explainStateError } from "./meta-directory-error.ts";
import { OtherReplicatorError, otherWriterError, refuseSharedMetaDirectory } from "./other-replicator.ts";
import { PinnedState } from "./pinned-state.ts";
import { ProcessLock } from "./process-lock.ts";
import { replacedReason } from "./replaced-file.ts";
import { currentBootId, RunMarker } from "./run-marker.ts";
import type { ShadowSource } from "./shadow-source.ts";
import { ShadowWriter } from "./shadow-writer.ts";

export { DEFAULT_TRUNCATE_PAGE_COUNT } from "./checkpointer.ts";

export interface DatabaseOptions extends CheckpointPolicy {
  path: string;
  /** Meta directory; default `<dir>/.<name>-litestream`, the same place Litestream keeps its state. */
  metaPath?: string | undefined;
  log: Logger;
}

export type { DatabaseStats } from "./database-stats.ts";

const SEQ_UPSERT =
  "INSERT INTO _litestream_seq (id, seq) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET seq = seq + 1";

export class ReplicatedDatabase implements ShadowSource {
  readonly path: string;
  readonly walPath: string;
  readonly metaPath: string;
  private readonly meta: MetaDirectory;
  private readonly log: Logger;
  /** Refuses a file that is not an SQLite database, until it changes. */
  readonly fileGate: DatabaseFileGate;
  private readonly checkpointer: Checkpointer;

  private open: OurConnections | undefined;
  private processLock: ProcessLock | undefined;
  pageSize = 0;
  private readonly shadow: ShadowWriter;
  /** While > 0 (a snapshot is being read), our own checkpoints are skipped. */
  private checkpointHolds = 0;
  private missingLogged = false;
  readonly stats: DatabaseStats = newDatabaseStats();
  private runMarker: RunMarker | undefined;
  /** The position of the replica furthest behind, as of the last sync (null while one has none). */
  private floor: Pos | null = null;

  /** Bumped whenever the shadow WAL or generation changes; replicas wait on it. */
  private version = 0;
  private waiters: (() => void)[] = [];

  constructor(readonly opts: DatabaseOptions) {
    this.path = path.resolve(opts.path);
    this.walPath = `${this.path}-wal`;
    this.metaPath = opts.metaPath ?? defaultMetaPath(this.path);
    this.meta = new MetaDirectory(this.metaPath);
    this.fileGate = new DatabaseFileGate(this.path);
    this.log = opts.log;
    this.checkpointer = new Checkpointer(
      this.path,
      this.walPath,
      opts,
      this.stats,
      () => this.capture(),
      () => this.shadow.size,
      opts.log,
    );
    this.shadow = new ShadowWriter(
      this.meta,
      this.path,
      this.walPath,
      this.stats,
      () => this.checkpointer.newIndex(),
      opts.log,
    );
  }

  /** The generation being replicated; "" before the first. */
  get generation(): string {
    return this.shadow.generation;
  }

  get isOpen(): boolean {
    return this.open !== undefined;
  }

  /** The current replication position: generation, highest shadow index and its committed size. */
  pos(): Pos | null {
    return this.shadow.pos();
  }

  shadowPath(index: number, generation = this.generation): string {
    return this.shadow.path(index, generation);
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

  /** Makes sure no other walship process replicates this database (process-lock.ts). Safe to call again. */
  lockProcess(): void {
    if (this.processLock) return;
    this.meta.ensure();
    this.processLock = ProcessLock.take(this.meta.lockPath, this.path);
  }

  /** Refuses a database that Litestream replicates too (other-replicator.ts). */
  refuseSharedMetaDirectory(): void {
    refuseSharedMetaDirectory(this.path, this.metaPath);
  }

  /**
   * When the path names another file than the one we have open (replaced-file.ts), the next SQLite to
   * open the new file would read the old WAL's frames as if they were its own. So: empty that WAL through
   * our old connection (a TRUNCATE checkpoint, into the old file, which also resets the shared index), let
   * go of everything, and start a new generation from whatever file the path names now (once one exists).
   */
  private letGoIfReplaced(): void {
    const reason = this.open ? replacedReason(this.open.fd, this.path) : null;
    if (!reason || !this.open) return;
    this.log.warn("database file replaced; starting over with the file its path names now", {
      db: this.path,
      reason,
    });
    try {
      for (const reader of this.open.readers) endRead(reader);
      const result = checkpoint(this.open.conn, "TRUNCATE");
      if (result.busy !== 0) {
        this.log.warn("the replaced database's WAL is still in use and was not emptied", { db: this.path });
      }
    } catch (err) {
      this.log.warn("cannot empty the replaced database's WAL", { db: this.path, error: errorMessage(err) });
    }
    this.closeDatabase();
    this.shadow.forcedReason = reason;
  }

  /** Opens the database if it exists and is not open yet. Returns whether it is open. */
  private init(): boolean {
    if (this.open) return true;
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
      this.openConnections();
      this.meta.ensure();
      this.meta.removeTmpFiles();
      const boot = currentBootId();
      if (boot !== null && !this.runMarker) {
        this.runMarker = new RunMarker(this.meta.runMarkerPath);
        if (this.runMarker.begin(boot)) this.shadow.forcedReason = "machine restarted while replicating";
        this.shadow.fsync = false;
      }
      this.shadow.resume();
      this.shadow.clean(this.floor);
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

  private openConnections(): void {
    const open = openOurConnections(this.path, this.log);
    this.open = open;
    this.pageSize = open.pageSize;
    this.checkpointer.attach({
      conn: open.conn,
      idleReader: () => open.readers[open.reading === 0 ? 1 : 0],
      shmLocks: open.shmLocks,
      pageSize: open.pageSize,
    });
  }

  /**
   * One capture step: verify continuity, copy new committed frames into the shadow WAL, checkpoint by
   * policy, and wake the replicas when anything changed. `floor` is the position of the replica furthest
   * behind (null while one has none): what lies before it is deleted. Returns false while the database is
   * missing or refused (database-file-gate.ts).
   */
  sync(floor: Pos | null = null): boolean {
    this.floor = floor;
    this.letGoIfReplaced();
    if (!this.init()) return false;
    const started = performance.now();
    try {
      this.syncOpen();
      return true;
    } catch (err) {
      this.stats.syncErrorCount++;
      if (err instanceof OtherReplicatorError) this.closeDatabase();
      throw explainStateError(err, this.metaPath);
    } finally {
      this.stats.syncCount++;
      this.stats.syncSeconds += (performance.now() - started) / 1000;
    }
  }

  private syncOpen(): void {
    const generationFile = this.meta.generationFile;
    if (generationFile.changedByOthers()) throw otherWriterError(this.path, `changed ${generationFile.path}`);
    const before = this.pos();
    // Past the checkpoint threshold our read transaction stays put until our checkpoint moves it: each
    // move lets the application's next commit checkpoint (and fsync) the frames before it, which under a
    // write flood costs the application a checkpoint every few commits instead of one per thousand.
    this.capture(this.shadow.size < walSize(this.pageSize, this.opts.minCheckpointPageCount));
    const due = this.checkpointer.due();
    if (due) this.checkpoint(due.mode, due.urgent);
    this.checkpointer.reportBound(this.checkpointHolds > 0);
    this.shadow.clean(this.floor);

    if (!samePos(before, this.pos())) this.notify();
  }

  /** A checkpoint now (checkpointer.ts), unless a snapshot is reading the database file. */
  checkpoint(mode: CheckpointMode, urgent = false): void {
    if (this.checkpointHolds > 0 || !this.open) return;
    this.checkpointer.run(mode, urgent);
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
    const open = this.open!;
    const move = moveReadLock && this.checkpointHolds === 0;
    const next = open.reading === 0 ? 1 : 0;
    if (move) beginRead(open.readers[next]);
    try {
      this.captureFrames();
    } catch (err) {
      if (move) endRead(open.readers[next]);
      throw err;
    }
    if (move) {
      endRead(open.readers[open.reading]);
      open.reading = next;
    }
  }

  private captureFrames(): void {
    const walBytes = fileSize(this.walPath);
    if (walBytes === null || walBytes < WAL_HEADER_SIZE) this.open!.conn.run(SEQ_UPSERT);
    this.shadow.capture(this.pageSize);
  }

  /** When the commits of shadow index `index` in (from, to] were captured (shadow-writer.ts). */
  captureTimes(index: number, from: number, to: number): CaptureTime[] {
    return this.shadow.captureTimes(index, from, to);
  }

  /** Backpressure: holds the application's writers until releaseWriters (checkpointer.ts). */
  holdWriters(): boolean {
    return this.open !== undefined && this.checkpointer.holdWriters();
  }

  releaseWriters(): void {
    this.checkpointer.releaseWriters();
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
    if (!this.open || this.checkpointHolds > 0 || !this.generation) return false;
    const { generation, index } = { generation: this.generation, index: this.shadow.index };
    const started = performance.now();
    this.capture();
    const result = this.checkpointer.holdingWriters();
    if (result && complete(result)) {
      // The first write after a complete checkpoint restarts the WAL (unless the application's came first).
      this.open.conn.run(SEQ_UPSERT);
      this.capture();
      this.notify();
    }
    const moved = this.generation === generation && this.shadow.index > index;
    this.log.debug("new wal index for a snapshot", {
      db: this.path,
      index: this.shadow.index,
      moved,
      elapsed_ms: Math.round((performance.now() - started) * 10) / 10,
    });
    return moved;
  }

  /**
   * A read transaction of its own that sees exactly the shadow WAL's end, returned with it (pinned-state.ts),
   * for validation: begun with the application's writers held right after a capture, so no commit lies
   * between the two. The writers wait for a capture of what arrived since the one just before, a read of
   * the WAL header and a BEGIN. Our own read transaction stays where it is, as between checkpoints. Null
   * while the database is not open or the application kept its lock.
   */
  pinPosition(): PinnedState | null {
    if (!this.open) return null;
    const before = this.pos();
    this.capture(false);
    const conn = openConnection(this.path);
    let pinned: PinnedState | null = null;
    try {
      const held = this.checkpointer.whileWritersHeld(() => {
        this.capture(false);
        beginRead(conn);
        return { pos: this.pos(), walHeader: readFileAt(this.walPath, 0, WAL_HEADER_SIZE) };
      });
      if (held?.value.pos)
        pinned = new PinnedState(conn, held.value.pos, held.value.walHeader, held.heldMs, this);
    } finally {
      if (!pinned) {
        endRead(conn);
        conn.close();
      }
      if (!samePos(before, this.pos())) this.notify();
    }
    return pinned;
  }

  /** Makes the next sync start a new generation (a replica found it cannot continue the current one). */
  requestNewGeneration(reason: string): void {
    this.shadow.forcedReason = reason;
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
    if (!this.open) throw new Error("database is not open");
    return readAt(this.open.fd, position, length);
  }

  databaseSize(): number {
    if (!this.open) throw new Error("database is not open");
    return fs.fstatSync(this.open.fd).size;
  }

  /** Releases the read lock, closes every handle and lets go of the process lock. Safe to call twice. */
  close(): void {
    this.closeDatabase();
    this.runMarker?.end();
    this.runMarker = undefined;
    this.processLock?.release();
    this.processLock = undefined;
  }

  /** Closes our connections and descriptors of the database file; the meta directory stays ours. */
  private closeDatabase(): void {
    this.checkpointer.detach();
    const open = this.open;
    this.open = undefined;
    this.missingLogged = false;
    this.shadow.known = false;
    if (open) closeOurConnections(open);
  }
}

function samePos(a: Pos | null, b: Pos | null): boolean {
  return !!a && !!b && a.generation === b.generation && a.index === b.index && a.offset === b.offset;
}
