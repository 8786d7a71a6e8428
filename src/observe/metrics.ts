/**
 * Prometheus text exposition of replication state, read from the databases and replicas at scrape time
 * (no registry to keep in sync). Litestream 0.3.13's `litestream_*` metrics appear as `walship_*` ones
 * named by Prometheus's conventions (counters end in `_total`, sizes in `_bytes`; the README maps each
 * Litestream name to walship's), plus replication lag, the time each replica last held everything
 * committed, the build and the standard `process_*` metrics.
 */
import * as fs from "node:fs";
import { Exposition, type Labels } from "./exposition.ts";
import type { ObservedSet } from "./observed.ts";
import { writeProcessMetrics } from "./process-metrics.ts";

/** What `walship_build_info` reports; given by whoever builds the service (observe knows no CLI). */
export interface BuildInfo {
  version: string;
  commit: string;
}

function sizeOf(p: string): number {
  try {
    return fs.statSync(p).size;
  } catch {
    return 0;
  }
}

export function renderMetrics(sets: readonly ObservedSet[], build: BuildInfo, now = Date.now()): string {
  const out = new Exposition();
  out.metric("walship_build_info", "gauge", "Always 1; the labels give the version and commit of walship", [
    [{ version: build.version, commit: build.commit }, 1],
  ]);
  writeProcessMetrics(out);
  const dbs = sets.map((s) => s.db);
  const perDb = (f: (db: (typeof dbs)[number]) => number): [Labels, number][] =>
    dbs.map((db) => [{ db: db.path }, f(db)]);
  out.metric(
    "walship_db_size_bytes",
    "gauge",
    "The current size of the real DB, in bytes",
    perDb((db) => sizeOf(db.path)),
  );
  out.metric(
    "walship_wal_size_bytes",
    "gauge",
    "The current size of the real WAL, in bytes",
    perDb((db) => sizeOf(db.walPath)),
  );
  out.metric(
    "walship_shadow_wal_bytes_total",
    "counter",
    "Total number of bytes written to shadow WAL",
    perDb((db) => db.stats.walBytes),
  );
  out.metric(
    "walship_shadow_wal_index",
    "gauge",
    "The current index of the shadow WAL",
    perDb((db) => db.pos()?.index ?? 0),
  );
  out.metric(
    "walship_shadow_wal_size_bytes",
    "gauge",
    "Current size of shadow WAL, in bytes",
    perDb((db) => db.pos()?.offset ?? 0),
  );
  out.metric(
    "walship_syncs_total",
    "counter",
    "Number of sync operations performed",
    perDb((db) => db.stats.syncCount),
  );
  out.metric(
    "walship_sync_errors_total",
    "counter",
    "Number of sync errors that have occurred",
    perDb((db) => db.stats.syncErrorCount),
  );
  out.metric(
    "walship_sync_seconds_total",
    "counter",
    "Time spent syncing shadow WAL, in seconds",
    perDb((db) => db.stats.syncSeconds),
  );
  out.metric(
    "walship_writer_holds_total",
    "counter",
    "Times the application's writers were held because the replicas fell behind by more than the backpressure bound",
    perDb((db) => db.stats.writerHolds),
  );
  out.metric(
    "walship_writer_hold_seconds_total",
    "counter",
    "Time the application's writers were held for backpressure, in seconds",
    perDb((db) => db.stats.writerHoldSeconds),
  );
  const perMode = (
    f: (c: { count: number; errors: number; seconds: number }) => number,
  ): [Labels, number][] =>
    dbs.flatMap((db) =>
      Object.entries(db.stats.checkpoints).map(([mode, c]): [Labels, number] => [
        { db: db.path, mode },
        f(c),
      ]),
    );
  out.metric(
    "walship_checkpoints_total",
    "counter",
    "Number of checkpoint operations performed",
    perMode((c) => c.count),
  );
  out.metric(
    "walship_checkpoint_errors_total",
    "counter",
    "Number of checkpoint errors that have occurred",
    perMode((c) => c.errors),
  );
  out.metric(
    "walship_checkpoint_seconds_total",
    "counter",
    "Time spent checkpointing WAL, in seconds",
    perMode((c) => c.seconds),
  );

  const replicas = sets.flatMap((s) => s.replicas);
  const perReplica = (f: (r: (typeof replicas)[number]) => number): [Labels, number][] =>
    replicas.map((r) => [{ db: r.db.path, name: r.name }, f(r)]);
  out.metric(
    "walship_replica_wal_index",
    "gauge",
    "The current WAL index",
    perReplica((r) => r.pos?.index ?? 0),
  );
  out.metric(
    "walship_replica_wal_offset_bytes",
    "gauge",
    "The current WAL offset, in bytes",
    perReplica((r) => r.pos?.offset ?? 0),
  );
  out.metric(
    "walship_replica_wal_bytes_total",
    "counter",
    "WAL bytes written to the replica, before compression",
    perReplica((r) => r.stats.walBytes),
  );
  out.metric(
    "walship_replica_uploaded_bytes_total",
    "counter",
    "Bytes uploaded to the replica (compressed, snapshots included)",
    perReplica((r) => r.stats.bytesUploaded),
  );
  out.metric(
    "walship_replica_syncs_total",
    "counter",
    "Number of replica syncs",
    perReplica((r) => r.stats.syncCount),
  );
  out.metric(
    "walship_replica_sync_errors_total",
    "counter",
    "Number of failed replica syncs",
    perReplica((r) => r.stats.syncErrorCount),
  );
  out.metric(
    "walship_replica_last_success_timestamp_seconds",
    "gauge",
    "Unix time the replica last held everything committed (now when it does)",
    perReplica((r) => (r.isCaughtUp() ? now : (r.caughtUpAt?.getTime() ?? 0)) / 1000),
  );
  out.metric(
    "walship_replica_lag_seconds",
    "gauge",
    "Seconds the replica has been behind the local shadow WAL (0 when caught up)",
    perReplica((r) => r.lagSeconds(now)),
  );
  out.metric(
    "walship_replica_reachable",
    "gauge",
    "1 when the last attempt to sync the replica went through, 0 while attempts fail (see /healthz for why)",
    perReplica((r) => (r.reachability.reachable ? 1 : 0)),
  );
  writeValidationMetrics(out, sets);
  return out.text();
}

/** The validations' metrics (`validation-interval`), per replica validated. */
function writeValidationMetrics(out: Exposition, sets: readonly ObservedSet[]): void {
  const validators = sets.flatMap((s) => s.validators ?? []);
  const perValidator = (f: (v: (typeof validators)[number]) => number): [Labels, number][] =>
    validators.map((v) => [{ db: v.db.path, name: v.name }, f(v)]);
  out.metric(
    "walship_validation_runs_total",
    "counter",
    "Validations of the replica by outcome (status: ok, mismatch, error)",
    validators.flatMap((v) =>
      Object.entries(v.stats.runs).map(([status, n]): [Labels, number] => [
        { db: v.db.path, name: v.name, status },
        n,
      ]),
    ),
  );
  out.metric(
    "walship_validation_failures_total",
    "counter",
    "Validations that failed: the restored replica differed from the database, or could not be restored",
    perValidator((v) => (v.stats.runs.mismatch ?? 0) + (v.stats.runs.error ?? 0)),
  );
  out.metric(
    "walship_validation_last_success_timestamp_seconds",
    "gauge",
    "Unix time of the replica's last successful validation (0 before the first)",
    perValidator((v) => (v.stats.lastSuccessAt?.getTime() ?? 0) / 1000),
  );
  out.metric(
    "walship_validation_downloaded_bytes_total",
    "counter",
    "Bytes the validations' restores downloaded from the replica",
    perValidator((v) => v.stats.bytesDownloaded),
  );
  out.metric(
    "walship_validation_writer_hold_seconds_total",
    "counter",
    "Time the application's writers waited while validations pinned a position, in seconds",
    perValidator((v) => v.stats.writerHoldSeconds),
  );
}

/** Replicas behind for longer than `maxLagMs`, for /healthz. */
export function unhealthyReplicas(
  sets: readonly ObservedSet[],
  maxLagMs: number,
  now = Date.now(),
): string[] {
  return sets.flatMap((s) =>
    s.replicas
      .filter((r) => r.lagSeconds(now) * 1000 > maxLagMs)
      .map((r) => `${r.db.path} ${r.name} lag=${r.lagSeconds(now).toFixed(1)}s`),
  );
}
