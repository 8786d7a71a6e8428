/**
 * Restore planning: which replica, generation, snapshot and WAL segments reproduce the database at the
 * requested moment. Works only from listings; nothing is downloaded here.
 */
import { hex8 } from "../format/layout.ts";
import type { ReplicaClient, SnapshotInfo, WalSegmentInfo } from "../storage/replica-client.ts";

export interface NamedReplica {
  name: string;
  client: ReplicaClient;
}

export interface RestoreTarget {
  /** Only this generation. */
  generation?: string | undefined;
  /** Latest state at or before this time; absent means the latest state. */
  timestamp?: Date | undefined;
  /** Restore up to and including this WAL index. */
  index?: number | undefined;
}

export interface RestorePlan {
  replica: NamedReplica;
  generation: string;
  snapshot: SnapshotInfo;
  /** Segments to apply after the snapshot, in (index, offset) order, starting at the snapshot's index. */
  segments: WalSegmentInfo[];
  /** Time of the newest object used. */
  updatedAt: Date;
  /** Compressed bytes to download. */
  bytes: number;
}

/** Nothing on the replicas matches the request. */
export class NoBackupError extends Error {
  override name = "NoBackupError";
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** The listing shows a hole that makes the requested state impossible to rebuild. */
export class ReplicaGapError extends Error {
  override name = "ReplicaGapError";
  constructor(
    message: string,
    readonly key: string,
  ) {
    super(message);
  }
}

/** Plans a restore across replicas, choosing the one whose chosen generation is newest. */
export async function planRestore(replicas: NamedReplica[], target: RestoreTarget): Promise<RestorePlan> {
  let best: RestorePlan | null = null;
  const failures: unknown[] = [];
  for (const replica of replicas) {
    try {
      const plan = await planReplica(replica, target);
      if (plan && (!best || plan.updatedAt > best.updatedAt)) best = plan;
    } catch (err) {
      if (err instanceof ReplicaGapError) throw err;
      failures.push(err);
    }
  }
  if (best) return best;
  // Every replica failed: the first failure (with its hint) explains more than "no backups".
  if (failures.length > 0 && failures.length === replicas.length) throw failures[0];
  throw new NoBackupError("no matching backups found");
}

async function planReplica(replica: NamedReplica, target: RestoreTarget): Promise<RestorePlan | null> {
  const client = replica.client;
  const generations = target.generation ? [target.generation] : await client.generations();
  let best: RestorePlan | null = null;
  for (const generation of generations) {
    const [snapshots, segments] = await Promise.all([
      client.snapshots(generation),
      client.walSegments(generation),
    ]);
    const plan = planGeneration(replica, generation, snapshots, segments, target);
    if (plan && (!best || plan.updatedAt > best.updatedAt)) best = plan;
  }
  return best;
}

function planGeneration(
  replica: NamedReplica,
  generation: string,
  snapshots: SnapshotInfo[],
  segments: WalSegmentInfo[],
  target: RestoreTarget,
): RestorePlan | null {
  const t = target.timestamp?.getTime();
  const maxIndex = target.index;
  const usable = snapshots.filter(
    (s) => (t === undefined || s.createdAt.getTime() <= t) && (maxIndex === undefined || s.index <= maxIndex),
  );
  const snapshot = usable.reduce<SnapshotInfo | null>((a, s) => (!a || s.index > a.index ? s : a), null);
  if (!snapshot) return null;

  const chosen: WalSegmentInfo[] = [];
  for (const seg of segments) {
    if (seg.index < snapshot.index) continue;
    // Stop at the first segment past the target so the chosen segments stay a contiguous prefix.
    if (t !== undefined && seg.createdAt.getTime() > t) break;
    if (maxIndex !== undefined && seg.index > maxIndex) break;
    chosen.push(seg);
  }
  checkContinuity(replica, generation, snapshot.index, chosen);

  let updatedAt = snapshot.createdAt;
  let bytes = snapshot.size;
  for (const s of chosen) {
    if (s.createdAt > updatedAt) updatedAt = s.createdAt;
    bytes += s.size;
  }
  return { replica, generation, snapshot, segments: chosen, updatedAt, bytes };
}

/** Each WAL index from the snapshot's on must be present, in order, and start at offset 0. */
function checkContinuity(
  replica: NamedReplica,
  generation: string,
  from: number,
  segs: WalSegmentInfo[],
): void {
  let index = from - 1;
  for (const s of segs) {
    if (s.index === index) continue;
    if (s.index !== index + 1) {
      throw new ReplicaGapError(
        `Cannot restore: WAL index ${hex8(index + 1)} of generation ${generation} is missing on replica ${replica.name}`,
        `generations/${generation}/wal/${hex8(index + 1)}_00000000.wal.lz4`,
      );
    }
    if (s.offset !== 0) {
      throw new ReplicaGapError(
        `Cannot restore: the first segment (offset 0) of WAL index ${hex8(s.index)} of generation ${generation} is missing on replica ${replica.name}`,
        `generations/${generation}/wal/${hex8(s.index)}_00000000.wal.lz4`,
      );
    }
    index = s.index;
  }
}
