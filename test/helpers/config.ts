/** walship.yml files for tests that run the CLI: one database, its keys, and its replicas. */
import * as fs from "node:fs";
import * as path from "node:path";

export interface ReplicaYaml {
  /** Written first when given (Litestream's replica name). */
  name?: string;
  url: string;
  /** Further replica keys, e.g. { "sync-interval": "100ms" }. */
  keys?: Record<string, string>;
}

export interface DbYaml {
  path: string;
  /** Database keys, e.g. { "monitor-interval": "100ms" }. */
  keys?: Record<string, string>;
  replicas: ReplicaYaml[];
}

export interface ConfigYaml {
  /** Top-level keys, written before `dbs:`, e.g. { addr: '"127.0.0.1:0"' }. */
  keys?: Record<string, string>;
  dbs: DbYaml[];
}

/** The text of a walship.yml: top-level keys, then each database with its keys and replicas. */
export function configYaml(config: ConfigYaml): string {
  const lines = [...Object.entries(config.keys ?? {}).map(([k, v]) => `${k}: ${v}`), "dbs:"];
  for (const db of config.dbs) {
    lines.push(`  - path: ${db.path}`, ...Object.entries(db.keys ?? {}).map(([k, v]) => `    ${k}: ${v}`));
    lines.push("    replicas:");
    for (const r of db.replicas) {
      const first =
        r.name === undefined
          ? [`      - url: ${r.url}`]
          : [`      - name: ${r.name}`, `        url: ${r.url}`];
      lines.push(...first, ...Object.entries(r.keys ?? {}).map(([k, v]) => `        ${k}: ${v}`));
    }
  }
  return `${lines.join("\n")}\n`;
}

/** Writes `config` to `file`; returns `file`. */
export function writeConfigFile(file: string, config: ConfigYaml): string {
  fs.writeFileSync(file, configYaml(config));
  return file;
}

/** Writes `<dir>/walship.yml` for `db` with database keys `dbKeys` and `replicas`; returns its path. */
export function writeConfig(
  dir: string,
  db: string,
  dbKeys: Record<string, string>,
  replicas: ReplicaYaml[],
): string {
  return writeConfigFile(path.join(dir, "walship.yml"), { dbs: [{ path: db, keys: dbKeys, replicas }] });
}

/**
 * Writes a litestream.yml that both tools read (Litestream takes a custom S3 endpoint only from a
 * config): `db` with a directory replica named "dir" and an S3 replica named "s3", each followed by
 * `replicaLines` (indented as replica keys); returns `file`.
 */
export function writeDirAndS3Config(
  file: string,
  db: string,
  opts: {
    replicaDir: string;
    s3: { endpoint: string; accessKeyId: string; secretAccessKey: string };
    bucket: string;
    dbLines?: string[];
    replicaLines: string[];
  },
): string {
  const extra = opts.replicaLines.map((l) => `        ${l}`);
  const lines = [
    "dbs:",
    `  - path: ${db}`,
    ...(opts.dbLines ?? []).map((l) => `    ${l}`),
    "    replicas:",
    "      - name: dir",
    `        path: ${opts.replicaDir}`,
    "        sync-interval: 100ms",
    ...extra,
    "      - name: s3",
    "        type: s3",
    `        bucket: ${opts.bucket}`,
    "        path: app",
    `        endpoint: ${opts.s3.endpoint}`,
    "        region: us-east-1",
    `        access-key-id: ${opts.s3.accessKeyId}`,
    `        secret-access-key: ${opts.s3.secretAccessKey}`,
    "        sync-interval: 100ms",
    ...extra,
  ];
  fs.writeFileSync(file, `${lines.join("\n")}\n`);
  return file;
}
