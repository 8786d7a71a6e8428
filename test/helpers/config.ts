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
