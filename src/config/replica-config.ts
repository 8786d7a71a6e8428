/**
 * One replica: read from a `replicas[]` entry (either `url`, or `type` with `path`/`bucket`/...,
 * merged as Litestream's `newS3ReplicaClientFromConfig` does) or built from a URL argument.
 */

import { type AbsSettings, resolveAbsTarget } from "./abs-target.ts";
import { type AgeConfig, readAgeConfig } from "./age-config.ts";
import { TYPE_KEYS } from "./config-keys.ts";
import { type ConfigReader, childKey, positionOf } from "./config-reader.ts";
import type { Credentials } from "./credentials.ts";
import { didYouMean } from "./did-you-mean.ts";
import { parseEndpoint } from "./endpoint.ts";
import type { EnvLookup } from "./env-expand.ts";
import { ReplicaUrlError, redactUrl } from "./errors.ts";
import { expandPath } from "./posix-path.ts";
import type { ReplicaTarget, S3Settings } from "./replica-target.ts";
import { isReplicaUrl, parseReplicaUrl, replicaUrlType } from "./replica-url.ts";
import { bucketNameProblem, cleanKeyPrefix, resolveS3Target } from "./s3-target.ts";
import { resolveSftpTarget, type SftpSettings } from "./sftp-target.ts";
import type { YamlMap, YamlNode } from "./yaml-tree.ts";

/** Litestream's `DefaultSyncInterval`. */
export const DEFAULT_SYNC_INTERVAL_MS = 1_000;
/** Litestream's `DefaultRetention`. */
export const DEFAULT_RETENTION_MS = 24 * 60 * 60 * 1_000;
/** Litestream's `DefaultRetentionCheckInterval`. */
export const DEFAULT_RETENTION_CHECK_INTERVAL_MS = 60 * 60 * 1_000;
/** Snapshots are taken only by retention unless an interval is set, as in Litestream. */
export const DEFAULT_SNAPSHOT_INTERVAL_MS = 0;
/** Validation is off unless an interval is set, as in Litestream. */
export const DEFAULT_VALIDATION_INTERVAL_MS = 0;

export interface ReplicaConfig {
  /** Unique per database; defaults to the target type (`file`, `s3`). */
  name: string;
  target: ReplicaTarget;
  /** Minimum time between uploads; always > 0. */
  syncIntervalMs: number;
  /** How long snapshots and WAL are kept; 0 keeps everything. */
  retentionMs: number;
  retentionCheckIntervalMs: number;
  /** 0 turns scheduled snapshots off. */
  snapshotIntervalMs: number;
  /** How often the replica is restored and compared with the database (validator.ts); 0 turns it off. */
  validationIntervalMs: number;
  /** Static S3 credentials (the replica's own, else the global ones); secret, never print. */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** age encryption (identities are secret, never print). */
  age?: AgeConfig;
}

export interface ReplicaContext {
  reader: ConfigReader;
  env: EnvLookup;
  cwd: string;
  home: string;
  /** Global credentials, used by S3 replicas that have none of their own. */
  credentials: Credentials;
}

type ReplicaType = ReplicaTarget["type"];
const SUPPORTED_TYPES: readonly ReplicaType[] = ["file", "s3", "sftp", "abs"];
const LATER_TYPES = ["gcs"];

/** Reads and validates one replica entry. */
export function readReplica(node: YamlNode, key: string, context: ReplicaContext): ReplicaConfig {
  const reader: ConfigReader = context.reader;
  const map = reader.map(node, key);
  reader.checkKeys(map, key, "replica");

  const type = readType(map, key, reader);
  const target = readTarget(map, key, type, context);
  checkTypeKeys(map, key, target.type, reader);

  const replica: ReplicaConfig = {
    name: reader.get(map, key, "name", reader.string) ?? target.type,
    target,
    syncIntervalMs: reader.offOrDuration(map, key, "sync-interval", DEFAULT_SYNC_INTERVAL_MS),
    retentionMs: reader.offOrDuration(map, key, "retention", DEFAULT_RETENTION_MS),
    retentionCheckIntervalMs: reader.offOrDuration(
      map,
      key,
      "retention-check-interval",
      DEFAULT_RETENTION_CHECK_INTERVAL_MS,
    ),
    snapshotIntervalMs: reader.offOrDuration(map, key, "snapshot-interval", DEFAULT_SNAPSHOT_INTERVAL_MS),
    validationIntervalMs: reader.offOrDuration(
      map,
      key,
      "validation-interval",
      DEFAULT_VALIDATION_INTERVAL_MS,
    ),
  };
  const age = map.entries.get("age");
  if (age) replica.age = readAgeConfig(age.value, childKey(key, "age"), reader, context);
  if (replica.validationIntervalMs > 0 && replica.age && replica.age.identities.length === 0) {
    // Validation restores the replica, and an encrypted one reads back only with an identity.
    reader.fail(
      `${key}.validation-interval`,
      `${key}.validation-interval needs age identities: validating restores the replica, which is encrypted`,
      {
        hint: "add age.identities (or identities-file), or remove validation-interval",
        position: positionOf(map, "validation-interval"),
      },
    );
  }
  // sync-interval: 0 ships every commit as soon as it is captured (Litestream panics on 0).
  // Litestream also panics on this one (time.NewTicker with 0).
  if (replica.retentionMs > 0 && replica.retentionCheckIntervalMs === 0) {
    reader.fail(
      `${key}.retention-check-interval`,
      `${key}.retention-check-interval must be greater than 0 while retention is on`,
      { hint: "retention-check-interval: 1h", position: positionOf(map, "retention-check-interval") },
    );
  }

  if (target.type === "s3") {
    const accessKeyId =
      reader.get(map, key, "access-key-id", reader.string) ?? context.credentials.accessKeyId;
    const secretAccessKey =
      reader.get(map, key, "secret-access-key", reader.string) ?? context.credentials.secretAccessKey;
    if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
      const [has, lacks] =
        accessKeyId === undefined
          ? ["secret-access-key", "access-key-id"]
          : ["access-key-id", "secret-access-key"];
      reader.fail(`${key}.${lacks}`, `${key} has ${has} but no ${lacks} (here or at the top level)`, {
        hint: `set ${lacks} too, or remove ${has} to use the AWS credential chain`,
        position: map.position,
      });
    }
    if (accessKeyId !== undefined) replica.accessKeyId = accessKeyId;
    if (secretAccessKey !== undefined) replica.secretAccessKey = secretAccessKey;
  }
  return replica;
}

/** Refuses a key that belongs to other storage types (`bucket` on an sftp replica, `host` on s3). */
function checkTypeKeys(map: YamlMap, key: string, type: ReplicaType, reader: ConfigReader): void {
  const own = type === "file" ? [] : TYPE_KEYS[type];
  for (const [name, entry] of map.entries) {
    if (own.includes(name)) continue;
    const owners = Object.entries(TYPE_KEYS)
      .filter(([, names]) => names.includes(name))
      .map(([t]) => t);
    if (owners.length === 0) continue;
    reader.fail(
      childKey(key, name),
      `${childKey(key, name)} only applies to ${owners.join(" and ")} replicas`,
      {
        hint: `remove "${name}", or make this an ${owners.join(" or ")} replica`,
        position: entry.keyPosition,
      },
    );
  }
}

function readType(map: YamlMap, key: string, reader: ConfigReader): ReplicaType | undefined {
  const type = reader.get(map, key, "type", reader.string);
  if (type === undefined || (SUPPORTED_TYPES as readonly string[]).includes(type))
    return type as ReplicaType | undefined;
  const position = positionOf(map, "type");
  if (LATER_TYPES.includes(type)) {
    reader.fail(`${key}.type`, `${key}.type "${type}" is not supported yet`, {
      hint: "use GCS's S3 API with an HMAC key: type: s3, endpoint: storage.googleapis.com, and the key as access-key-id and secret-access-key",
      position,
    });
  }
  const suggestion = didYouMean(type, SUPPORTED_TYPES);
  return reader.fail(`${key}.type`, `${key}.type must be file, s3, sftp or abs, not "${type}"`, {
    hint: `type: ${suggestion ?? "s3"}`,
    position,
  });
}

function readTarget(
  map: YamlMap,
  key: string,
  type: ReplicaType | undefined,
  context: ReplicaContext,
): ReplicaTarget {
  const reader: ConfigReader = context.reader;
  const url = reader.get(map, key, "url", reader.string);
  const path = reader.get(map, key, "path", reader.string);
  const bucket = reader.get(map, key, "bucket", reader.string);
  // Keys are read for the type the replica has; checkTypeKeys refuses the others afterwards.
  const kind = (url === undefined ? undefined : replicaUrlType(url)) ?? type ?? "file";
  const settings = kind === "s3" ? readS3Settings(map, key, reader) : {};
  const sftp = kind === "sftp" ? readSftpSettings(map, key, reader) : {};
  const abs = kind === "abs" ? readAbsSettings(map, key, reader) : {};
  const fail = (reason: string, hint: string): never =>
    reader.fail(key, `${key} is not usable: ${reason}`, { hint, position: map.position });

  if (path !== undefined && isReplicaUrl(path)) {
    reader.fail(`${key}.path`, `${key}.path cannot be a URL`, {
      hint: `use url: ${redactUrl(path)}`,
      position: positionOf(map, "path"),
    });
  }
  if (url !== undefined) {
    // As Litestream: the URL names where, so the keys that also name it would contradict it.
    for (const other of ["path", "bucket", "host"] as const) {
      if (map.entries.has(other)) {
        reader.fail(`${key}.${other}`, `${key} has both url and ${other}`, {
          hint: `remove ${other}; the URL already names it`,
          position: positionOf(map, other),
        });
      }
    }
    let target: ReplicaTarget;
    try {
      target = parseReplicaUrl(url, {
        cwd: context.cwd,
        home: context.home,
        env: context.env,
        settings,
        sftp,
        abs,
      });
    } catch (error) {
      if (!(error instanceof ReplicaUrlError)) throw error;
      return reader.fail(`${key}.url`, `${key}.url "${error.url}" is not usable: ${error.reason}`, {
        hint: error.hint,
        position: positionOf(map, "url"),
      });
    }
    if (type !== undefined && type !== target.type) {
      // Litestream lets the scheme win silently; a contradiction is more likely a mistake.
      reader.fail(`${key}.type`, `${key}.type is ${type} but the url is a ${target.type} URL`, {
        hint: "remove type; the URL decides it",
        position: positionOf(map, "type"),
      });
    }
    return target;
  }

  if ((type ?? "file") === "file") {
    if (path === undefined) {
      reader.fail(key, `${key} has no path or url`, {
        hint: "add path: /var/backups/app (a directory) or url: s3://BUCKET/PATH",
        position: map.position,
      });
    }
    return { type: "file", path: expandPath(path, context) };
  }
  if (kind === "sftp") return resolveSftpTarget(undefined, { ...sftp, path }, context, fail);
  if (kind === "abs") return resolveAbsTarget(undefined, { ...abs, container: bucket, path }, fail);

  if (bucket === undefined) {
    reader.fail(`${key}.bucket`, `${key} is an s3 replica without a bucket`, {
      hint: "add bucket: my-bucket, or use url: s3://BUCKET/PATH",
      position: map.position,
    });
  }
  const problem = bucketNameProblem(bucket);
  if (problem !== undefined) {
    reader.fail(`${key}.bucket`, `${key}.bucket is not usable: ${problem}`, {
      hint: "put only the bucket name in bucket and the key prefix in path",
      position: positionOf(map, "bucket"),
    });
  }
  const location = { bucket, path: cleanKeyPrefix(path ?? ""), ambiguousHost: false };
  return resolveS3Target(location, { ...settings, endpointSource: "config" }, context.env, fail);
}

function readSftpSettings(map: YamlMap, key: string, reader: ConfigReader): SftpSettings {
  return {
    host: reader.get(map, key, "host", reader.string),
    user: reader.get(map, key, "user", reader.string),
    password: reader.get(map, key, "password", reader.string),
    keyPath: reader.get(map, key, "key-path", reader.string),
    knownHosts: reader.get(map, key, "known-hosts", reader.string),
    hostKeyFingerprint: reader.get(map, key, "host-key-fingerprint", reader.string),
    insecureIgnoreHostKey: reader.get(map, key, "insecure-ignore-host-key", reader.bool),
  };
}

function readAbsSettings(map: YamlMap, key: string, reader: ConfigReader): AbsSettings {
  return {
    accountName: reader.get(map, key, "account-name", reader.string),
    accountKey: reader.get(map, key, "account-key", reader.string),
    endpoint: reader.get(map, key, "endpoint", reader.string),
  };
}

function readS3Settings(map: YamlMap, key: string, reader: ConfigReader): S3Settings {
  const settings: S3Settings = {};
  const endpoint = reader.get(map, key, "endpoint", reader.string);
  if (endpoint !== undefined) {
    try {
      // https without a scheme, as Litestream 0.3.13 (its AWS SDK) reads the same file.
      settings.endpoint = parseEndpoint(endpoint, "https");
    } catch (error) {
      reader.fail(
        `${key}.endpoint`,
        `${key}.endpoint is not usable: ${error instanceof Error ? error.message : String(error)}`,
        {
          hint: "endpoint: https://s3.example.com (host:port alone means https; write http:// for plain HTTP)",
          position: positionOf(map, "endpoint"),
        },
      );
    }
  }
  const region = reader.get(map, key, "region", reader.string);
  if (region !== undefined) settings.region = region;
  const forcePathStyle = reader.get(map, key, "force-path-style", reader.bool);
  if (forcePathStyle !== undefined) settings.forcePathStyle = forcePathStyle;
  const skipVerify = reader.get(map, key, "skip-verify", reader.bool);
  if (skipVerify !== undefined) settings.skipVerify = skipVerify;
  const caFile = reader.get(map, key, "ca-file", reader.string);
  if (caFile !== undefined) settings.caFile = caFile;
  return settings;
}

export interface ReplicaFromUrlOptions {
  cwd: string;
  home: string;
  env: EnvLookup;
  /** Defaults to the target type. */
  name?: string;
}

/**
 * A replica with default settings for `replicate DB_PATH URL...` and `restore URL`.
 *
 * @throws ReplicaUrlError when the URL is not usable
 */
export function replicaFromUrl(url: string, options: ReplicaFromUrlOptions): ReplicaConfig {
  const target = parseReplicaUrl(url, options);
  return {
    name: options.name ?? target.type,
    target,
    syncIntervalMs: DEFAULT_SYNC_INTERVAL_MS,
    retentionMs: DEFAULT_RETENTION_MS,
    retentionCheckIntervalMs: DEFAULT_RETENTION_CHECK_INTERVAL_MS,
    snapshotIntervalMs: DEFAULT_SNAPSHOT_INTERVAL_MS,
    validationIntervalMs: DEFAULT_VALIDATION_INTERVAL_MS,
  };
}

/**
 * Replicas for several URL arguments, named by type and numbered when a type repeats
 * (`s3`, `s3-2`, `file`), since names must be unique per database.
 */
export function replicasFromUrls(
  urls: readonly string[],
  options: Omit<ReplicaFromUrlOptions, "name">,
): ReplicaConfig[] {
  const counts = new Map<string, number>();
  return urls.map((url) => {
    const replica = replicaFromUrl(url, options);
    const count = (counts.get(replica.name) ?? 0) + 1;
    counts.set(replica.name, count);
    if (count > 1) replica.name = `${replica.name}-${count}`;
    return replica;
  });
}
