/**
 * Restore planning: which replica, generation, snapshot and WAL segments reproduce the database at the
 * requested moment. Works only from listings; nothing is downloaded here.
 */
import { WalshipError } from "../errors/walship-error.ts";
import { hex8, walSegmentPath } from "../format/layout.ts";
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
  /**
   * With a timestamp: the segments that follow `segments`, uploaded after the requested time but perhaps
   * holding commits captured before it (an upload comes up to a sync interval after its commits). The
   * restore reads them in order while their capture-time records allow (format/capture-times.ts).
   */
  after: WalSegmentInfo[];
  /** The requested point in time, if any. */
  timestamp: Date | undefined;
  /** Time of the newest object used. */
  updatedAt: Date;
  /** Compressed bytes to download. */
  bytes: number;
  /** Holes the listing shows (missing WAL index or first segment); a plan with gaps cannot be restored. */
  gaps: ReplicaGapError[];
}

/**
 * The latest moment an object time can stand for. Some stores keep whole seconds (S3's LastModified):
 * such a time may mean any moment of its second, so a point-in-time restore counts it as the last one, and
 * never takes in an object that may have been written after the requested time.
 */
function latestMoment(createdAt: Date): number {
  return createdAt.getTime() + (createdAt.getMilliseconds() === 0 ? 999 : 0);
}

/**
 * Nothing on the replicas matches the request. `no-backup`: the replicas hold no backup at all;
 * `no-backup-before-time`: none at or before the requested time.
 */
export class NoBackupError extends WalshipError<"no-backup" | "no-backup-before-time"> {
  override name = "NoBackupError";
  constructor(message: string, hint?: string, code: NoBackupError["code"] = "no-backup") {
    super(message, { code, operation: "plan restore", hint });
  }
}

/** The listing shows a hole that makes the requested state impossible to rebuild. */
export class ReplicaGapError extends WalshipError<"replica-gap"> {
  override name = "ReplicaGapError";
  constructor(
    message: string,
    readonly key: string,
  ) {
    super(message, { code: "replica-gap", operation: "plan restore", subject: key });
  }
}

/** Plans a restore across replicas, choosing the one whose chosen generation is newest. */
export async function planRestore(replicas: NamedReplica[], target: RestoreTarget): Promise<RestorePlan> {
  let best: RestorePlan | null = null;
  const failures: unknown[] = [];
  let earliest: Date | null = null;
  for (const replica of replicas) {
    try {
      const { plan, earliestSnapshot } = await planReplica(replica, target);
      if (earliestSnapshot && (!earliest || earliestSnapshot < earliest)) earliest = earliestSnapshot;
      if (plan && (!best || plan.updatedAt > best.updatedAt)) best = plan;
    } catch (err) {
      failures.push(err);
    }
  }
  if (best) return best;
  // Every replica failed: the first failure (with its hint) explains more than "no backups".
  if (failures.length > 0 && failures.length === replicas.length) throw failures[0];
  if (target.timestamp && earliest) {
    const first = new Date(latestMoment(earliest)).toISOString();
    throw new NoBackupError(
      `no backup at or before ${target.timestamp.toISOString()}: the earliest restorable time is ${first}`,
      `use -timestamp ${first} or later, or drop -timestamp for the latest state`,
      "no-backup-before-time",
    );
  }
  throw new NoBackupError("no matching backups found");
}

async function planReplica(
  replica: NamedReplica,
  target: RestoreTarget,
): Promise<{ plan: RestorePlan | null; earliestSnapshot: Date | null }> {
  const client = replica.client;
  const generations = target.generation ? [target.generation] : await client.generations();
  let best: RestorePlan | null = null;
  let earliestSnapshot: Date | null = null;
  for (const generation of generations) {
    const [snapshots, segments] = await Promise.all([
      client.snapshots(generation),
      client.walSegments(generation),
    ]);
    for (const snap of snapshots) {
      if (!earliestSnapshot || snap.createdAt < earliestSnapshot) earliestSnapshot = snap.createdAt;
    }
    const plan = planGeneration(replica, generation, snapshots, segments, target);
    if (plan && (!best || plan.updatedAt > best.updatedAt)) best = plan;
  }
  return { plan: best, earliestSnapshot };
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
    (s) =>
      (t === undefined || latestMoment(s.createdAt) <= t) && (maxIndex === undefined || s.index <= maxIndex),
  );
  const snapshot = usable.reduce<SnapshotInfo | null>((a, s) => (!a || s.index > a.index ? s : a), null);
  if (!snapshot) return null;

  const fromSnapshot = segments.filter((seg) => seg.index >= snapshot.index);
  // The chosen segments are a contiguous prefix: up to the first one past the index or the time.
  let cut = fromSnapshot.findIndex(
    (seg) =>
      (maxIndex !== undefined && seg.index > maxIndex) ||
      (t !== undefined && latestMoment(seg.createdAt) > t),
  );
  if (cut < 0) cut = fromSnapshot.length;
  const chosen = fromSnapshot.slice(0, cut);
  const after = t === undefined ? [] : fromSnapshot.slice(cut);
  const gaps = findGaps(replica, generation, snapshot.index, chosen);

  let updatedAt = snapshot.createdAt;
  let bytes = snapshot.size;
  for (const s of chosen) {
    if (s.createdAt > updatedAt) updatedAt = s.createdAt;
    bytes += s.size;
  }
  return {
    replica,
    generation,
    snapshot,
    segments: chosen,
    after,
    timestamp: target.timestamp,
    updatedAt,
    bytes,
    gaps,
  };
}

/** Each WAL index from the snapshot's on must be present, in order, and start at offset 0. */
function findGaps(
  replica: NamedReplica,
  generation: string,
  from: number,
  segs: WalSegmentInfo[],
): ReplicaGapError[] {
  const gaps: ReplicaGapError[] = [];
  let index = from - 1;
  for (const s of segs) {
    if (s.index === index) continue;
    for (let missing = index + 1; missing < s.index; missing++) {
      gaps.push(
        new ReplicaGapError(
          `WAL index ${hex8(missing)} of generation ${generation} is missing on replica ${replica.name}`,
          walSegmentPath("", generation, missing, 0),
        ),
      );
    }
    if (s.offset !== 0) {
      gaps.push(
        new ReplicaGapError(
          `the first segment (offset 0) of WAL index ${hex8(s.index)} of generation ${generation} is missing on replica ${replica.name}`,
          walSegmentPath("", generation, s.index, 0),
        ),
      );
    }
    index = s.index;
  }
  return gaps;
}
