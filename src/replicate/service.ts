/**
 * Replication as configured: builds the databases and replicas of a Config (directory entries
 * included), checks the replicas (startup-check.ts), takes the one-process-per-database lock, runs the
 * Replicator, keeps watching `dir:` entries for new databases, and serves metrics when `addr` is set.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Config, DbConfig } from "../config/config.ts";
import { resolveCredentials } from "../config/credentials.ts";
import { databaseInDirectory } from "../config/directory.ts";
import { type StatusServer, startStatusServer } from "../observe/http-server.ts";
import type { Logger } from "../observe/log.ts";
import type { BuildInfo } from "../observe/metrics.ts";
import { AgeDecryptor } from "../storage/age-decryptor.ts";
import { AgeEncryptor } from "../storage/age-encryptor.ts";
import { describeTarget, openReplicaClient } from "../storage/open.ts";
import { DEFAULT_TRUNCATE_PAGE_COUNT, ReplicatedDatabase } from "./database.ts";
import { DirectoryScanner } from "./directory-scanner.ts";
import { Replica } from "./replica.ts";
import { type ReplicatedSet, Replicator } from "./replicator.ts";
import { checkReplicasAtStartup } from "./startup-check.ts";
import { Validator } from "./validator.ts";

/** Directories are rescanned no more often than this, whatever the monitor interval. */
const MIN_DIRECTORY_SCAN_MS = 500;

export class ReplicationService {
  private readonly replicator: Replicator;
  private readonly timers: ReturnType<typeof setInterval>[] = [];
  private status: StatusServer | null = null;

  private constructor(
    private readonly config: Config,
    private readonly initial: DbConfig[],
    private readonly scanners: DirectoryScanner[],
    private readonly log: Logger,
    private readonly build: BuildInfo,
  ) {
    this.replicator = new Replicator(
      initial.map((dbc) => buildSet(dbc, log)),
      log,
    );
  }

  /**
   * Prepares replication without starting it: fails if a replica definitely refuses us (a wrong key
   * must not look like a running backup; see startup-check.ts) or another walship already replicates a
   * database, or when every database it would start with is a file that is not an SQLite database. A
   * replica that is merely not reachable yet is retried once replication runs, and a file that is not a
   * database is refused while the others go on.
   * `build` is what the metrics report as `walship_build_info`.
   */
  static async open(config: Config, log: Logger, build: BuildInfo): Promise<ReplicationService> {
    const scanners = config.dbs.filter((d) => d.directory).map((d) => new DirectoryScanner(d));
    const initial = [
      ...config.dbs.filter((d) => !d.directory),
      ...scanners.flatMap((s) => s.scan().map((file) => databaseInDirectory(s.entry, file))),
    ];
    const service = new ReplicationService(config, initial, scanners, log, build);
    refuseWrongFiles(service.replicator.sets, scanners.length > 0, log);
    await checkReplicasAtStartup(service.replicator.sets, log);
    // A database whose directory does not exist yet is locked (and checked) when it appears.
    for (const set of service.replicator.sets) {
      if (!fs.existsSync(path.dirname(set.db.path)) || set.db.fileGate.refusal) continue;
      set.db.lockProcess();
      set.db.refuseSharedMetaDirectory();
    }
    return service;
  }

  start(): void {
    const log = this.log;
    if (this.config.dbs.length === 0) log.warn("no databases specified in configuration");
    for (const dbc of this.initial) logReplicas(dbc, log);
    for (const s of this.scanners) {
      log.info("replicating a directory", {
        dir: s.entry.path,
        pattern: s.entry.directory?.pattern,
        recursive: s.entry.directory?.recursive,
        watch: s.entry.directory?.watch,
      });
      if (!s.entry.directory?.watch) continue;
      const rescan = () => {
        for (const file of s.scan()) {
          const dbc = databaseInDirectory(s.entry, file);
          logReplicas(dbc, log);
          this.replicator.add(buildSet(dbc, log));
        }
      };
      this.timers.push(setInterval(rescan, Math.max(s.entry.monitorIntervalMs, MIN_DIRECTORY_SCAN_MS)));
    }
    this.replicator.start();
    if (this.config.addr) {
      this.status = startStatusServer(
        this.config.addr,
        this.replicator.sets,
        this.config.healthMaxLagMs,
        this.build,
      );
      log.info("serving metrics", {
        url: `${this.status.url}/metrics`,
        healthz: `${this.status.url}/healthz`,
      });
    }
  }

  /** Stops watching and serving, then syncs everything one last time. Returns false if that failed. */
  async stop(): Promise<boolean> {
    for (const t of this.timers) clearInterval(t);
    const ok = await this.replicator.stop();
    this.status?.stop();
    return ok;
  }
}

/**
 * Databases whose file is not an SQLite database are refused. When that leaves nothing to replicate (a
 * one-database config, typically, and no directory to watch) it is an error; otherwise the others go on.
 */
function refuseWrongFiles(sets: readonly ReplicatedSet[], watchesDirectories: boolean, log: Logger): void {
  const checked = sets.map((set) => ({ gate: set.db.fileGate, result: set.db.fileGate.check() }));
  const refused = checked.flatMap(({ result }) => (result.admitted ? [] : [result.error]));
  const none = refused.length > 0 && refused.length === sets.length && !watchesDirectories;
  // When nothing is left, the first refusal is the command's error and the others are logged before it.
  for (const { gate, result } of none ? checked.slice(1) : checked) gate.report(result, log);
  if (none) throw refused[0];
}

function logReplicas(dbc: DbConfig, log: Logger): void {
  for (const rc of dbc.replicas) {
    log.info("replicating to", {
      db: dbc.path,
      name: rc.name,
      sync_interval_ms: rc.syncIntervalMs,
      validation_interval_ms: rc.validationIntervalMs || undefined,
      ...describeTarget(rc.target),
    });
  }
}

function buildSet(dbc: DbConfig, log: Logger): ReplicatedSet {
  const db = new ReplicatedDatabase({
    path: dbc.path,
    metaPath: dbc.metaPath,
    checkpointIntervalMs: dbc.checkpointIntervalMs,
    minCheckpointPageCount: dbc.minCheckpointPageCount,
    maxCheckpointPageCount: dbc.maxCheckpointPageCount,
    maxWalBytes: dbc.maxWalBytes,
    truncatePageCount: DEFAULT_TRUNCATE_PAGE_COUNT,
    log,
  });
  const replicas = dbc.replicas.map((rc) => {
    // Global keys were already copied into replicas without their own by the config reader.
    const credentials = resolveCredentials(
      { accessKeyId: rc.accessKeyId, secretAccessKey: rc.secretAccessKey },
      (name) => process.env[name],
    );
    let client = openReplicaClient(rc.target, credentials);
    if (rc.age) {
      client = client.decrypting(new AgeDecryptor(rc.age.identities));
      if (rc.age.recipients.length > 0) client = client.encrypting(new AgeEncryptor(rc.age.recipients));
    }
    return new Replica(db, {
      name: rc.name,
      client,
      syncIntervalMs: rc.syncIntervalMs,
      retentionMs: rc.retentionMs,
      retentionCheckIntervalMs: rc.retentionCheckIntervalMs,
      snapshotIntervalMs: rc.snapshotIntervalMs,
      log,
    });
  });
  const validators = dbc.replicas.flatMap((rc, i) =>
    rc.validationIntervalMs > 0 ? [new Validator(replicas[i]!, db, rc.validationIntervalMs, log)] : [],
  );
  return { db, replicas, monitorIntervalMs: dbc.monitorIntervalMs, validators };
}
