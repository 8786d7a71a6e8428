/** The real Litestream 0.3.13 binary from the npm package @flydotio/litestream-linux-x64, for interop tests. */
import * as fs from "node:fs";
import * as path from "node:path";

const BINARY = path.join(import.meta.dirname, "../../node_modules/@flydotio/litestream-linux-x64/litestream");

/** Path to the binary, or null (with the reason) where this platform has none. */
export function litestreamBinary(): { path: string } | { skip: string } {
  if (process.platform !== "linux" || process.arch !== "x64") {
    return { skip: `no litestream 0.3.13 binary for ${process.platform}-${process.arch} on npm` };
  }
  if (!fs.existsSync(BINARY)) return { skip: `litestream binary missing at ${BINARY}; run npm ci` };
  return { path: BINARY };
}

export interface S3ReplicaYaml {
  bucket: string;
  path: string;
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  skipVerify?: boolean;
}

/** A litestream.yml for one database with the given replicas; both tools read it. */
export function litestreamConfig(
  dbPath: string,
  replicas: (({ dir: string } | S3ReplicaYaml) & { ageIdentities?: string[] })[],
  extra: string[] = [],
): string {
  const lines = ["dbs:", `  - path: ${dbPath}`, ...extra.map((l) => `    ${l}`), "    replicas:"];
  replicas.forEach((r, i) => {
    if ("dir" in r) {
      lines.push(
        `      - name: file${i}`,
        "        type: file",
        `        path: ${r.dir}`,
        "        sync-interval: 100ms",
      );
    } else {
      lines.push(
        `      - name: s3${i}`,
        "        type: s3",
        `        bucket: ${r.bucket}`,
        `        path: ${r.path}`,
        `        endpoint: ${r.endpoint}`,
        "        region: us-east-1",
        `        access-key-id: ${r.accessKeyId}`,
        `        secret-access-key: ${r.secretAccessKey}`,
        "        sync-interval: 100ms",
        ...(r.skipVerify ? ["        skip-verify: true"] : []),
      );
    }
    if (r.ageIdentities) lines.push("        age:", `          identities: [${r.ageIdentities.join(", ")}]`);
  });
  return `${lines.join("\n")}\n`;
}
