/**
 * `walship generations [-config PATH] [-replica NAME] DB_PATH|REPLICA_URL`: Litestream's table of
 * generations with their time bounds and lag, followed by walship's summary of the window a restore
 * can reach on each replica.
 */
import { formatBytes } from "../observe/progress.ts";
import {
  type GenerationListing,
  generationBounds,
  listReplica,
  type RestorableWindow,
  restorableWindow,
} from "../restore/inspect.ts";
import { EXIT_FAILURE, EXIT_OK } from "./errors.ts";
import { formatGoDuration, formatRfc3339, nanosBetween, truncateLag } from "./go-format.ts";
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

export interface GenerationsFlags extends SourceFlags {
  json?: boolean | undefined;
}

export interface GenerationRow {
  replica: string;
  generation: string;
  /** Go duration text as Litestream prints it, or null when unknown (no database file, empty generation). */
  lag: string | null;
  /** The same lag in milliseconds, not truncated. */
  lagMs: number | null;
  /** ISO 8601 with milliseconds in JSON; null for a generation without objects. */
  start: string | null;
  end: string | null;
}

export interface ReplicaSummary {
  replica: string;
  generations: number;
  snapshots: number;
  walSegments: number;
  bytes: number;
  /** Earliest and latest restorable times, or null when no generation has a snapshot. */
  earliest: string | null;
  latest: string | null;
}

export async function runGenerations(
  target: string | undefined,
  flags: GenerationsFlags,
  io: CommandOutput = processOutput,
): Promise<number> {
  const source = resolveReplicaSource("generations", "list the generations of", target, flags);
  const results = await forEachReplica(source.replicas, (r) => listReplica(r.client));

  const text: string[][] = [];
  const rows: GenerationRow[] = [];
  const summaries: { replica: string; window: RestorableWindow }[] = [];
  const errors: { replica: string; error: string }[] = [];
  for (const result of results) {
    const name = result.replica.name;
    if ("error" in result) {
      io.warn(replicaErrorLine(name, result.error));
      errors.push({ replica: name, error: replicaErrorMessage(result.error) });
      continue;
    }
    for (const listing of result.value) {
      const row = generationRow(name, listing, source.dbUpdatedAt);
      rows.push(row.json);
      text.push(row.text);
    }
    summaries.push({ replica: name, window: restorableWindow(result.value) });
  }

  if (flags.json) {
    const summary = summaries.map((s) => summaryJson(s.replica, s.window));
    io.out(`${JSON.stringify({ generations: rows, summary, errors }, null, 2)}\n`);
  } else {
    const table = formatTable(["name", "generation", "lag", "start", "end"], text);
    // A blank line keeps the table itself exactly Litestream's for scripts that read up to it.
    const summary = summaries.map((s) => `${summaryLine(s.replica, s.window)}\n`).join("");
    io.out(summary ? `${table}\n${summary}` : table);
  }
  return errors.length > 0 ? EXIT_FAILURE : EXIT_OK;
}

function generationRow(
  replica: string,
  listing: GenerationListing,
  dbUpdatedAt: Date | null,
): { text: string[]; json: GenerationRow } {
  const bounds = generationBounds(listing);
  const lagNs = bounds && dbUpdatedAt ? nanosBetween(dbUpdatedAt, bounds.end) : null;
  // The text is truncated as Litestream prints it; lagMs keeps the precision for programs.
  const lag = lagNs === null ? null : formatGoDuration(truncateLag(lagNs));
  return {
    text: [
      replica,
      listing.generation,
      lag ?? "-",
      bounds ? formatRfc3339(bounds.start) : "-",
      bounds ? formatRfc3339(bounds.end) : "-",
    ],
    json: {
      replica,
      generation: listing.generation,
      lag,
      lagMs: lagNs === null ? null : Number(lagNs / 1_000_000n),
      start: bounds ? bounds.start.toISOString() : null,
      end: bounds ? bounds.end.toISOString() : null,
    },
  };
}

function summaryJson(replica: string, w: RestorableWindow): ReplicaSummary {
  return {
    replica,
    generations: w.generations,
    snapshots: w.snapshots,
    walSegments: w.walSegments,
    bytes: w.bytes,
    earliest: w.window ? w.window.start.toISOString() : null,
    latest: w.window ? w.window.end.toISOString() : null,
  };
}

/** `replica backup: restorable from … to … across 2 generations, 12.3 MiB in 2 snapshots and 40 WAL segments`. */
export function summaryLine(replica: string, w: RestorableWindow): string {
  if (w.generations === 0) return `replica ${replica}: no backups`;
  const stored = `${formatBytes(w.bytes)} in ${plural(w.snapshots, "snapshot")} and ${plural(w.walSegments, "WAL segment")}`;
  const across = `across ${plural(w.generations, "generation")}`;
  if (!w.window) return `replica ${replica}: nothing restorable (no snapshot) ${across}, ${stored}`;
  const from = formatRfc3339(w.window.start);
  const to = formatRfc3339(w.window.end);
  return `replica ${replica}: restorable from ${from} to ${to} ${across}, ${stored}`;
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}
