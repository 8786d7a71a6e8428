/**
 * `walship snapshots [-config PATH] [-replica NAME] DB_PATH|REPLICA_URL`: every snapshot of every
 * generation, in Litestream's columns (index in decimal, compressed size).
 */
import type { SnapshotInfo } from "../storage/replica-client.ts";
import { EXIT_FAILURE, EXIT_OK } from "./errors.ts";
import { formatRfc3339 } from "./go-format.ts";
import {
  type CommandOutput,
  forEachReplica,
  processOutput,
  replicaErrorLine,
  replicaErrorMessage,
  resolveReplicaSource,
  type SourceFlags,
} from "./replica-source.ts";
import { formatTable } from "./table.ts";

export interface SnapshotsFlags extends SourceFlags {
  json?: boolean | undefined;
}

export interface SnapshotRow {
  replica: string;
  generation: string;
  index: number;
  /** Compressed bytes. */
  size: number;
  /** ISO 8601 with milliseconds. */
  created: string;
}

export async function runSnapshots(
  target: string | undefined,
  flags: SnapshotsFlags,
  io: CommandOutput = processOutput,
): Promise<number> {
  const source = resolveReplicaSource("snapshots", "list the snapshots of", target, flags);
  const results = await forEachReplica(source.replicas, async (r) => {
    const out: SnapshotInfo[] = [];
    for (const generation of await r.client.generations())
      out.push(...(await r.client.snapshots(generation)));
    return out;
  });

  const all: { order: number; replica: string; snapshot: SnapshotInfo }[] = [];
  const errors: { replica: string; error: string }[] = [];
  results.forEach((result, order) => {
    const replica = result.replica.name;
    if ("error" in result) {
      io.warn(replicaErrorLine(replica, result.error));
      errors.push({ replica, error: replicaErrorMessage(result.error) });
      return;
    }
    for (const snapshot of result.value) all.push({ order, replica, snapshot });
  });
  // Litestream sorts by generation, then index; replicas holding the same generation then follow the
  // config's order instead of Go's unstable sort order.
  all.sort(
    (a, b) =>
      compareText(a.snapshot.generation, b.snapshot.generation) ||
      a.snapshot.index - b.snapshot.index ||
      a.order - b.order,
  );

  if (flags.json) {
    const snapshots: SnapshotRow[] = all.map(({ replica, snapshot: s }) => ({
      replica,
      generation: s.generation,
      index: s.index,
      size: s.size,
      created: s.createdAt.toISOString(),
    }));
    io.out(`${JSON.stringify({ snapshots, errors }, null, 2)}\n`);
  } else {
    io.out(
      formatTable(
        ["replica", "generation", "index", "size", "created"],
        all.map(({ replica, snapshot: s }) => [
          replica,
          s.generation,
          String(s.index),
          String(s.size),
          formatRfc3339(s.createdAt),
        ]),
      ),
    );
  }
  return errors.length > 0 ? EXIT_FAILURE : EXIT_OK;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
