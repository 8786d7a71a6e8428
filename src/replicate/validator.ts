/**
 * Validation (`validation-interval`): every interval, restore one replica to a position and compare the
 * result with the database's own content at that same position, page by page (page-digest.ts). Works
 * through the ReplicaClient alone, so every backend gets it, encrypted replicas included.
 *
 * One run: (1) on the replica's turn (Replica.exclusive, so no sync, snapshot or retention runs between),
 * pin the database's content at the shadow WAL's end P (database.ts pinPosition: the application's
 * writers wait only for a capture and a BEGIN), upload up to exactly P, and plan a restore to P from the
 * listing; (2) digest the local pages at P through the pinned read transaction, and let it go; (3)
 * restore the plan into the meta directory, digest that copy, delete it; (4) compare. Planning on the
 * replica's turn matters: a snapshot taken after P at P's WAL index could hold pages newer than P.
 *
 * Unlike Litestream 0.3.13, which forces a RESTART checkpoint and checksums the whole file under its
 * lock, the writers never wait for the checksum, and the database's header is compared like any page
 * (restore writes page 1 as the WAL left it; the live file's bytes past the page count are not content).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { WalshipError } from "../errors/walship-error.ts";
import { formatPos, hex8, type Pos } from "../format/layout.ts";
import { readInto } from "../io/file-io.ts";
import { errorHint, errorMessage } from "../observe/error-text.ts";
import type { Logger } from "../observe/log.ts";
import { planRestore, type RestorePlan } from "../restore/plan.ts";
import { executeRestore } from "../restore/restore.ts";
import { DB_HEADER_SIZE, decodeDbHeader } from "../sqlite/db-header.ts";
import type { ReplicatedDatabase } from "./database.ts";
import { MetaDirectory } from "./meta-directory.ts";
import { digestPages, fileRuns, firstDifference, type PageDigest } from "./page-digest.ts";
import type { PinnedState } from "./pinned-state.ts";
import type { Replica } from "./replica.ts";

export type ValidationStatus = "ok" | "mismatch" | "error";

export interface ValidationStats {
  /** Runs by outcome; runs skipped (replica down, database closed, stop) are not counted. */
  runs: Record<ValidationStatus, number>;
  lastSuccessAt: Date | null;
  /** Bytes the restores downloaded (stored size: compressed, and encrypted when the replica is). */
  bytesDownloaded: number;
  /** How long the application's writers waited while a position was pinned, in all. */
  writerHoldSeconds: number;
}

/** The replica did not end up at the pinned position; nothing can be compared. */
export class ValidationError extends WalshipError<"position-not-reached" | "cancelled"> {
  override name = "ValidationError";
}

export class Validator {
  readonly name: string;
  readonly db: { readonly path: string };
  readonly stats: ValidationStats = {
    runs: { ok: 0, mismatch: 0, error: 0 },
    lastSuccessAt: null,
    bytesDownloaded: 0,
    writerHoldSeconds: 0,
  };
  private readonly log: Logger;
  private readonly dir: string;

  constructor(
    readonly replica: Replica,
    private readonly database: ReplicatedDatabase,
    readonly intervalMs: number,
    log: Logger,
  ) {
    this.name = replica.name;
    this.db = { path: database.path };
    this.log = log.with({ db: database.path, replica: replica.name });
    this.dir = new MetaDirectory(database.metaPath).validationPath(replica.name);
  }

  /** One validation; never throws. Null when skipped. `cancelled` says when replication stops. */
  async run(cancelled: () => boolean = () => false): Promise<ValidationStatus | null> {
    if (!this.replica.reachability.reachable) {
      this.log.debug("validation skipped: the replica is not reachable");
      return null;
    }
    const started = performance.now();
    let pinned: PinnedState | null = null;
    let at: Pos | null = null;
    try {
      const turn = await this.replica.exclusive(() => this.pinAndPlan());
      if (!turn) {
        this.log.info("validation skipped: the database is not open, or the application kept its write lock");
        return null;
      }
      pinned = turn.pinned;
      at = pinned.pos;
      this.stats.writerHoldSeconds += pinned.writersHeldMs / 1000;
      const pinnedAt = performance.now();
      const local = await pinned.digest();
      pinned.release();
      const pinnedMs = performance.now() - pinnedAt;
      if (cancelled()) throw new ValidationError("replication stops", { code: "cancelled" });
      const restored = await this.restoreDigest(turn.plan);
      const difference = firstDifference(local, restored.digest);
      const fields = {
        generation: at.generation,
        position: formatPos(at),
        index: hex8(at.index),
        offset: at.offset,
        db_checksum: local.sha256,
        replica_checksum: restored.digest.sha256,
      };
      if (difference !== null) {
        this.stats.runs.mismatch++;
        this.log.error("validation failed: the replica restores to other content than the database has", {
          ...fields,
          difference,
          pages: local.pageCount,
          hint: "something changed the replica's objects after upload (walship never rewrites one), or a restore from it would be wrong: check the storage, and keep this generation's objects for investigation",
        });
        return "mismatch";
      }
      this.stats.runs.ok++;
      this.stats.lastSuccessAt = new Date();
      // A healthy run is quiet at the default level.
      this.log.debug("validation ok", {
        ...fields,
        pages: local.pageCount,
        writers_held_ms: round(pinned.writersHeldMs),
        pinned_ms: round(pinnedMs),
        downloaded_bytes: restored.bytes,
        elapsed_ms: round(performance.now() - started),
      });
      return "ok";
    } catch (err) {
      if (cancelled()) {
        this.log.debug("validation cancelled: replication stops", { error: errorMessage(err) });
        return null;
      }
      this.stats.runs.error++;
      this.log.error("validation failed: the replica could not be restored and compared", {
        generation: at?.generation,
        position: at ? formatPos(at) : undefined,
        error: errorMessage(err),
        hint: errorHint(err),
      });
      return "error";
    } finally {
      pinned?.release();
      fs.rmSync(this.dir, { recursive: true, force: true });
    }
  }

  /**
   * On the replica's turn: pins the database's content, uploads up to exactly that position, and plans a
   * restore to it. Null when the position could not be pinned.
   */
  private async pinAndPlan(): Promise<{ pinned: PinnedState; plan: RestorePlan } | null> {
    const pinned = this.database.pinPosition();
    if (!pinned) return null;
    try {
      // Synchronously after the pin: this sync's target is the pinned position.
      await this.replica.syncInTurn();
      const pos = this.replica.pos;
      const at = pinned.pos;
      if (!pos || pos.generation !== at.generation || pos.index !== at.index || pos.offset !== at.offset) {
        throw new ValidationError(
          `replica ${this.name} is at ${pos ? formatPos(pos) : "no position"}, not at the pinned ${formatPos(at)}`,
          { code: "position-not-reached", operation: "validate", subject: this.name },
        );
      }
      return { pinned, plan: await this.planAt(at) };
    } catch (err) {
      pinned.release();
      throw err;
    }
  }

  /** The restore of generation `at.generation` up to `at` exactly: the newest snapshot at or below its index, and the segments before it. */
  private async planAt(at: Pos): Promise<RestorePlan> {
    const replica = { name: this.name, client: this.replica.client };
    const plan = await planRestore([replica], { generation: at.generation, index: at.index });
    const segments = plan.segments.filter((s) => s.index < at.index || s.offset < at.offset);
    const bytes = plan.snapshot.size + segments.reduce((sum, s) => sum + s.size, 0);
    return { ...plan, segments, bytes };
  }

  /** Restores `plan` into the validation directory and digests the copy; the directory goes afterwards. */
  private async restoreDigest(plan: RestorePlan): Promise<{ digest: PageDigest; bytes: number }> {
    fs.rmSync(this.dir, { recursive: true, force: true });
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const output = path.join(this.dir, "restored.db");
    // Our own digest is the check: SQLite's quick_check would read the copy once more.
    const result = await executeRestore(plan, { output, verify: "none", log: this.log });
    this.stats.bytesDownloaded += result.bytesDownloaded;
    const fd = fs.openSync(output, "r");
    try {
      const head = readInto(fd, new Uint8Array(DB_HEADER_SIZE), 0);
      const { pageSize } = decodeDbHeader(head);
      const pageCount = Math.floor(fs.fstatSync(fd).size / pageSize);
      return {
        digest: await digestPages(pageSize, pageCount, fileRuns(fd, pageSize, pageCount)),
        bytes: result.bytesDownloaded,
      };
    } finally {
      fs.closeSync(fd);
    }
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
