/**
 * One replica of one database: uploads the shadow WAL as LZ4-framed segments, takes a snapshot when a
 * generation has none, and recovers its position from the remote listing after a restart or an error.
 */
import { isAgeFile } from "../format/age.ts";
import { concatBytes } from "../format/bytes.ts";
import { encodeCaptureTimes } from "../format/capture-times.ts";
import {
  compareIndexOffset,
  formatPos,
  hex8,
  MAX_SEGMENT_CONTENT_BYTES,
  type Pos,
  walSegmentPath,
} from "../format/layout.ts";
import {
  decodeLz4FrameStream,
  encodeLz4Frame,
  Lz4FormatError,
  Lz4FrameEncoder,
} from "../format/lz4-frame.ts";
import { fileSize } from "../io/file-io.ts";
import type { Logger } from "../observe/log.ts";
import { uploadGarbage } from "../runtime/garbage.ts";
import { frameAlign, lastTransactionEnd } from "../sqlite/wal.ts";
import { StorageError } from "../storage/object-store.ts";
import type { ReplicaClient, SnapshotInfo, WalSegmentInfo } from "../storage/replica-client.ts";
import { Reachability } from "./reachability.ts";
import { NEW_GENERATION_NEXT, ReplicaStateError } from "./replica-state-error.ts";
import { knownEnd, ReplicaStateFile } from "./replica-state-file.ts";
import { compressedShadow, MAX_SEGMENT_BYTES, readShadow, transactionEndAfter } from "./shadow-segments.ts";
import type { ShadowSource } from "./shadow-source.ts";

/** Snapshot read size; each chunk is compressed as one 4 MiB LZ4 block. */
const SNAPSHOT_CHUNK_BYTES = 4 * 1024 * 1024;

export interface ReplicaOptions {
  name: string;
  client: ReplicaClient;
  syncIntervalMs: number;
  /** Keep snapshots (and the WAL after them) this long; 0 keeps everything. */
  retentionMs?: number;
  /** How often retention is enforced (capped at retentionMs). */
  retentionCheckIntervalMs?: number;
  /** Take a snapshot this often; 0 means only when needed. */
  snapshotIntervalMs?: number;
  log: Logger;
}

export class Replica {
  readonly name: string;
  readonly client: ReplicaClient;
  /** Last position known to be uploaded; null means "recompute from the remote listing". */
  pos: Pos | null = null;
  lastSuccess: Date | null = null;
  /** When this replica last held everything the shadow WAL had (the basis of lag and health). */
  caughtUpAt: Date | null = null;
  readonly stats = { syncCount: 0, syncErrorCount: 0, walBytes: 0, bytesUploaded: 0 };
  /** Kept by the replicator (start-up check and sync loop): whether the last attempt went through. */
  readonly reachability = new Reachability();
  private readonly log: Logger;
  private queue: Promise<void> = Promise.resolve();
  private readonly startedAt = Date.now();
  /** Where an encrypted replica's newest segment ends, kept locally (it cannot be read back without identities). */
  private readonly state: ReplicaStateFile;

  constructor(
    readonly db: ShadowSource,
    readonly opts: ReplicaOptions,
  ) {
    this.name = opts.name;
    this.client = opts.client;
    this.log = opts.log.with({ db: db.path, replica: opts.name });
    this.state = new ReplicaStateFile(db.metaPath, opts.name);
  }

  /** Runs `fn` after every earlier operation on this replica: sync, snapshot, retention and validation share `pos`. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    const settled = () => {};
    this.queue = run.then(settled, settled);
    return run;
  }

  /** Uploads everything the shadow WAL holds beyond our position. On failure the position is recomputed next time. */
  sync(): Promise<void> {
    return this.exclusive(() => this.syncInTurn());
  }

  /** sync() for a caller inside exclusive() (validator.ts): uploads up to the position the shadow WAL has now. */
  async syncInTurn(): Promise<void> {
    this.stats.syncCount++;
    try {
      await this.syncOnce();
      this.lastSuccess = new Date();
      if (this.isCaughtUp()) this.caughtUpAt = this.lastSuccess;
    } catch (err) {
      this.stats.syncErrorCount++;
      this.pos = null;
      throw err;
    }
  }

  /** Whether everything in the shadow WAL has been uploaded. */
  isCaughtUp(): boolean {
    const d = this.db.pos();
    const p = this.pos;
    return !!d && !!p && d.generation === p.generation && d.index === p.index && d.offset === p.offset;
  }

  /** Seconds since this replica last held everything committed locally; 0 when it does now. */
  lagSeconds(now = Date.now()): number {
    if (this.isCaughtUp()) return 0;
    const since = this.caughtUpAt?.getTime() ?? this.startedAt;
    return Math.max(0, (now - since) / 1000);
  }

  /** Takes a snapshot now (the snapshot interval's and retention's entry point). */
  snapshotNow(): Promise<void> {
    return this.exclusive(async () => {
      try {
        await this.snapshotCurrentGeneration();
      } catch (err) {
        this.pos = null;
        throw err;
      }
    });
  }

  /**
   * Applies the retention policy (Litestream 0.3.13, reference §5): keep snapshots younger than
   * `retentionMs` (taking a new one if none is), delete generations without a retained snapshot, and in
   * the others delete snapshots and WAL segments below the oldest retained snapshot's index.
   */
  enforceRetention(retentionMs: number, now = new Date()): Promise<void> {
    return this.exclusive(async () => {
      const threshold = now.getTime() - retentionMs;
      const generations = await this.client.generations();
      const snapshots = (await Promise.all(generations.map((g) => this.client.snapshots(g)))).flat();
      let retained = snapshots.filter((s) => s.createdAt.getTime() >= threshold);
      if (retained.length === 0) {
        const taken = await this.snapshotCurrentGeneration();
        if (!taken) return;
        retained = [taken];
      }
      for (const generation of await this.client.generations()) {
        const kept = retained.filter((s) => s.generation === generation);
        if (kept.length === 0) {
          await this.client.deleteGeneration(generation);
          this.log.info("generation deleted by retention", { generation });
          continue;
        }
        const minIndex = Math.min(...kept.map((s) => s.index));
        const oldSnapshots = (await this.client.snapshots(generation)).filter((s) => s.index < minIndex);
        for (const snap of oldSnapshots) await this.client.deleteSnapshot(generation, snap.index);
        const oldSegments = (await this.client.walSegments(generation)).filter((s) => s.index < minIndex);
        if (oldSegments.length > 0) await this.client.deleteWalSegments(oldSegments);
        if (oldSnapshots.length + oldSegments.length > 0) {
          this.log.info("retention deleted old objects", {
            generation,
            below_index: hex8(minIndex),
            snapshots: oldSnapshots.length,
            wal_segments: oldSegments.length,
          });
        }
      }
    });
  }

  private async syncOnce(): Promise<void> {
    const dpos = this.db.pos();
    if (!dpos) return;
    if (this.pos?.generation !== dpos.generation) await this.enterGeneration(dpos.generation);
    // Only what was there when the sync began: chasing commits that land during a slow upload would turn
    // one upload per sync interval into one after another.
    await this.uploadWal(dpos);
  }

  /** Finds where the remote copy of `generation` ends, snapshotting first if it has no snapshot. */
  private async enterGeneration(generation: string): Promise<void> {
    this.pos = null;
    const [snapshots, segments] = await Promise.all([
      this.client.snapshots(generation),
      this.client.walSegments(generation),
    ]);
    const remoteEnd = await this.remoteEnd(generation, segments);
    if (snapshots.length > 0) {
      const latest = snapshots[snapshots.length - 1]!;
      this.pos = remoteEnd ?? { generation, index: latest.index, offset: 0 };
      this.checkNotAhead();
      return;
    }
    await this.snapshot(remoteEnd);
  }

  /** Snapshots the database's current generation (after finding our place in it); null before the first sync. */
  private async snapshotCurrentGeneration(): Promise<SnapshotInfo | null> {
    const dpos = this.db.pos();
    if (!dpos) return null;
    if (this.pos?.generation !== dpos.generation) await this.enterGeneration(dpos.generation);
    await this.ownIndexForSnapshot();
    return this.snapshot();
  }

  /**
   * Uploads a snapshot of the database. The WAL segments up to the snapshot's position go up first, so
   * any point in time at or after the snapshot's creation has every frame the snapshot may contain.
   */
  private async snapshot(remoteEnd: Pos | null = null): Promise<SnapshotInfo> {
    const release = this.db.holdCheckpoints();
    try {
      const at = this.db.pos();
      if (!at) {
        throw new ReplicaStateError("no generation to snapshot", {
          code: "no-generation",
          operation: "snapshot",
          subject: this.name,
          hint: "nothing to do: the snapshot is taken at a later sync, once the database has a generation",
        });
      }
      const started = Date.now();
      if (this.pos?.generation !== at.generation) {
        this.pos =
          remoteEnd && remoteEnd.generation === at.generation && remoteEnd.index >= at.index
            ? remoteEnd
            : { generation: at.generation, index: at.index, offset: 0 };
      }
      this.checkNotAhead();
      // WAL up to `at` goes first; the database file read afterwards holds no page newer than `at`: our
      // own checkpoints are held, and others can backfill only up to our read mark, which is ≤ `at`.
      await this.uploadWal(at);
      const size = this.db.databaseSize();
      const info = await this.client.writeSnapshotStream(
        at.generation,
        at.index,
        this.compressedDatabase(size),
      );
      if (this.db.pos()?.generation !== at.generation) {
        throw new ReplicaStateError("generation changed during snapshot", {
          code: "generation-changed",
          operation: "snapshot",
          subject: this.name,
          hint: "nothing to do: the next sync snapshots the new generation",
        });
      }
      this.stats.bytesUploaded += info.size;
      uploadGarbage.count(info.size);
      this.log.info("snapshot written", {
        position: formatPos(at),
        size: info.size,
        db_size: size,
        elapsed_ms: Date.now() - started,
      });
      return info;
    } finally {
      release();
    }
  }

  /**
   * A snapshot is named by its WAL index: when this replica already holds one at the database's current
   * index, the WAL is made to start a new index first, or the new snapshot would replace the old one and
   * retention would keep less than it promises.
   */
  private async ownIndexForSnapshot(): Promise<void> {
    const at = this.db.pos();
    if (!at) return;
    const taken = await this.client.snapshots(at.generation);
    const now = this.db.pos();
    if (!now || !taken.some((s) => s.generation === now.generation && s.index === now.index)) return;
    if (!this.db.startNewIndex()) {
      throw new ReplicaStateError(
        `Cannot take a snapshot on replica ${this.name} now: it already holds one at WAL index ${hex8(now.index)}, and the WAL could not start a new index (another snapshot is being read, or the application holds the WAL)`,
        {
          code: "snapshot-deferred",
          operation: "snapshot",
          subject: this.name,
          hint: "nothing to do: the snapshot is taken at the next attempt",
        },
      );
    }
  }

  /** The first `size` bytes of the database file as LZ4 frame pieces, read and compressed chunk by chunk. */
  private async *compressedDatabase(size: number): AsyncGenerator<Uint8Array> {
    const encoder = new Lz4FrameEncoder();
    for (let off = 0; off < size; off += SNAPSHOT_CHUNK_BYTES) {
      yield* encoder.push(this.db.readDatabase(off, Math.min(SNAPSHOT_CHUNK_BYTES, size - off)));
      // Let other work and signals run between chunks of a large database.
      await new Promise((r) => setImmediate(r));
    }
    yield* encoder.finish();
  }

  /**
   * The end of the last uploaded segment of a generation, or null. An encrypted replica's comes from the
   * local state when that describes the very object listed; otherwise the segment is downloaded and
   * decoded to learn its length. A download that fails is retried by the next sync; an object that
   * downloads but does not decode is damage (a store that filled its disk left it truncated), and see
   * unreadableNewest for what then. A generation whose newest object is of the other kind (encrypted
   * versus plain) or cannot be read is not continued: see otherGeneration.
   */
  private async remoteEnd(generation: string, segments: WalSegmentInfo[]): Promise<Pos | null> {
    const last = segments[segments.length - 1];
    if (!last) return null;
    const key = walSegmentPath("", generation, last.index, last.offset);
    const encryptor = this.client.encryptor;
    if (encryptor) {
      const known = this.state.read();
      if (known?.generation === generation && known.recipients !== encryptor.fingerprint)
        this.otherGeneration(generation, "the age recipients changed since it was written");
      const end = knownEnd(known, last);
      if (end) return end;
    }
    const stored = await this.client.storedWalSegment(generation, last.index, last.offset);
    if (!stored) {
      throw new ReplicaStateError(`wal segment ${key} vanished while reading`, {
        code: "segment-vanished",
        operation: "sync",
        subject: this.name,
        hint: "nothing to do: the next sync lists the replica again; if this repeats, check that nothing else deletes objects under this replica's path (another replicator, a lifecycle rule)",
      });
    }
    const encrypted = isAgeFile(stored);
    if (encrypted && !encryptor)
      this.otherGeneration(
        generation,
        `its newest object ${key} is encrypted (age), and this replica is configured without encryption`,
      );
    if (!encrypted && encryptor)
      this.otherGeneration(
        generation,
        `its newest object ${key} is not encrypted, and this replica is configured with age recipients (Litestream writes plain objects when its config keeps the keys in recipients-file, which it ignores)`,
      );
    if (encrypted && !this.client.canDecrypt)
      this.otherGeneration(
        generation,
        `this node's record of where its newest object ${key} ends is gone or about another object, and without an age identity that object cannot be read`,
      );
    let length: number;
    try {
      const bytes = await this.client.decrypt(key, stored);
      // Counted, not kept: memory stays at one block whatever the segment's size.
      length = decodeLz4FrameStream(bytes, () => {}, { maxOutputBytes: MAX_SEGMENT_CONTENT_BYTES });
    } catch (err) {
      if (!(err instanceof Lz4FormatError) && !(err instanceof StorageError && err.operation === "decrypt"))
        throw err;
      return this.unreadableNewest(last, key, err);
    }
    return { generation, index: last.index, offset: last.offset + length };
  }

  /**
   * Objects of two kinds never share a generation (a restore could not read them with one setting), and
   * a generation whose end cannot be found cannot be continued: the database starts a new generation,
   * and this sync fails saying why.
   */
  private otherGeneration(generation: string, reason: string): never {
    this.db.requestNewGeneration(reason);
    throw new ReplicaStateError(
      `Cannot continue generation ${generation} on replica ${this.name}: ${reason}; starting a new generation`,
      { code: "generation-abandoned", operation: "sync", subject: this.name, hint: NEW_GENERATION_NEXT },
    );
  }

  /**
   * The replica's newest WAL segment cannot be decoded: uploading after it would build on damage, and
   * finding our place needs its length. Where the shadow WAL still holds its range, it is uploaded again
   * from there (the same key, so it replaces the damaged object); otherwise the database starts a new
   * generation, and this sync fails saying why. (The older generation still restores up to its last
   * good object with -timestamp.)
   */
  private unreadableNewest(seg: WalSegmentInfo, key: string, err: Error): Pos {
    const local = this.db.pos();
    const shadow = fileSize(this.db.shadowPath(seg.index, seg.generation));
    const held =
      local?.generation === seg.generation &&
      shadow !== null &&
      frameAlign(shadow, this.db.pageSize) > seg.offset &&
      compareIndexOffset(seg, local) < 0;
    if (held) {
      this.log.warn("newest wal segment is unreadable; uploading it again from the shadow wal", {
        key,
        error: err.message,
      });
      return { generation: seg.generation, index: seg.index, offset: seg.offset };
    }
    const reason = `the newest wal segment ${key} is unreadable and the shadow wal no longer holds it`;
    this.db.requestNewGeneration(reason);
    throw new ReplicaStateError(
      `Cannot continue generation ${seg.generation} on replica ${this.name}: ${reason} (${err.message}); starting a new generation`,
      {
        code: "generation-abandoned",
        operation: "sync",
        subject: this.name,
        hint: NEW_GENERATION_NEXT,
        cause: err,
      },
    );
  }

  /** A remote that is ahead of the local shadow WAL (local state rolled back) cannot be continued. */
  private checkNotAhead(): void {
    const local = this.db.pos();
    const pos = this.pos;
    if (!local || !pos || pos.generation !== local.generation) return;
    if (compareIndexOffset(pos, local) > 0) {
      this.db.requestNewGeneration("replica is ahead of local state");
      throw new ReplicaStateError(
        `replica position ${formatPos(pos)} is ahead of the local shadow wal ${formatPos(local)}; starting a new generation`,
        {
          code: "replica-ahead",
          operation: "sync",
          subject: this.name,
          hint: `${NEW_GENERATION_NEXT}; the local state is older than the replica (a disk or VM snapshot rolled back, or a copy of this database replicating to the same path)`,
        },
      );
    }
  }

  /** Uploads shadow WAL bytes from our position up to `target` (default: the database's current position). */
  private async uploadWal(target?: Pos): Promise<void> {
    for (;;) {
      const end = target ?? this.db.pos();
      const pos = this.pos;
      if (!end || !pos || pos.generation !== end.generation) return;
      if (compareIndexOffset(pos, end) >= 0) return;

      const shadowPath = this.db.shadowPath(pos.index, pos.generation);
      const raw = fileSize(shadowPath);
      if (raw === null) {
        this.db.requestNewGeneration("shadow wal needed by a replica is missing");
        throw new ReplicaStateError(`shadow wal ${shadowPath} is missing; starting a new generation`, {
          code: "shadow-wal-missing",
          operation: "sync",
          subject: this.name,
          hint: `${NEW_GENERATION_NEXT}; if this repeats, check that nothing else deletes files in ${this.db.metaPath}`,
        });
      }
      const available = pos.index === end.index ? end.offset : frameAlign(raw, this.db.pageSize);
      if (pos.offset >= available) {
        this.pos = { generation: pos.generation, index: pos.index + 1, offset: 0 };
        continue;
      }
      const started = Date.now();
      const { size, stored } = await this.uploadSegment(pos, shadowPath, available);
      this.pos = { ...pos, offset: pos.offset + size };
      const encryptor = this.client.encryptor;
      if (encryptor)
        this.state.write({ ...pos, size: stored, end: pos.offset + size, recipients: encryptor.fingerprint });
      this.stats.walBytes += size;
      this.stats.bytesUploaded += stored;
      uploadGarbage.count(stored);
      // One line per object at info, as Litestream does: a healthy log never looks stalled.
      this.log.info("wal segment written", {
        position: formatPos(pos),
        size,
        elapsed_ms: Date.now() - started,
      });
    }
  }

  /**
   * Uploads one segment of shadow index `pos.index` from `pos.offset`, and returns its content's size and
   * its stored size. A segment ends where a transaction does: at the last commit frame within
   * MAX_SEGMENT_BYTES, or, when one transaction is larger, at its own commit frame (that segment is read and
   * compressed piece by piece). Objects are written whole, so the replica never ends inside a transaction,
   * wherever an upload stops, and a restore that reads to the end of an index can insist on a commit.
   * The times its commits were captured go in front (format/capture-times.ts), for point-in-time restores.
   */
  private async uploadSegment(
    pos: Pos,
    shadowPath: string,
    available: number,
  ): Promise<{ size: number; stored: number }> {
    const pageSize = this.db.pageSize;
    const data = readShadow(shadowPath, pos.offset, Math.min(available - pos.offset, MAX_SEGMENT_BYTES));
    const end = lastTransactionEnd(data, pos.offset, pageSize);
    if (end !== null) {
      const lz4 = encodeLz4Frame(data.subarray(0, end - pos.offset));
      const times = this.captureTimes(pos, end);
      const body = times ? concatBytes([times, lz4]) : lz4;
      const info = await this.client.writeWalSegment(pos, body);
      return { size: end - pos.offset, stored: info.size };
    }
    const longEnd = transactionEndAfter(shadowPath, pos.offset, available, pageSize);
    const info = await this.client.writeWalSegmentStream(
      pos,
      compressedShadow(shadowPath, pos.offset, longEnd, pageSize, this.captureTimes(pos, longEnd)),
    );
    return { size: longEnd - pos.offset, stored: info.size };
  }

  /** The capture-time records of the segment [pos.offset, end), or null when none are known. */
  private captureTimes(pos: Pos, end: number): Uint8Array | null {
    const times = this.db.captureTimes(pos.index, pos.offset, end);
    return times.length > 0 ? encodeCaptureTimes(times) : null;
  }
}
