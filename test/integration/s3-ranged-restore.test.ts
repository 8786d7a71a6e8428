/**
 * A restore from S3 follows a large snapshot's download range by range (decoding what has arrived while
 * the rest comes down). A range whose body breaks off is fetched again and the restore is exact; a range
 * that never arrives fails the restore, naming the snapshot, with nothing left behind: no output, no
 * half-written database, no download.
 */
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { snapshotPath } from "../../src/format/layout.ts";
import { encodeLz4Frame } from "../../src/format/lz4-frame.ts";
import { RANGE_BYTES } from "../../src/storage/s3-ranged-download.ts";
import { runCli } from "../helpers/cli.ts";
import { type FaultProxy, startFaultProxy } from "../helpers/fault-proxy.ts";
import { pseudoRandomBytes } from "../helpers/pseudo-random.ts";
import { type S3Server, startS3Server } from "../helpers/s3-server.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

const BUCKET = "ranged-restore";
const GENERATION = "0123456789abcdef";

describe("a restore of a snapshot downloaded in ranges", () => {
  let s3: S3Server;
  let proxy: FaultProxy;
  const dir = makeTempDir();
  const db = path.join(dir, "source.db");
  let dbBytes: Buffer;

  beforeAll(async () => {
    s3 = await startS3Server({ buckets: [BUCKET] });
    proxy = await startFaultProxy(s3.endpoint, { seed: 11 });
    // Incompressible rows, so the snapshot spans several ranges.
    const d = new Database(db);
    d.run("PRAGMA journal_mode=WAL");
    d.run("CREATE TABLE items (id INTEGER PRIMARY KEY, v BLOB)");
    const insert = d.prepare("INSERT INTO items (v) VALUES (?)");
    for (let i = 0; i < 2600; i++) insert.run(pseudoRandomBytes(8192, i + 1));
    d.run("PRAGMA wal_checkpoint(TRUNCATE)");
    d.close();
    dbBytes = fs.readFileSync(db);
    const snapshot = encodeLz4Frame(new Uint8Array(dbBytes));
    expect(snapshot.length).toBeGreaterThan(2 * RANGE_BYTES);
    await s3.store(BUCKET, "app").put(snapshotPath("", GENERATION, 0), snapshot);
  });
  afterAll(async () => {
    await proxy?.stop();
    await s3?.stop();
    removeDir(dir);
  });

  const env = () => ({ AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey });
  const url = () => `s3://${BUCKET}/app?endpoint=${proxy.endpoint}&forcePathStyle=true`;

  test("two broken-off bodies are fetched again and the restore is exact", async () => {
    const out = path.join(dir, "retried", "restored.db");
    proxy.setRules([{ kind: "truncate", method: "GET", pathIncludes: ".snapshot.lz4", limit: 2 }]);
    const r = await runCli(["restore", "-o", out, url()], { env: env() });
    proxy.setRules([]);
    expect({ code: r.code, stderr: r.code === 0 ? "" : r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(fs.readFileSync(out).equals(dbBytes)).toBe(true);
    expect(fs.readdirSync(path.dirname(out))).toEqual(["restored.db"]);
  }, 60_000);

  test("a range that never arrives fails the restore, naming the snapshot, and leaves nothing behind", async () => {
    const outDir = path.join(dir, "failed");
    fs.mkdirSync(outDir);
    const out = path.join(outDir, "restored.db");
    // The first range comes through, every later one breaks off: the decode is under way when it fails.
    proxy.setRules([
      { kind: "delay", method: "GET", pathIncludes: ".snapshot.lz4", limit: 1, delayMs: 1 },
      { kind: "truncate", method: "GET", pathIncludes: ".snapshot.lz4" },
    ]);
    const r = await runCli(["restore", "-o", out, url()], { env: env() });
    proxy.setRules([]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("00000000.snapshot.lz4");
    expect(r.stderr).toContain("broke off");
    expect(r.stderr).not.toContain("corrupt");
    expect(fs.readdirSync(outDir)).toEqual([]);
  }, 60_000);
});
