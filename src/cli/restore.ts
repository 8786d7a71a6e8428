/** `walship restore`: rebuild a database from a replica URL or from a database's replicas in the config. */
import * as fs from "node:fs";
import * as path from "node:path";
import { hex8 } from "../format/layout.ts";
import { formatBytes, ProgressLine } from "../observe/progress.ts";
import { NoBackupError, planRestore, type RestorePlan } from "../restore/plan.ts";
import { DEFAULT_PARALLELISM, executeRestore, type RestoreResult } from "../restore/restore.ts";
import type { VerifyMode } from "../restore/verify.ts";
import { EXIT_FAILURE, EXIT_OK, UsageError } from "./errors.ts";
import { loggerFor } from "./logger.ts";
import { nearbyAdvice } from "./nearby-advice.ts";
import { resolveReplicaSource } from "./replica-source.ts";

export interface RestoreFlags {
  config?: string | undefined;
  expandEnv: boolean;
  output?: string | undefined;
  replica?: string | undefined;
  generation?: string | undefined;
  index?: string | undefined;
  timestamp?: string | undefined;
  parallelism?: string | undefined;
  ageIdentityFile?: string | undefined;
  ifDbNotExists?: boolean;
  ifReplicaExists?: boolean;
  verify?: string | undefined;
  dryRun?: boolean;
  json?: boolean;
  force?: boolean;
  verbose?: boolean;
}

export async function runRestore(target: string | undefined, flags: RestoreFlags): Promise<number> {
  const source = resolveReplicaSource("restore", "restore", target, flags);
  // In config mode the output defaults to the database's own path, as in Litestream.
  const output = flags.output ?? source.dbPath;
  if (!output) {
    throw new UsageError(
      `Cannot restore from the replica ${target} without an output path`,
      `walship restore -o app.db ${target}`,
    );
  }
  const config = source.config ?? null;
  const log = loggerFor(config, flags.verbose);

  if (fs.existsSync(output) && !flags.dryRun) {
    if (flags.ifDbNotExists) {
      log.info("database already exists, skipping", { output });
      return EXIT_OK;
    }
    // With --force the existing file is replaced atomically at the very end, once the new one is complete.
    if (!flags.force) {
      throw new UsageError(
        `Cannot restore to ${path.resolve(output)}: the file already exists`,
        "choose another -o path, pass --force to replace it, or move the existing file away first",
      );
    }
  }
  const restoreTarget = {
    generation: flags.generation,
    index: flags.index === undefined ? undefined : parseHexIndex(flags.index),
    timestamp: flags.timestamp === undefined ? undefined : parseTimestamp(flags.timestamp),
  };
  if (restoreTarget.index !== undefined && restoreTarget.timestamp !== undefined) {
    throw new UsageError("Cannot use -index and -timestamp together", "choose one");
  }
  let plan: RestorePlan;
  try {
    plan = await planRestore(source.replicas, restoreTarget);
  } catch (err) {
    if (err instanceof NoBackupError) {
      const nothing = err.code === "no-backup";
      const nearby = nothing
        ? await nearbyAdvice(
            source.dbPath === undefined ? (target ?? null) : null,
            source.replicas,
            (s) => `walship restore -o ${output} ${s}`,
          )
        : null;
      if (flags.ifReplicaExists) {
        log.info("no matching backups found, skipping", { source: target });
        if (nearby) log.warn(nearby.found, { source: target, try: nearby.hint });
        return EXIT_OK;
      }
      throw new NoBackupError(
        `Cannot restore from ${target}: ${nothing ? "no backups found there" : err.message}${nearby ? `; ${nearby.found}` : ""}`,
        nearby?.hint ??
          err.hint ??
          "check the bucket, path or directory of the replica (it should contain generations/)",
        err.code,
      );
    }
    throw err;
  }

  if (flags.dryRun) {
    const summary = describePlan(plan);
    process.stdout.write(flags.json ? `${JSON.stringify(summary, null, 2)}\n` : formatPlan(summary));
    return plan.gaps.length === 0 ? EXIT_OK : EXIT_FAILURE;
  }

  const progress = new ProgressLine(process.stderr, "restoring");
  let result: RestoreResult;
  try {
    result = await executeRestore(plan, {
      output,
      parallelism: parseParallelism(flags.parallelism),
      verify: parseVerify(flags.verify),
      force: flags.force ?? false,
      log,
      onProgress: (p) => progress.update(p),
    });
  } finally {
    progress.done();
  }
  log.info("restored", {
    output: result.output,
    replica: result.replica,
    generation: result.generation,
    snapshot_index: hex8(result.snapshotIndex),
    segments: result.segments,
    bytes: result.bytesDownloaded,
    transactions: result.commits,
    timestamp: result.pointInTime?.timestamp,
    stopped_by: result.pointInTime?.stoppedBy,
    elapsed_ms: result.elapsedMs,
  });
  if (result.pointInTime?.stoppedBy === "object times") {
    log.warn(
      "the replica records no capture times after the requested time (Litestream writes none; neither does walship for commits captured before it restarted): restored the state of the objects uploaded by then, so commits made up to one upload before that time may be missing",
      { timestamp: result.pointInTime.timestamp },
    );
  }
  if (flags.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  return EXIT_OK;
}

interface PlanSummary {
  replica: string;
  generation: string;
  snapshot: { index: string; createdAt: string; bytes: number };
  segments: number;
  /** With -timestamp: segments uploaded after the time, read while their capture times are at or before it. */
  candidatesAfter: number;
  walIndexes: { first: string; last: string } | null;
  bytesToDownload: number;
  restoresStateOf: string;
  gaps: { message: string; key: string }[];
  /** What the plan was checked against: only the listing (names, sizes, times), never the contents. */
  checked: "listing";
}

function describePlan(plan: RestorePlan): PlanSummary {
  const first = plan.segments[0];
  const last = plan.segments[plan.segments.length - 1];
  return {
    replica: plan.replica.name,
    generation: plan.generation,
    snapshot: {
      index: hex8(plan.snapshot.index),
      createdAt: plan.snapshot.createdAt.toISOString(),
      bytes: plan.snapshot.size,
    },
    segments: plan.segments.length,
    candidatesAfter: plan.after.length,
    walIndexes: first && last ? { first: hex8(first.index), last: hex8(last.index) } : null,
    bytesToDownload: plan.bytes,
    restoresStateOf: plan.updatedAt.toISOString(),
    gaps: plan.gaps.map((g) => ({ message: g.message, key: g.key })),
    checked: "listing",
  };
}

function formatPlan(p: PlanSummary): string {
  const after: [string, string][] =
    p.candidatesAfter > 0
      ? [
          [
            "after",
            `up to ${p.candidatesAfter} more segment(s) uploaded after the time, read while their capture times are at or before it`,
          ],
        ]
      : [];
  const rows: [string, string][] = [
    ["replica", p.replica],
    ["generation", p.generation],
    [
      "snapshot",
      `index ${p.snapshot.index}, created ${p.snapshot.createdAt}, ${formatBytes(p.snapshot.bytes)}`,
    ],
    [
      "wal",
      p.walIndexes
        ? `${p.segments} segment(s), indexes ${p.walIndexes.first}..${p.walIndexes.last}`
        : "none (snapshot only)",
    ],
    ["download", `${formatBytes(p.bytesToDownload)} in ${p.segments + 1} object(s)`],
    ...after,
    ["state as of", `${p.restoresStateOf} (the newest object used)`],
    ["gaps", p.gaps.length === 0 ? "none" : p.gaps.map((g) => `${g.message} (${g.key})`).join("; ")],
    // LZ4 frames carry no content size: only a restore that decodes them can vouch for their contents.
    [
      "checked",
      "the listing only: no object was downloaded; a restore checks every frame's checksum and commits",
    ],
  ];
  return `${rows.map(([k, v]) => `${k.padEnd(12)} ${v}`).join("\n")}\n`;
}

function parseHexIndex(s: string): number {
  if (!/^[0-9a-fA-F]{1,8}$/.test(s) || Number.parseInt(s, 16) > 0x7fffffff) {
    throw new UsageError(
      `Cannot use -index "${s}": it must be a hexadecimal WAL index`,
      "e.g. -index 0000002a",
    );
  }
  return Number.parseInt(s, 16);
}

function parseTimestamp(s: string): Date {
  const d = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(s) ? new Date(s) : null;
  if (!d || Number.isNaN(d.getTime())) {
    throw new UsageError(
      `Cannot use -timestamp "${s}": it is not an RFC 3339 time`,
      "e.g. -timestamp 2026-01-02T15:04:05Z",
    );
  }
  return d;
}

function parseParallelism(v: string | undefined): number {
  if (v === undefined) return DEFAULT_PARALLELISM;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 256) {
    throw new UsageError(
      `Cannot use -parallelism ${v}: it must be a whole number from 1 to 256`,
      "e.g. -parallelism 8",
    );
  }
  return n;
}

function parseVerify(v: string | undefined): VerifyMode {
  if (v === undefined) return "quick";
  if (v === "none" || v === "quick" || v === "full") return v;
  throw new UsageError(`Cannot use --verify ${v}: it must be none, quick or full`, "--verify full");
}
