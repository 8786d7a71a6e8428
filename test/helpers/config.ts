/** walship.yml files for tests that run the CLI: one database, its keys, and its replicas. */
import * as fs from "node:fs";
import * as path from "node:path";

export interface ReplicaYaml {
  url: string;
  /** Further replica keys, e.g. { "sync-interval": "100ms" }. */
  keys?: Record<string, string>;
}

/** Writes `<dir>/walship.yml` for `db` with database keys `dbKeys` and `replicas`; returns its path. */
export function writeConfig(
  dir: string,
  db: string,
  dbKeys: Record<string, string>,
  replicas: ReplicaYaml[],
): string {
  const lines = [
    "dbs:",
    `  - path: ${db}`,
    ...Object.entries(dbKeys).map(([k, v]) => `    ${k}: ${v}`),
    "    replicas:",
  ];
  for (const r of replicas) {
    lines.push(
      `      - url: ${r.url}`,
      ...Object.entries(r.keys ?? {}).map(([k, v]) => `        ${k}: ${v}`),
    );
  }
  const file = path.join(dir, "walship.yml");
  fs.writeFileSync(file, `${lines.join("\n")}\n`);
  return file;
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
