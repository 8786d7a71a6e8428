/**
 * What a replica holds, from listings only: each generation's objects and time bounds, and the window
 * of time a restore can reach. Used by the `generations`, `snapshots` and `wal` commands; nothing is
 * downloaded.
 */
import type { ReplicaClient, SnapshotInfo, WalSegmentInfo } from "../storage/replica-client.ts";

/** The snapshots and WAL segments of one generation, each sorted as the client returns them. */
export interface GenerationListing {
  generation: string;
  snapshots: SnapshotInfo[];
  walSegments: WalSegmentInfo[];
}

/** Lists one generation; its snapshots and WAL segments are listed concurrently. */
export async function listGeneration(client: ReplicaClient, generation: string): Promise<GenerationListing> {
  const [snapshots, walSegments] = await Promise.all([
    client.snapshots(generation),
    client.walSegments(generation),
  ]);
  return { generation, snapshots, walSegments };
}

/**
 * Lists every generation of a replica, in name order. One generation at a time: a replica with a long
 * retention can hold many, and a burst of parallel LIST requests gains little for an interactive command.
 */
export async function listReplica(client: ReplicaClient): Promise<GenerationListing[]> {
  const out: GenerationListing[] = [];
  for (const generation of await client.generations()) out.push(await listGeneration(client, generation));
  return out;
}

export interface TimeBounds {
  /** Oldest CreatedAt among the generation's snapshots and WAL segments. */
  start: Date;
  /** Newest CreatedAt among them. */
  end: Date;
}

/**
 * Litestream's `GenerationTimeBounds`: min and max CreatedAt over all snapshots and all WAL segments
 * of the generation. Null for a generation with no objects (Litestream would print Go's zero time).
 */
export function generationBounds(listing: GenerationListing): TimeBounds | null {
  let start: Date | null = null;
  let end: Date | null = null;
  for (const o of [...listing.snapshots, ...listing.walSegments]) {
    if (!start || o.createdAt < start) start = o.createdAt;
    if (!end || o.createdAt > end) end = o.createdAt;
  }
  return start && end ? { start, end } : null;
}

export interface RestorableWindow {
  generations: number;
  snapshots: number;
  walSegments: number;
  /** Compressed bytes stored: every snapshot and WAL segment of every generation. */
  bytes: number;
  /**
   * Earliest and latest times a restore can reach, or null when no generation has a snapshot.
   * `earliest` is the oldest snapshot (a restore always starts from one); `latest` is the newest object
   * of a generation that has a snapshot, since a generation without one cannot be restored at all.
   * Gaps between generations are not reflected: this is the outer span, not a guarantee for every instant.
   */
  window: TimeBounds | null;
}

/** The restorable window and the stored totals of one replica, from its generation listings. */
export function restorableWindow(listings: readonly GenerationListing[]): RestorableWindow {
  let snapshots = 0;
  let walSegments = 0;
  let bytes = 0;
  let earliest: Date | null = null;
  let latest: Date | null = null;
  for (const listing of listings) {
    snapshots += listing.snapshots.length;
    walSegments += listing.walSegments.length;
    for (const o of [...listing.snapshots, ...listing.walSegments]) bytes += o.size;
    if (listing.snapshots.length === 0) continue;
    for (const s of listing.snapshots) if (!earliest || s.createdAt < earliest) earliest = s.createdAt;
    const end = generationBounds(listing)?.end;
    if (end && (!latest || end > latest)) latest = end;
  }
  return {
    generations: listings.length,
    snapshots,
    walSegments,
    bytes,
    window: earliest && latest ? { start: earliest, end: latest } : null,
  };
}
