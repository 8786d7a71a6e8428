/**
 * The configuration model and `parseConfig`, which reads litestream.yml-style text strictly:
 * Litestream 0.3.13's keys and defaults, unknown keys rejected with a did-you-mean, values checked
 * for type and range. Pure: the caller supplies the environment, working and home directories.
 */

import { formatByteSize } from "./byte-size.ts";
import { ConfigReader, positionOf } from "./config-reader.ts";
import type { Credentials } from "./credentials.ts";
import { didYouMean } from "./did-you-mean.ts";
import { globToRegExp } from "./directory.ts";
import { type EnvLookup, expandEnv } from "./env-expand.ts";
import { expandPath } from "./posix-path.ts";
import { type ReplicaConfig, readReplica, replicasFromUrls } from "./replica-config.ts";
import { parseYamlTree, YamlDecodeError, type YamlNode } from "./yaml-tree.ts";

export type { ReplicaConfig } from "./replica-config.ts";
export { replicaFromUrl, replicasFromUrls } from "./replica-config.ts";

/** Litestream's `DefaultMonitorInterval`. */
export const DEFAULT_MONITOR_INTERVAL_MS = 1_000;
/** Litestream's `DefaultCheckpointInterval`. */
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 60_000;
/** Litestream's `DefaultMinCheckpointPageN`: WAL pages before a PASSIVE checkpoint. */
export const DEFAULT_MIN_CHECKPOINT_PAGE_COUNT = 1_000;
/** Litestream's `DefaultMaxCheckpointPageN`: WAL pages before a RESTART checkpoint. */
export const DEFAULT_MAX_CHECKPOINT_PAGE_COUNT = 10_000;
/**
 * The most of a database's changes walship lets stand outside its replicas (see `DbConfig.maxWalBytes`).
 * About two seconds of what one core compresses and uploads here (measured with bench:load's flood), so
 * a stop ships all of it within the three seconds a service manager waits.
 */
export const DEFAULT_MAX_WAL_BYTES = 256 * 2 ** 20;
/** Below about Litestream's PASSIVE threshold (1000 pages), writers would be held at nearly every checkpoint. */
export const MIN_MAX_WAL_BYTES = 4 * 2 ** 20;

/** A replica behind for longer than this makes /healthz fail: long enough for a large snapshot upload. */
export const DEFAULT_HEALTH_MAX_LAG_MS = 2 * 60_000;

/** Files replicated in directory mode when no pattern is given. */
export const DEFAULT_DIRECTORY_PATTERN = "*.db";

export type LogLevel = "debug" | "info" | "warn" | "error";

export interface LoggingConfig {
  level: LogLevel;
  type: "text" | "json";
  /** Log to stderr instead of stdout. */
  stderr: boolean;
}

export interface DbConfig {
  /** Absolute database path; for a directory entry, the directory. */
  path: string;
  /**
   * Directory mode (Litestream 0.5's `dir`): every database file under `path` whose name matches
   * `pattern` is replicated, each under `<replica path>/<path relative to the directory>`.
   */
  directory?: DirectorySpec;
  /** Absolute meta directory; undefined means `<dir>/.<file>-litestream`. */
  metaPath?: string;
  /** How often the database is checked for new WAL frames; 0 turns background sync off. */
  monitorIntervalMs: number;
  /** Time-based PASSIVE checkpoint interval; 0 turns it off. */
  checkpointIntervalMs: number;
  minCheckpointPageCount: number;
  /** 0 turns RESTART checkpoints off. */
  maxCheckpointPageCount: number;
  /**
   * Backpressure bound (`max-wal-size`): the WAL, and what was captured but is not in every replica yet,
   * are kept below it by holding the application's writers for moments; 0 turns it off.
   */
  maxWalBytes: number;
  replicas: ReplicaConfig[];
}

export interface DirectorySpec {
  /** Glob matched against file names, e.g. `*.db`. */
  pattern: string;
  /** Also look in subdirectories. */
  recursive: boolean;
  /** Keep looking for databases created after start-up. */
  watch: boolean;
}

export interface Config {
  dbs: DbConfig[];
  /** Global credentials; already copied into every S3 replica that has none of its own. */
  accessKeyId?: string;
  secretAccessKey?: string;
  logging: LoggingConfig;
  /** Metrics listen address such as ":9090". */
  addr?: string;
  /** /healthz fails when a replica has been behind for longer than this (walship's addition). */
  healthMaxLagMs: number;
  /** Command to run as a child process while replicating. */
  exec?: string;
}

export interface ParseConfigOptions {
  /** Shown in error messages. */
  file?: string;
  /** Expand `$VAR`/`${VAR}` in the whole text first, as Litestream does unless `-no-expand-env`. */
  expandEnv: boolean;
  env: EnvLookup;
  cwd: string;
  home: string;
}

/** Litestream's logging defaults: info, text, to stdout. */
export function defaultLogging(): LoggingConfig {
  return { level: "info", type: "text", stderr: false };
}

const LOG_LEVELS: Readonly<Record<string, LogLevel>> = {
  debug: "debug",
  info: "info",
  warn: "warn",
  warning: "warn",
  error: "error",
};

/**
 * Parses config text into a validated Config.
 *
 * @throws ConfigError naming the key path (and line) of the first problem, with a hint
 */
export function parseConfig(text: string, options: ParseConfigOptions): Config {
  const reader = new ConfigReader(options.file);
  const source = options.expandEnv ? expandEnv(text, options.env) : text;
  let root: YamlNode | undefined;
  try {
    root = parseYamlTree(source);
  } catch (error) {
    if (!(error instanceof YamlDecodeError)) throw error;
    reader.fail("", error.message, {
      position: error.position,
      hint:
        source === text
          ? "fix the YAML syntax at that line"
          : 'environment variables are expanded before parsing; quote values that use them, e.g. key: "$VAR"',
    });
  }

  const config: Config = { dbs: [], logging: defaultLogging(), healthMaxLagMs: DEFAULT_HEALTH_MAX_LAG_MS };
  if (root === undefined) return config;
  const top = reader.map(root, "");
  reader.checkKeys(top, "", "global");

  const credentials: Credentials = {};
  const accessKeyId = reader.get(top, "", "access-key-id", reader.string);
  const secretAccessKey = reader.get(top, "", "secret-access-key", reader.string);
  if (accessKeyId !== undefined) config.accessKeyId = credentials.accessKeyId = accessKeyId;
  if (secretAccessKey !== undefined) config.secretAccessKey = credentials.secretAccessKey = secretAccessKey;

  const logging = top.entries.get("logging")?.value;
  if (logging !== undefined) config.logging = readLogging(reader, logging);
  const addr = reader.get(top, "", "addr", reader.string);
  if (addr !== undefined) {
    if (!/^(\[[^\]]*\]|[^:]*):\d{1,5}$/.test(addr)) {
      reader.fail("addr", `addr must include a port, such as ":9090", not "${addr}"`, {
        hint: 'addr: ":9090" (all interfaces) or addr: "127.0.0.1:9090"',
        position: positionOf(top, "addr"),
      });
    }
    config.addr = addr;
  }
  config.healthMaxLagMs = reader.offOrDuration(top, "", "health-max-lag", DEFAULT_HEALTH_MAX_LAG_MS);
  const exec = reader.get(top, "", "exec", reader.string);
  if (exec !== undefined) config.exec = exec;

  const dbs = top.entries.get("dbs")?.value;
  const context = { reader, env: options.env, cwd: options.cwd, home: options.home, credentials };
  const seenPaths = new Map<string, string>();
  for (const [index, node] of (dbs === undefined ? [] : reader.list(dbs, "dbs")).entries()) {
    const key = `dbs[${index}]`;
    const db = readDb(node, key, context);
    const earlier = seenPaths.get(db.path);
    if (earlier !== undefined) {
      reader.fail(`${key}.path`, `${key}.path is the same database as ${earlier}.path ("${db.path}")`, {
        hint: "list each database once",
        position: node.position,
      });
    }
    seenPaths.set(db.path, key);
    config.dbs.push(db);
  }
  return config;
}

/**
 * The database of `replicate DB_PATH URL...`: default settings and one replica per URL.
 *
 * @throws ReplicaUrlError when a URL is not usable
 */
export function dbConfigFromArgs(
  dbPath: string,
  urls: readonly string[],
  options: { cwd: string; home: string; env: EnvLookup },
): DbConfig {
  return {
    path: expandPath(dbPath, options),
    monitorIntervalMs: DEFAULT_MONITOR_INTERVAL_MS,
    checkpointIntervalMs: DEFAULT_CHECKPOINT_INTERVAL_MS,
    minCheckpointPageCount: DEFAULT_MIN_CHECKPOINT_PAGE_COUNT,
    maxCheckpointPageCount: DEFAULT_MAX_CHECKPOINT_PAGE_COUNT,
    maxWalBytes: DEFAULT_MAX_WAL_BYTES,
    replicas: replicasFromUrls(urls, options),
  };
}

interface DbContext {
  reader: ConfigReader;
  env: EnvLookup;
  cwd: string;
  home: string;
  credentials: Credentials;
}

function readDb(node: YamlNode, key: string, context: DbContext): DbConfig {
  const reader: ConfigReader = context.reader;
  const map = reader.map(node, key);
  reader.checkKeys(map, key, "db");
  const at = (name: string) => map.entries.get(name)?.value;

  const path = reader.get(map, key, "path", reader.string);
  const dir = reader.get(map, key, "dir", reader.string);
  if (path !== undefined && dir !== undefined) {
    reader.fail(`${key}.dir`, `${key} has both path and dir`, {
      hint: "use path for one database, or dir (with pattern) for every database in a directory",
      position: positionOf(map, "dir"),
    });
  }
  const target = path ?? dir;
  if (target === undefined) {
    reader.fail(`${key}.path`, `${key} has no path`, {
      hint: "add the database file, e.g. path: /var/lib/app/app.db (or dir: for a directory of databases)",
      position: map.position,
    });
  }
  for (const name of ["pattern", "recursive", "watch"]) {
    if (dir === undefined && map.entries.has(name)) {
      reader.fail(`${key}.${name}`, `${key}.${name} only applies with dir`, {
        hint: `remove ${name}, or replace path with dir`,
        position: positionOf(map, name),
      });
    }
  }
  const db: DbConfig = {
    path: expandPath(target, context),
    monitorIntervalMs: reader.offOrDuration(map, key, "monitor-interval", DEFAULT_MONITOR_INTERVAL_MS),
    checkpointIntervalMs: reader.offOrDuration(
      map,
      key,
      "checkpoint-interval",
      DEFAULT_CHECKPOINT_INTERVAL_MS,
    ),
    minCheckpointPageCount:
      reader.get(map, key, "min-checkpoint-page-count", reader.integer) ?? DEFAULT_MIN_CHECKPOINT_PAGE_COUNT,
    maxCheckpointPageCount:
      reader.get(map, key, "max-checkpoint-page-count", reader.integer) ?? DEFAULT_MAX_CHECKPOINT_PAGE_COUNT,
    maxWalBytes: reader.get(map, key, "max-wal-size", reader.byteSize) ?? DEFAULT_MAX_WAL_BYTES,
    replicas: [],
  };
  const metaPath = reader.get(map, key, "meta-path", reader.string);
  if (metaPath !== undefined) db.metaPath = expandPath(metaPath, context);
  if (dir !== undefined) {
    if (metaPath !== undefined) {
      reader.fail(
        `${key}.meta-path`,
        `${key}.meta-path cannot be used with dir: every database needs its own`,
        {
          hint: "remove meta-path; each database keeps its state beside itself",
          position: positionOf(map, "meta-path"),
        },
      );
    }
    const pattern = reader.get(map, key, "pattern", reader.string) ?? DEFAULT_DIRECTORY_PATTERN;
    try {
      globToRegExp(pattern);
    } catch (error) {
      reader.fail(
        `${key}.pattern`,
        `${key}.pattern "${pattern}" is not a usable glob: ${(error as Error).message}`,
        {
          hint: 'pattern: "*.db" (use *, ? and [abc] classes with ranges in order, like [a-z])',
          position: positionOf(map, "pattern"),
        },
      );
    }
    db.directory = {
      pattern,
      recursive: reader.get(map, key, "recursive", reader.bool) ?? false,
      watch: reader.get(map, key, "watch", reader.bool) ?? false,
    };
  }

  if (db.minCheckpointPageCount <= 0) {
    reader.fail(
      `${key}.min-checkpoint-page-count`,
      `${key}.min-checkpoint-page-count must be greater than 0`,
      {
        hint: `min-checkpoint-page-count: ${DEFAULT_MIN_CHECKPOINT_PAGE_COUNT}`,
        position: positionOf(map, "min-checkpoint-page-count"),
      },
    );
  }
  if (db.maxCheckpointPageCount < 0) {
    reader.fail(`${key}.max-checkpoint-page-count`, `${key}.max-checkpoint-page-count must not be negative`, {
      hint: "use 0 to turn RESTART checkpoints off",
      position: positionOf(map, "max-checkpoint-page-count"),
    });
  }
  if (db.maxCheckpointPageCount > 0 && db.maxCheckpointPageCount < db.minCheckpointPageCount) {
    // Litestream does not check this; the RESTART threshold would fire before the PASSIVE one.
    reader.fail(
      `${key}.max-checkpoint-page-count`,
      `${key}.max-checkpoint-page-count (${db.maxCheckpointPageCount}) is below min-checkpoint-page-count (${db.minCheckpointPageCount})`,
      {
        hint: "make max-checkpoint-page-count at least min-checkpoint-page-count, or 0 to turn it off",
        position: positionOf(map, "max-checkpoint-page-count"),
      },
    );
  }

  if (db.maxWalBytes !== 0 && db.maxWalBytes < MIN_MAX_WAL_BYTES) {
    reader.fail(
      `${key}.max-wal-size`,
      `${key}.max-wal-size (${formatByteSize(db.maxWalBytes)}) is below ${formatByteSize(MIN_MAX_WAL_BYTES)}: the application's writers would wait at nearly every checkpoint`,
      {
        hint: `use at least max-wal-size: ${formatByteSize(MIN_MAX_WAL_BYTES)}, or 0 to turn the bound off`,
        position: positionOf(map, "max-wal-size"),
      },
    );
  }

  const many = at("replicas");
  const one = at("replica");
  if (many !== undefined && one !== undefined) {
    reader.fail(`${key}.replica`, `${key} has both replicas and replica`, {
      hint: "put every replica in the replicas list",
      position: positionOf(map, "replica"),
    });
  }
  const entries: [YamlNode, string][] =
    one !== undefined
      ? [[one, `${key}.replica`]]
      : (many === undefined ? [] : reader.list(many, `${key}.replicas`)).map((replica, index) => [
          replica,
          `${key}.replicas[${index}]`,
        ]);
  const names = new Map<string, string>();
  for (const [replicaNode, replicaKey] of entries) {
    const replica = readReplica(replicaNode, replicaKey, context);
    const earlier = names.get(replica.name);
    if (earlier !== undefined) {
      reader.fail(
        `${replicaKey}.name`,
        `duplicate replica name "${replica.name}" in ${key} (also ${earlier})`,
        {
          hint: `give each replica its own name, e.g. name: ${replica.name}-2`,
          position: replicaNode.position,
        },
      );
    }
    names.set(replica.name, replicaKey);
    db.replicas.push(replica);
  }
  return db;
}

function readLogging(reader: ConfigReader, node: YamlNode): LoggingConfig {
  const map = reader.map(node, "logging");
  reader.checkKeys(map, "logging", "logging");
  const logging = defaultLogging();
  const level = reader.get(map, "logging", "level", reader.string);
  if (level !== undefined) {
    const known = LOG_LEVELS[level.toLowerCase()];
    if (known === undefined) {
      const suggestion = didYouMean(level.toLowerCase(), Object.keys(LOG_LEVELS));
      reader.fail("logging.level", `logging.level must be debug, info, warn or error, not "${level}"`, {
        hint: suggestion === undefined ? "level: info" : `level: ${suggestion}`,
        position: positionOf(map, "level"),
      });
    }
    logging.level = known;
  }
  const type = reader.get(map, "logging", "type", reader.string);
  if (type !== undefined) {
    // Litestream panics on anything else.
    if (type !== "text" && type !== "json") {
      reader.fail("logging.type", `logging.type must be text or json, not "${type}"`, {
        hint: "type: text",
        position: positionOf(map, "type"),
      });
    }
    logging.type = type;
  }
  const stderr = reader.get(map, "logging", "stderr", reader.bool);
  if (stderr !== undefined) logging.stderr = stderr;
  return logging;
}
