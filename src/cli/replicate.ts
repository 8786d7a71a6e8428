/** `walship replicate`: run the replicator from a config file or from `DB_PATH REPLICA_URL...`. */

import * as fs from "node:fs";
import * as os from "node:os";
import type { Config } from "../config/config.ts";
import { ConfigError } from "../config/errors.ts";
import { configFromArgs, loadConfig } from "../config/load.ts";
import type { Logger } from "../observe/log.ts";
import { ReplicationService } from "../replicate/service.ts";
import { spawnInheriting } from "../runtime/subprocess.ts";
import { EXIT_FAILURE, EXIT_OK, UsageError } from "./errors.ts";
import { loggerFor } from "./logger.ts";
import { requireReplicationSupport } from "./runtime-support.ts";
import { ShutdownSignals } from "./signals.ts";
import { versionInfo } from "./version.ts";

export interface ReplicateFlags {
  config?: string | undefined;
  expandEnv: boolean;
  exec?: string | undefined;
  verbose?: boolean;
}

export async function runReplicate(args: string[], flags: ReplicateFlags): Promise<number> {
  requireReplicationSupport("replicate");
  const signals = new ShutdownSignals();
  try {
    return await replicate(args, flags, signals);
  } finally {
    signals.dispose();
  }
}

async function replicate(args: string[], flags: ReplicateFlags, signals: ShutdownSignals): Promise<number> {
  const config = readConfig(args, flags);
  const log = loggerFor(config, flags.verbose);
  const { version, commit } = versionInfo();
  const service = await ReplicationService.open(config, log, { version, commit });
  log.info("walship starting", { version });
  service.start();
  const exec = flags.exec ?? config.exec;
  let code: number | null = null;
  if (exec && !signals.received) code = await superviseChild(exec, signals, log);
  else log.info("signal received, shutting down", { signal: await signals.wait() });
  const ok = await service.stop();
  log.info("walship stopped", { final_sync: ok ? "ok" : "failed" });
  if (code !== null) return code;
  return ok ? EXIT_OK : EXIT_FAILURE;
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
  const config = loadConfig({ path: flags.config, expandEnv: flags.expandEnv });
  for (const db of config.dbs) {
    const readOnly = db.replicas.find((r) => r.age && r.age.recipients.length === 0);
    if (readOnly) {
      throw new ConfigError(
        `Cannot replicate ${db.path} to replica ${readOnly.name}: its age entry has identities but no recipients, so what walship writes would not be encrypted`,
        {
          hint: "add the recipients (age1…, age-keygen -y KEYFILE prints them) under age: recipients or recipients-file",
        },
      );
    }
  }
  return config;
}

/**
 * Runs the application as a child: signals are forwarded to it, and when it exits (on its own or after a
 * forwarded signal) the replicator does its final sync and walship exits with the child's code.
 */
async function superviseChild(command: string, signals: ShutdownSignals, log: Logger): Promise<number> {
  const argv = splitCommand(command);
  const child = spawnInheriting(argv, process.env);
  log.info("started subprocess", { command: argv[0], pid: child.pid });
  signals.onSignal((signal) => {
    log.info("signal received, forwarding to subprocess", { signal });
    child.kill(signal);
  });
  const { code, signal } = await child.exited;
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
