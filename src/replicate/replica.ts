/**
 * One replica of one database: uploads the shadow WAL as LZ4-framed segments, takes a snapshot when a
 * generation has none, and recovers its position from the remote listing after a restart or an error.
 */
import { concatBytes } from "../format/bytes.ts";
import { formatPos, type Pos } from "../format/layout.ts";
import { decodeLz4Frame, encodeLz4Frame, Lz4FrameEncoder } from "../format/lz4-frame.ts";
import { fileSize, readFileAt } from "../io/file-io.ts";
import type { Logger } from "../observe/log.ts";
import { frameAlign } from "../sqlite/wal.ts";
import type { ReplicaClient, WalSegmentInfo } from "../storage/replica-client.ts";
import type { ReplicatedDatabase } from "./database.ts";

/** Largest uncompressed WAL segment we upload; a bigger backlog goes up as several segments. */
export const MAX_SEGMENT_BYTES = 16 * 1024 * 1024;
/** Snapshot read size; each chunk is compressed as one 4 MiB LZ4 block. */
const SNAPSHOT_CHUNK_BYTES = 4 * 1024 * 1024;

export interface ReplicaOptions {
  name: string;
  client: ReplicaClient;
  syncIntervalMs: number;
  log: Logger;
}

export class Replica {
  readonly name: string;
  readonly client: ReplicaClient;
  /** Last position known to be uploaded; null means "recompute from the remote listing". */
  pos: Pos | null = null;
  lastSuccess: Date | null = null;
  private readonly log: Logger;

  constructor(
    readonly db: ReplicatedDatabase,
    readonly opts: ReplicaOptions,
  ) {
    this.name = opts.name;
    this.client = opts.client;
    this.log = opts.log.with({ db: db.path, replica: opts.name });
  }

  /** Uploads everything the shadow WAL holds beyond our position. On failure the position is recomputed next time. */
  async sync(): Promise<void> {
    try {
      await this.syncOnce();
      this.lastSuccess = new Date();
    } catch (err) {
      this.pos = null;
      throw err;
    }
  }

  private async syncOnce(): Promise<void> {
    const dpos = this.db.pos();
    if (!dpos) return;
    if (this.pos?.generation !== dpos.generation) await this.enterGeneration(dpos.generation);
    await this.uploadWal();
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

  /**
   * Uploads a snapshot of the database. The WAL segments up to the snapshot's position go up first, so
   * any point in time at or after the snapshot's creation has every frame the snapshot may contain.
   */
  async snapshot(remoteEnd: Pos | null = null): Promise<void> {
    const release = this.db.holdCheckpoints();
    try {
      const at = this.db.pos();
      if (!at) throw new Error("no generation to snapshot");
      const started = Date.now();
      const size = this.db.databaseSize();
      const encoder = new Lz4FrameEncoder();
      const pieces: Uint8Array[] = [];
      for (let off = 0; off < size; off += SNAPSHOT_CHUNK_BYTES) {
        pieces.push(...encoder.push(this.db.readDatabase(off, Math.min(SNAPSHOT_CHUNK_BYTES, size - off))));
        // Let uploads and signals run between chunks of a large database.
        if (off > 0) await new Promise((r) => setImmediate(r));
      }
      pieces.push(...encoder.finish());
      const lz4 = concatBytes(pieces);
      if (this.db.pos()?.generation !== at.generation) throw new Error("generation changed during snapshot");

      if (this.pos?.generation !== at.generation) {
        this.pos =
          remoteEnd && remoteEnd.generation === at.generation && remoteEnd.index >= at.index
            ? remoteEnd
            : { generation: at.generation, index: at.index, offset: 0 };
      }
      this.checkNotAhead();
      await this.uploadWal(at);
      const info = await this.client.writeSnapshot(at.generation, at.index, lz4);
      this.log.info("snapshot written", {
        position: formatPos(at),
        size: info.size,
        db_size: size,
        elapsed_ms: Date.now() - started,
      });
    } finally {
      release();
    }
  }

  /** The end of the last uploaded segment of a generation (downloads it to learn its length), or null. */
  private async remoteEnd(generation: string, segments: WalSegmentInfo[]): Promise<Pos | null> {
    const last = segments[segments.length - 1];
    if (!last) return null;
    const bytes = await this.client.readWalSegment(generation, last.index, last.offset);
    if (!bytes)
      throw new Error(`wal segment ${generation}/${last.index}:${last.offset} vanished while reading`);
    return { generation, index: last.index, offset: last.offset + decodeLz4Frame(bytes).length };
  }

  /** A remote that is ahead of the local shadow WAL (local state rolled back) cannot be continued. */
  private checkNotAhead(): void {
    const local = this.db.pos();
    const pos = this.pos;
    if (!local || !pos || pos.generation !== local.generation) return;
    if (pos.index > local.index || (pos.index === local.index && pos.offset > local.offset)) {
      this.db.requestNewGeneration("replica is ahead of local state");
      throw new Error(
        `replica position ${formatPos(pos)} is ahead of the local shadow wal ${formatPos(local)}; starting a new generation`,
      );
    }
  }

  /** Uploads shadow WAL bytes from our position up to `target` (default: the database's current position). */
  private async uploadWal(target?: Pos): Promise<void> {
    for (;;) {
      const end = target ?? this.db.pos();
      const pos = this.pos;
      if (!end || !pos || pos.generation !== end.generation) return;
      if (pos.index > end.index || (pos.index === end.index && pos.offset >= end.offset)) return;

      const shadowPath = this.db.shadowPath(pos.index, pos.generation);
      const raw = fileSize(shadowPath);
      if (raw === null) {
        this.db.requestNewGeneration("shadow wal needed by a replica is missing");
        throw new Error(`shadow wal ${shadowPath} is missing; starting a new generation`);
      }
      const available = pos.index === end.index ? end.offset : frameAlign(raw, this.db.pageSize);
      if (pos.offset >= available) {
        this.pos = { generation: pos.generation, index: pos.index + 1, offset: 0 };
        continue;
      }
      let stop = Math.min(available, pos.offset + MAX_SEGMENT_BYTES);
      if (stop < available) stop = frameAlign(stop, this.db.pageSize);
      const data = readShadow(shadowPath, pos.offset, stop - pos.offset);
      const started = Date.now();
      await this.client.writeWalSegment(pos, encodeLz4Frame(data));
      this.pos = { ...pos, offset: pos.offset + data.length };
      this.log.debug("wal segment written", {
        position: formatPos(pos),
        size: data.length,
        elapsed_ms: Date.now() - started,
      });
    }
  }
}

function readShadow(p: string, position: number, length: number): Uint8Array {
  const data = readFileAt(p, position, length);
  if (data.length !== length) throw new Error(`shadow wal ${p} is shorter than expected`);
  return data;
}
