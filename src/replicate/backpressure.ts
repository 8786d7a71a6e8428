/**
 * Backpressure for one database: when more than `max-wal-size` of what the application committed is
 * captured but not yet in every replica, walship holds the application's write lock while the replicas
 * catch up, so commits wait instead of the backlog growing without bound (past half of it, the replicas
 * are only told to upload without waiting for their sync interval). The WAL half of the bound is
 * kept by the checkpoints (checkpointer.ts).
 *
 * What the application feels: a commit waits for as long as its `busy_timeout` allows and then gets
 * SQLITE_BUSY, so a hold never lasts longer than MAX_HOLD_MS; the application's readers never wait.
 * A replica that does not answer turns backpressure off until it does: an outage must not stop the
 * application, so its backlog waits in the meta directory, as with Litestream.
 */
import type { Pos } from "../format/layout.ts";
import { fileSize } from "../io/file-io.ts";
import type { Logger } from "../observe/log.ts";
import { WAL_HEADER_SIZE } from "../sqlite/wal.ts";
import type { ReplicatedDatabase } from "./database.ts";
import type { Replica } from "./replica.ts";
import { replicaFloor } from "./replica-floor.ts";
import type { ShadowSource } from "./shadow-source.ts";
import { Signal } from "./signal.ts";

/** The longest single hold: well under the few seconds applications commonly set as busy_timeout. */
const MAX_HOLD_MS = 1_000;
/** A hold ends once the backlog is this share of the bound, so holds are few rather than one per commit. */
const RELEASE_SHARE = 0.75;
/** How often a hold looks at the replicas' progress. */
const HOLD_POLL_MS = 10;

export class Backpressure {
  /** Pulsed to cut the replicas' wait for their next sync interval short (replicator.ts waits on it). */
  readonly hurry = new Signal();
  private holding = false;
  /** Holds so far, for a log line now and then rather than one per hold. */
  private reported = 0;

  constructor(
    private readonly db: ReplicatedDatabase,
    private readonly replicas: readonly Replica[],
    private readonly bound: number,
    /** Fires when replication stops: a hold ends at once. */
    private readonly stopped: Signal,
    private readonly log: Logger,
  ) {}

  /**
   * Called after every capture. Past half the bound the replicas upload at once rather than at their next
   * sync interval: a flood fills an interval's batch faster than the bound allows, and waking them costs
   * the application nothing. Past the bound they cannot keep up: the writers are held.
   */
  check(): void {
    if (this.holding || this.stopped.fired || this.bound <= 0 || !this.db.isOpen || !this.replicasAnswer())
      return;
    const backlog = this.backlog();
    if (backlog <= this.bound / 2) return;
    this.hurry.pulse();
    if (backlog <= this.bound || !this.db.holdWriters()) return;
    this.holding = true;
    void this.hold(backlog);
  }

  private backlog(): number {
    return backlogBytes(this.db, replicaFloor({ db: this.db, replicas: this.replicas }));
  }

  private replicasAnswer(): boolean {
    return this.replicas.every((r) => r.reachability.reachable);
  }

  private async hold(backlog: number): Promise<void> {
    const started = performance.now();
    try {
      while (!this.stopped.fired && performance.now() - started < MAX_HOLD_MS) {
        // Again at every look: a replica that was uploading when the hold began waits for its next
        // interval only after that upload.
        this.hurry.pulse();
        await Signal.sleep(HOLD_POLL_MS, this.stopped);
        if (this.backlog() <= this.bound * RELEASE_SHARE || !this.replicasAnswer()) break;
      }
    } finally {
      this.db.releaseWriters();
      this.holding = false;
    }
    // The first hold, then one line per hundred: a flood holds many times a minute.
    if (this.reported++ % 100 === 0) {
      this.log.info("held the application's writers while the replicas caught up", {
        db: this.db.path,
        backlog_bytes: backlog,
        max_wal_size: this.bound,
        held_ms: Math.round(performance.now() - started),
        holds: this.db.stats.writerHolds,
      });
    }
  }
}

/**
 * Bytes captured into the shadow WAL past `floor`, the position of the replica furthest behind; 0 while
 * a replica has no position in this generation (its snapshot is still going up), which holds no backlog.
 */
export function backlogBytes(db: ShadowSource, floor: Pos | null): number {
  const end = db.pos();
  if (!end || !floor || floor.generation !== end.generation) return 0;
  if (floor.index === end.index) return Math.max(0, end.offset - floor.offset);
  let total = end.offset - WAL_HEADER_SIZE;
  for (let index = floor.index; index < end.index; index++) {
    const size = fileSize(db.shadowPath(index)) ?? 0;
    total += Math.max(0, size - (index === floor.index ? floor.offset : WAL_HEADER_SIZE));
  }
  return total;
}
