/**
 * The `DB_PATH | REPLICA_URL` argument of the listing commands, resolved to replica clients as
 * Litestream does: a URL is one replica named after its type; a path is looked up in the config and
 * brings that database's replicas (optionally only `-replica NAME`) and its modification time.
 * A directory is a replica too (databases are files); `restore` resolves its target here as well.
 */

import * as fs from "node:fs";
import * as os from "node:os";
import { readAgeKeyFile } from "../config/age-key-file.ts";
import type { Config, DbConfig } from "../config/config.ts";
import { type Credentials, resolveCredentials } from "../config/credentials.ts";
import { findDatabase } from "../config/directory.ts";
import { ConfigError } from "../config/errors.ts";
import { type LoadedConfig, loadConfigFile, replicaTargetFromUrl } from "../config/load.ts";
import { expandPath } from "../config/posix-path.ts";
import type { ReplicaTarget } from "../config/replica-target.ts";
import { isReplicaUrl } from "../config/replica-url.ts";
import { AgeDecryptor } from "../storage/age-decryptor.ts";
import { openReplicaClient } from "../storage/open.ts";
import type { ReplicaClient } from "../storage/replica-client.ts";
import { formatError, UsageError } from "./errors.ts";

export interface SourceFlags {
  config?: string | undefined;
  /** False for `-no-expand-env`; the command table sets it, direct callers may leave it out (default true). */
  expandEnv?: boolean | undefined;
  replica?: string | undefined;
  /** A file of age identities, for every replica (restore's -age-identity-file). */
  ageIdentityFile?: string | undefined;
}

export interface InspectReplica {
  name: string;
  client: ReplicaClient;
  /** Where it is, and the credentials it was opened with: to look next to it when it holds nothing. */
  target: ReplicaTarget;
  credentials: Credentials;
}

export interface ReplicaSource {
  replicas: InspectReplica[];
  /** The database path, in config mode. */
  dbPath?: string;
  /** The config that named the database, in config mode (its logging settings apply). */
  config?: Config;
  /**
   * What the `generations` lag is measured from: the newest mtime of the database and its `-wal` in
   * config mode, the current time with a URL. Null when the database file does not exist (lag `-`).
   */
  dbUpdatedAt: Date | null;
}

/**
 * Resolves the target of `walship COMMAND`. `what` names the action for messages ("list snapshots").
 *
 * @throws UsageError for a missing target, a URL with -config, or an unknown -replica
 * @throws ConfigError when the config cannot be read or does not list the database
 */
export function resolveReplicaSource(
  command: string,
  what: string,
  target: string | undefined,
  flags: SourceFlags,
  now: Date = new Date(),
): ReplicaSource {
  if (!target) {
    throw new UsageError(
      `Cannot run walship ${command}: no database path or replica URL given`,
      `walship ${command} /path/to/app.db, or walship ${command} s3://BUCKET/PATH`,
    );
  }
  const env = (name: string) => process.env[name];
  const extraIdentities =
    flags.ageIdentityFile === undefined
      ? []
      : readAgeKeyFile(flags.ageIdentityFile, "identity", "the age identity file");
  const local = isReplicaUrl(target)
    ? undefined
    : expandPath(target, { cwd: process.cwd(), home: os.homedir() });
  // A directory is a replica (databases are files), as `url: /var/backups/app` is in a config.
  if (local === undefined || isDirectory(local)) {
    if (flags.config) {
      throw new UsageError(
        `Cannot use -config with a replica ${local === undefined ? "URL" : "directory"}`,
        "drop -config, or pass the database path from the config",
      );
    }
    const replicaTarget = replicaTargetFromUrl(local ?? target);
    // Litestream names a URL's replica after its type; -replica may repeat that name, nothing else.
    const name = replicaTarget.type;
    if (flags.replica !== undefined && flags.replica !== name) {
      throw new UsageError(
        `Cannot ${what} ${target}: a replica URL is a single replica named "${name}", not "${flags.replica}"`,
        "drop -replica, or pass the database path from the config",
      );
    }
    const credentials = resolveCredentials({}, env);
    return {
      replicas: [
        {
          name,
          // Without identities, an encrypted object says what to give.
          client: openReplicaClient(replicaTarget, credentials).decrypting(new AgeDecryptor(extraIdentities)),
          target: replicaTarget,
          credentials,
        },
      ],
      dbUpdatedAt: now,
    };
  }

  const { config, db } = databaseInConfig(what, local, flags);
  const chosen =
    flags.replica === undefined ? db.replicas : db.replicas.filter((r) => r.name === flags.replica);
  if (chosen.length === 0) {
    throw new UsageError(
      `Cannot ${what} ${local}: it has no replica named "${flags.replica}"`,
      `use one of: ${db.replicas.map((r) => r.name).join(", ")}`,
    );
  }
  return {
    replicas: chosen.map((r) => {
      const credentials = resolveCredentials(
        {
          accessKeyId: r.accessKeyId ?? config.accessKeyId,
          secretAccessKey: r.secretAccessKey ?? config.secretAccessKey,
        },
        env,
      );
      return {
        name: r.name,
        client: openReplicaClient(r.target, credentials).decrypting(
          new AgeDecryptor([...(r.age?.identities ?? []), ...extraIdentities]),
        ),
        target: r.target,
        credentials,
      };
    }),
    dbPath: db.path,
    config,
    dbUpdatedAt: databaseUpdatedAt(local),
  };
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false;
  } catch {
    return false;
  }
}

/**
 * The config's entry for `dbPath`. A path is read two ways (a replica directory, or a database of the
 * config); when it is neither, the one error names both readings, so that a mistyped replica
 * directory does not read as "Cannot load config".
 */
function databaseInConfig(
  what: string,
  dbPath: string,
  flags: SourceFlags,
): { config: Config; db: DbConfig } {
  const asReplica = `not a replica directory (${fs.existsSync(dbPath) ? "it is a file" : "no such directory"})`;
  let loaded: LoadedConfig;
  try {
    loaded = loadConfigFile({ path: flags.config, expandEnv: flags.expandEnv ?? true });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new ConfigError(`Cannot ${what} ${dbPath}: it is ${asReplica}, and ${lowerFirst(err.message)}`, {
      code: err.code,
      file: err.file,
      cause: err,
      hint: `give the replica's directory or URL (file:///path, s3://BUCKET/PATH), or ${err.hint ?? "fix the config"}`,
    });
  }
  const db = findDatabase(loaded.config, dbPath);
  if (!db) {
    const known = loaded.config.dbs.map((d) => d.path);
    throw new ConfigError(`Cannot ${what} ${dbPath}: it is ${asReplica}, and not a database in the config`, {
      code: "database-not-configured",
      subject: dbPath,
      file: loaded.path,
      hint:
        known.length > 0
          ? `use one of: ${known.join(", ")} (walship databases lists them), or a replica directory or URL`
          : "add it under dbs: in the config, or pass a replica directory or URL",
    });
  }
  return { config: loaded.config, db };
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

/**
 * Litestream's `DB.UpdatedAt`: the newer mtime of the database and its `-wal`. Only stat(2): opening the
 * database file here could drop the POSIX locks of a replicator running in this process. Litestream
 * fails when the database is missing; a lost database is exactly when one lists backups, so the lag
 * is left unknown instead.
 */
export function databaseUpdatedAt(dbPath: string): Date | null {
  const mtime = (p: string): Date | null => {
    try {
      return fs.statSync(p, { throwIfNoEntry: false })?.mtime ?? null;
    } catch {
      return null; // e.g. EACCES on a parent directory: treated as unknown, like a missing file
    }
  };
  const db = mtime(dbPath);
  if (!db) return null;
  const wal = mtime(`${dbPath}-wal`);
  return wal && wal > db ? wal : db;
}

/** One replica's result, or why its listing failed. */
export type PerReplica<T> =
  | { replica: InspectReplica; value: T }
  | { replica: InspectReplica; error: unknown };

/**
 * Runs `fn` for every replica concurrently, in the order given. A failing replica does not stop the
 * others: Litestream logs such errors and still prints the rest, and so do we.
 */
export function forEachReplica<T>(
  replicas: readonly InspectReplica[],
  fn: (replica: InspectReplica) => Promise<T>,
): Promise<PerReplica<T>[]> {
  return Promise.all(
    replicas.map(async (replica) => {
      try {
        return { replica, value: await fn(replica) };
      } catch (error) {
        return { replica, error };
      }
    }),
  );
}

/** The one-line report of a replica whose listing failed, in the CLI's usual error style. */
export function replicaErrorLine(replica: string, error: unknown): string {
  return formatError(error).replace(/^walship: /, `walship: replica ${replica}: `);
}

/** The message of a replica's listing error, for JSON output (no `walship:` prefix). */
export function replicaErrorMessage(error: unknown): string {
  return formatError(error).replace(/^walship: /, "");
}

/** Where the listing commands write: `out` gets stdout text verbatim, `warn` one line per replica error. */
export interface CommandOutput {
  out: (text: string) => void;
  warn: (line: string) => void;
}

export const processOutput: CommandOutput = {
  out: (text) => process.stdout.write(text),
  warn: (line) => process.stderr.write(`${line}\n`),
};
