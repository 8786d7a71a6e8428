/**
 * Runs the restore, format, config and storage tests under Deno: `npm run test:deno` (and .ci/run).
 * `bun:test` is mapped to bun-test-shim.ts by deno-import-map.json. The files left out, and why, are
 * listed in LEFT_OUT; every other test file of those folders runs. Exit code: Deno's.
 *
 *   bun test/runtime/deno-tests.ts [extra deno test flags]
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const ROOT = path.join(import.meta.dirname, "../..");
const FOLDERS = ["test/config", "test/format", "test/restore", "test/storage"];

/** Test files of FOLDERS that stay under Bun, with the reason. */
export const LEFT_OUT: Record<string, string> = {
  "test/restore/point-in-time.test.ts": "replicates a database first, which needs Bun's SQLite file controls",
  "test/storage/s3.test.ts": "its S3 test server is started through Bun.spawn (test/helpers/s3-server.ts)",
  "test/storage/s3-delete.test.ts":
    "its S3 test server is started through Bun.spawn (test/helpers/s3-server.ts)",
  "test/storage/s3-get.test.ts":
    "S3 test server through Bun.spawn; a Bun.serve test server; Bun fetch's tls option",
  "test/storage/s3-ranged-download.test.ts": "its S3 test server is started through Bun.spawn",
  "test/storage/http-download.test.ts":
    "its test servers are Bun.serve and Bun.listen; Bun fetch's tls option",
  "test/storage/sftp.test.ts": "its sshd is started through Bun.spawn (test/helpers/sshd.ts)",
  "test/storage/azure-blob.test.ts": "Azurite is started through Bun.spawn (test/helpers/azurite.ts)",
};

export function denoTestFiles(): string[] {
  return FOLDERS.flatMap((folder) =>
    fs
      .readdirSync(path.join(ROOT, folder))
      .filter((name) => name.endsWith(".test.ts"))
      .map((name) => `${folder}/${name}`),
  )
    .filter((file) => !(file in LEFT_OUT))
    .sort();
}

if (import.meta.main) {
  const deno = path.join(ROOT, "node_modules/.bin/deno");
  const started = performance.now();
  const r = spawnSync(
    deno,
    [
      "test",
      "-A",
      // tsc checks the tests under Bun's types (npm run check); Deno's own check would need Deno's.
      "--no-check",
      "--no-lock",
      "--node-modules-dir=manual",
      "--import-map=test/runtime/deno-import-map.json",
      ...process.argv.slice(2),
      ...denoTestFiles(),
    ],
    { cwd: ROOT, stdio: "inherit", env: { ...process.env, DENO_NO_UPDATE_CHECK: "1" } },
  );
  if (r.error) {
    process.stderr.write(`deno-tests: cannot run ${deno}: ${r.error.message}. Try: npm ci\n`);
    process.exit(1);
  }
  process.stderr.write(`deno-tests: ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  process.exit(r.status ?? 1);
}
