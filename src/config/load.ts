/**
 * Binds the pure config parsers to the process: finds and reads the config file (`-config PATH`,
 * else `$WALSHIP_CONFIG`, else `$LITESTREAM_CONFIG`, else the first of `/etc/walship.yml` and
 * `/etc/litestream.yml` that exists) and builds configs from command-line URLs. The only module in
 * src/config that touches the file system and the process environment.
 */

import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import {
  type Config,
  DEFAULT_HEALTH_MAX_LAG_MS,
  dbConfigFromArgs,
  defaultLogging,
  parseConfig,
} from "./config.ts";
import type { EnvLookup } from "./env-expand.ts";
import { ConfigError } from "./errors.ts";
import { expandPath } from "./posix-path.ts";
import type { ReplicaTarget } from "./replica-target.ts";
import { parseReplicaUrl } from "./replica-url.ts";

/** Searched in order when no path is given. */
export const DEFAULT_CONFIG_PATHS: readonly string[] = ["/etc/walship.yml", "/etc/litestream.yml"];

export type ConfigPathSource = "flag" | "WALSHIP_CONFIG" | "LITESTREAM_CONFIG" | "default";

export interface LoadConfigOptions {
  /** The `-config` flag. */
  path?: string;
  /** Expand `$VAR` in the file (default true; false for `-no-expand-env`). */
  expandEnv?: boolean;
  /** Defaults to `process.env`. */
  env?: EnvLookup;
  /** Defaults to `process.cwd()`. */
  cwd?: string;
  /** Defaults to the user's home directory. */
  home?: string;
  /** Defaults to DEFAULT_CONFIG_PATHS; tests point this elsewhere. */
  defaultPaths?: readonly string[];
}

export interface LoadedConfig {
  /** Absolute path of the file that was read. */
  path: string;
  /** Which setting chose the file. */
  source: ConfigPathSource;
  config: Config;
}

/**
 * Resolves, reads and parses the config file. Synchronous: it runs once, before anything else.
 *
 * @throws ConfigError when no file is found, it cannot be read, or it is invalid
 */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  return loadConfigFile(options).config;
}

/** Like `loadConfig`, and also says which file was read and why. */
export function loadConfigFile(options: LoadConfigOptions = {}): LoadedConfig {
  const env = options.env ?? processEnv;
  const dirs = { cwd: options.cwd ?? process.cwd(), home: options.home ?? homedir() };
  const { path, source } = resolveConfigPath({ ...options, env, ...dirs });

  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw readError(path, source, error);
  }
  const config = parseConfig(text, { file: path, expandEnv: options.expandEnv ?? true, env, ...dirs });
  return { path, source, config };
}

/**
 * The config of `replicate DB_PATH REPLICA_URL...`: one database, default settings, replicas
 * named by type (`s3`, `s3-2`, ...).
 *
 * @throws ReplicaUrlError when a URL is not usable
 */
export function configFromArgs(dbPath: string, urls: readonly string[]): Config {
  const db = dbConfigFromArgs(dbPath, urls, { cwd: process.cwd(), home: homedir(), env: processEnv });
  return { dbs: [db], logging: defaultLogging(), healthMaxLagMs: DEFAULT_HEALTH_MAX_LAG_MS };
}

/**
 * A replica URL given on the command line, with the endpoint environment fallback applied.
 *
 * @throws ReplicaUrlError when the URL is not usable
 */
export function replicaTargetFromUrl(url: string): ReplicaTarget {
  return parseReplicaUrl(url, { cwd: process.cwd(), home: homedir(), env: processEnv });
}

function processEnv(name: string): string | undefined {
  return process.env[name];
}

/**
 * Picks the config file path without reading it.
 *
 * @throws ConfigError when nothing was given and no default file exists
 */
export function resolveConfigPath(options: {
  path?: string;
  env: EnvLookup;
  cwd: string;
  home: string;
  defaultPaths?: readonly string[];
}): { path: string; source: ConfigPathSource } {
  const given: [string | undefined, ConfigPathSource][] = [
    [options.path, "flag"],
    [options.env("WALSHIP_CONFIG"), "WALSHIP_CONFIG"],
    [options.env("LITESTREAM_CONFIG"), "LITESTREAM_CONFIG"],
  ];
  for (const [path, source] of given) {
    if (path !== undefined && path !== "") return { path: expandPath(path, options), source };
  }
  const defaults = options.defaultPaths ?? DEFAULT_CONFIG_PATHS;
  const found = defaults.find((path) => existsSync(path));
  if (found !== undefined) return { path: found, source: "default" };
  throw new ConfigError(`Cannot load config: no config file found (looked for ${defaults.join(" and ")})`, {
    code: "config-not-found",
    hint: `create ${defaults[0] ?? "a config file"}, pass -config PATH, or give DB_PATH and REPLICA_URL arguments`,
  });
}

function readError(path: string, source: ConfigPathSource, error: unknown): ConfigError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code; // fs errors carry a string code
  const from = source === "flag" ? "-config" : source === "default" ? "the default path" : source;
  if (code === "ENOENT") {
    return new ConfigError(`Cannot load config: file not found: "${path}" (from ${from})`, {
      code: "config-not-found",
      file: path,
      hint: "check the path, or create the file",
      cause: error,
    });
  }
  if (code === "EACCES" || code === "EPERM") {
    return new ConfigError(`Cannot load config: permission denied reading "${path}"`, {
      code: "config-unreadable",
      file: path,
      hint: `run as a user that can read it, or check its mode with: ls -l ${path}`,
      cause: error,
    });
  }
  if (code === "EISDIR") {
    return new ConfigError(`Cannot load config: "${path}" is a directory`, {
      code: "config-unreadable",
      file: path,
      hint: "point -config at the YAML file itself",
      cause: error,
    });
  }
  return new ConfigError(`Cannot load config: cannot read "${path}" (${code ?? "unknown error"})`, {
    code: "config-unreadable",
    file: path,
    cause: error,
  });
}
