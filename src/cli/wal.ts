/**
 * `walship wal [-config PATH] [-replica NAME] [-generation NAME] DB_PATH|REPLICA_URL`: every WAL
 * segment, in Litestream's columns (index and offset in decimal, compressed size), per replica in
 * generation then (index, offset) order.
 */
import { isGenerationName } from "../format/layout.ts";
import type { WalSegmentInfo } from "../storage/replica-client.ts";
import { EXIT_FAILURE, EXIT_OK, UsageError } from "./errors.ts";
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

export interface WalFlags extends SourceFlags {
  generation?: string | undefined;
  json?: boolean | undefined;
}

export interface WalRow {
  replica: string;
  generation: string;
  index: number;
  offset: number;
  /** Compressed bytes. */
  size: number;
  /** ISO 8601 with milliseconds. */
  created: string;
}

export async function runWal(
  target: string | undefined,
  flags: WalFlags,
  io: CommandOutput = processOutput,
): Promise<number> {
  const only = flags.generation;
  // Checked before any listing: a typo would otherwise just print an empty table.
  if (only !== undefined && !isGenerationName(only)) {
    throw new UsageError(
      `Cannot use -generation "${only}": a generation name is 16 lowercase hex characters`,
      "copy one from: walship generations DB_PATH|REPLICA_URL",
    );
  }
  const source = resolveReplicaSource("wal", "list the WAL segments of", target, flags);
  const results = await forEachReplica(source.replicas, async (r) => {
    const out: WalSegmentInfo[] = [];
    // With -generation the name is listed directly, as Litestream does; a missing one lists nothing.
    const generations = only !== undefined ? [only] : await r.client.generations();
    for (const generation of generations) out.push(...(await r.client.walSegments(generation)));
    return out;
  });

  const rows: WalRow[] = [];
  const errors: { replica: string; error: string }[] = [];
  for (const result of results) {
    const replica = result.replica.name;
    if ("error" in result) {
      io.warn(replicaErrorLine(replica, result.error));
      errors.push({ replica, error: replicaErrorMessage(result.error) });
      continue;
    }
    for (const s of result.value) {
      rows.push({
        replica,
        generation: s.generation,
        index: s.index,
        offset: s.offset,
        size: s.size,
        created: s.createdAt.toISOString(),
      });
    }
  }

  if (flags.json) {
    io.out(`${JSON.stringify({ wal: rows, errors }, null, 2)}\n`);
  } else {
    io.out(
      formatTable(
        ["replica", "generation", "index", "offset", "size", "created"],
        rows.map((r) => [
          r.replica,
          r.generation,
          String(r.index),
          String(r.offset),
          String(r.size),
          formatRfc3339(new Date(r.created)),
        ]),
      ),
    );
  }
  return errors.length > 0 ? EXIT_FAILURE : EXIT_OK;
}
