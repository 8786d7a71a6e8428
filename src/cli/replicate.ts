/** `walship replicate`: run the replicator from a config file or from `DB_PATH REPLICA_URL...`. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Config, DbConfig } from "../config/config.ts";
import { databaseInDirectory } from "../config/directory.ts";
import { configFromArgs, loadConfig } from "../config/load.ts";
import { errorHint, errorMessage } from "../observe/error-text.ts";
import { startStatusServer } from "../observe/http-server.ts";
import type { Logger } from "../observe/log.ts";
import { DEFAULT_TRUNCATE_PAGE_COUNT, ReplicatedDatabase } from "../replicate/database.ts";
import { DirectoryScanner } from "../replicate/directory-scanner.ts";
import { Replica } from "../replicate/replica.ts";
import { type ReplicatedSet, Replicator } from "../replicate/replicator.ts";
import { StorageError } from "../storage/object-store.ts";
import { describeTarget, openReplicaClient, resolveCredentials } from "../storage/open.ts";
import { EXIT_FAILURE, EXIT_OK, UsageError } from "./errors.ts";
import { loggerFor } from "./logger.ts";
import { ShutdownSignals } from "./signals.ts";
import { versionInfo } from "./version.ts";

export interface ReplicateFlags {
  config?: string;
  expandEnv: boolean;
  exec?: string;
}

export async function runReplicate(args: string[], flags: ReplicateFlags): Promise<number> {
  const signals = new ShutdownSignals();
  try {
    return await replicate(args, flags, signals);
  } finally {
    signals.dispose();
  }
}

async function replicate(args: string[], flags: ReplicateFlags, signals: ShutdownSignals): Promise<number> {
  const config = readConfig(args, flags);
  const log = loggerFor(config);
  const scanners = config.dbs.filter((d) => d.directory).map((d) => new DirectoryScanner(d));
  const initial = [
    ...config.dbs.filter((d) => !d.directory),
    ...scanners.flatMap((s) => s.scan().map((file) => databaseInDirectory(s.entry, file))),
  ];
  const sets = initial.map((dbc) => buildSet(dbc, log));
  // Fail fast on a replica we cannot even list: a wrong endpoint or key should not look like a running backup.
  for (const set of sets) {
    for (const r of set.replicas) {
      try {
        await r.client.generations();
      } catch (err) {
        throw new StorageError(
          `Cannot reach replica "${r.name}" of ${set.db.path}: ${errorMessage(err)}`,
          "list",
          "",
          errorHint(err),
          { cause: err },
        );
      }
    }
  }

  // Refuse if another walship replicates one of these databases (a missing one is checked when it appears).
  for (const set of sets) if (fs.existsSync(path.dirname(set.db.path))) set.db.lockProcess();

  log.info("walship starting", { version: versionInfo().version });
  if (config.dbs.length === 0) log.warn("no databases specified in configuration");
  for (const dbc of initial) logReplicas(dbc, log);
  for (const s of scanners) {
    log.info("replicating a directory", {
      dir: s.entry.path,
      pattern: s.entry.directory?.pattern,
      recursive: s.entry.directory?.recursive,
      watch: s.entry.directory?.watch,
    });
  }
  const replicator = new Replicator(sets, log);
  replicator.start();
  const watchers = scanners
    .filter((s) => s.entry.directory?.watch)
    .map((s) =>
      setInterval(
        () => {
          for (const file of s.scan()) {
            const dbc = databaseInDirectory(s.entry, file);
            logReplicas(dbc, log);
            replicator.add(buildSet(dbc, log));
          }
        },
        Math.max(s.entry.monitorIntervalMs, MIN_DIRECTORY_SCAN_MS),
      ),
    );
  const status = config.addr ? startStatusServer(config.addr, replicator.sets, config.healthMaxLagMs) : null;
  if (status) log.info("serving metrics", { url: `${status.url}/metrics`, healthz: `${status.url}/healthz` });
  const exec = flags.exec ?? config.exec;
  let code: number | null = null;
  if (exec && !signals.received) code = await superviseChild(exec, signals, log);
  else log.info("signal received, shutting down", { signal: await signals.wait() });
  for (const w of watchers) clearInterval(w);
  const ok = await replicator.stop();
  status?.stop();
  log.info("walship stopped", { final_sync: ok ? "ok" : "failed" });
  if (code !== null) return code;
  return ok ? EXIT_OK : EXIT_FAILURE;
}

/** Directories are rescanned no more often than this, whatever the monitor interval. */
const MIN_DIRECTORY_SCAN_MS = 500;

function logReplicas(dbc: DbConfig, log: Logger): void {
  for (const rc of dbc.replicas) {
    log.info("replicating to", {
      db: dbc.path,
      name: rc.name,
      sync_interval_ms: rc.syncIntervalMs,
      ...describeTarget(rc.target),
    });
  }
}

function readConfig(args: string[], flags: ReplicateFlags): Config {
  if (args.length === 1) {
    throw new UsageError(
      `Cannot replicate ${args[0]}: no replica URL given`,
      `walship replicate ${args[0]} file:///var/backups/app or s3://BUCKET/PATH`,
    );
  }
  if (args.length > 1) {
    if (flags.config) {
      throw new UsageError(
        "Cannot use -config together with DB_PATH REPLICA_URL arguments",
        "use one or the other",
      );
    }
    const config = configFromArgs(args[0]!, args.slice(1));
    const db = config.dbs[0]!;
    if (!fs.existsSync(db.path)) {
      throw new UsageError(
        `Cannot replicate ${db.path}: the database does not exist`,
        "check the path, or start the application that creates it first",
      );
    }
    return config;
  }
  return loadConfig({ path: flags.config, expandEnv: flags.expandEnv });
}

function buildSet(dbc: DbConfig, log: Logger): ReplicatedSet {
  const db = new ReplicatedDatabase({
    path: dbc.path,
    metaPath: dbc.metaPath,
    checkpointIntervalMs: dbc.checkpointIntervalMs,
    minCheckpointPageCount: dbc.minCheckpointPageCount,
    maxCheckpointPageCount: dbc.maxCheckpointPageCount,
    truncatePageCount: DEFAULT_TRUNCATE_PAGE_COUNT,
    log,
  });
  const replicas = dbc.replicas.map((rc) => {
    // Global keys were already copied into replicas without their own by the config reader.
    const credentials = resolveCredentials(
      { accessKeyId: rc.accessKeyId, secretAccessKey: rc.secretAccessKey },
      (name) => process.env[name],
    );
    return new Replica(db, {
      name: rc.name,
      client: openReplicaClient(rc.target, credentials),
      syncIntervalMs: rc.syncIntervalMs,
      retentionMs: rc.retentionMs,
      retentionCheckIntervalMs: rc.retentionCheckIntervalMs,
      snapshotIntervalMs: rc.snapshotIntervalMs,
      log,
    });
  });
  return { db, replicas, monitorIntervalMs: dbc.monitorIntervalMs };
}

/**
 * Runs the application as a child: signals are forwarded to it, and when it exits (on its own or after a
 * forwarded signal) the replicator does its final sync and walship exits with the child's code.
 */
async function superviseChild(command: string, signals: ShutdownSignals, log: Logger): Promise<number> {
  const argv = splitCommand(command);
  const child = Bun.spawn(argv, { stdio: ["inherit", "inherit", "inherit"], env: process.env });
  log.info("started subprocess", { command: argv[0], pid: child.pid });
  signals.onSignal((signal) => {
    log.info("signal received, forwarding to subprocess", { signal });
    child.kill(signal);
  });
  const code = await child.exited;
  const signal = child.signalCode;
  log.info("subprocess exited, shutting down", { code, signal: signal ?? undefined });
  // A child killed by a signal exits as a shell reports it: 128 + the signal number.
  if (signal) return 128 + (os.constants.signals[signal as NodeJS.Signals] ?? 0);
  return code;
}

/** Splits a command line on whitespace, honouring single and double quotes and backslash escapes (no shell). */
export function splitCommand(command: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quote: '"' | "'" | null = null;
  let has = false;
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === "\\" && quote === '"' && i + 1 < command.length) cur += command[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      has = true;
    } else if (c === "\\" && i + 1 < command.length) {
      cur += command[++i];
      has = true;
    } else if (/\s/.test(c)) {
      if (has || cur) out.push(cur);
      cur = "";
      has = false;
    } else {
      cur += c;
      has = true;
    }
  }
  if (quote) throw new UsageError(`Cannot run "${command}": unterminated quote`, "close the quote in -exec");
  if (has || cur) out.push(cur);
  if (out.length === 0)
    throw new UsageError(
      "Cannot run an empty -exec command",
      'give a command such as -exec "node server.js"',
    );
  return out;
}
