/**
 * Interop with the real Litestream 0.3.13, both directions, directory and S3: what walship writes,
 * `litestream restore` restores; what Litestream writes, `walship restore` restores.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { readCaptureTimes } from "../../src/format/capture-times.ts";
import { createDatabase, runWriter } from "../helpers/app-db.ts";
import { runCli, startCli, waitFor } from "../helpers/cli.ts";
import { readDatabase } from "../helpers/db-content.ts";
import { litestreamBinary, litestreamConfig } from "../helpers/litestream.ts";
import { type S3Server, startS3Server } from "../helpers/s3-server.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

const litestream = litestreamBinary();
const FIXTURE = path.join(import.meta.dirname, "../fixtures/litestream-0.3.13");

if ("skip" in litestream) console.warn(`skipping Litestream interop: ${litestream.skip}`);

describe.skipIf("skip" in litestream)("Litestream 0.3.13 interop", () => {
  const bin = "path" in litestream ? litestream.path : "";
  let s3: S3Server;
  let tlsS3: S3Server;
  const dir = makeTempDir();
  const bucket = "interop";
  beforeAll(async () => {
    [s3, tlsS3] = await Promise.all([
      startS3Server({ buckets: [bucket] }),
      startS3Server({ buckets: [bucket], tls: true }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([s3?.stop(), tlsS3?.stop()]);
    removeDir(dir);
  });

  function s3Replica(prefix: string) {
    return {
      bucket,
      path: prefix,
      endpoint: s3.endpoint,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
    };
  }

  /** Runs a replicator (walship or litestream) over `config` while the writer commits, then SIGTERMs it. */
  async function replicateWith(cmd: string[], db: string, replicaDir: string, seed: number): Promise<void> {
    const proc = cmd[0] === "walship" ? startCli(cmd.slice(1)) : startCli(cmd.slice(1), { binary: cmd[0] });
    await waitFor(() => fs.existsSync(path.join(replicaDir, "generations")), 20_000, "the first snapshot");
    await runWriter(db, 1500, seed, 10);
    // Litestream syncs once a second; give it one interval to see the last commits before the final sync.
    await Bun.sleep(1200);
    const result = await proc.stop("SIGTERM");
    expect(result.code).toBe(0);
  }

  async function litestreamRestore(args: string[]): Promise<void> {
    const proc = Bun.spawn([bin, "restore", ...args], { stdout: "pipe", stderr: "pipe" });
    const code = await proc.exited;
    if (code !== 0) throw new Error(`litestream restore failed: ${await new Response(proc.stderr).text()}`);
  }

  function expectSameContent(restoredPath: string, sourcePath: string): void {
    const restored = readDatabase(restoredPath);
    const source = readDatabase(sourcePath);
    expect(restored.integrity).toBe("ok");
    expect(source.rows.length).toBeGreaterThan(100);
    expect(restored.rows).toEqual(source.rows);
  }

  test("litestream restores what walship wrote, from a directory and from S3", async () => {
    const work = path.join(dir, "w2l");
    fs.mkdirSync(work);
    const db = path.join(work, "app.db");
    const replicaDir = path.join(work, "replica");
    createDatabase(db);
    const config = path.join(work, "walship.yml");
    fs.writeFileSync(
      config,
      litestreamConfig(db, [{ dir: replicaDir }, s3Replica("w2l")], ["monitor-interval: 100ms"]),
    );
    await replicateWith(["walship", "replicate", "-config", config], db, replicaDir, 7);
    // walship's segments carry capture times in front of their LZ4 frame: Litestream must read past them.
    const [generation] = fs.readdirSync(path.join(replicaDir, "generations"));
    const segDir = path.join(replicaDir, "generations", generation!, "wal");
    const withTimes = fs
      .readdirSync(segDir)
      .filter((n) => readCaptureTimes(new Uint8Array(fs.readFileSync(path.join(segDir, n)))) !== null);
    expect(withTimes.length).toBeGreaterThan(0);

    const fromDir = path.join(work, "from-dir.db");
    await litestreamRestore(["-o", fromDir, `file://${replicaDir}`]);
    expectSameContent(fromDir, db);

    // Litestream restores a custom endpoint only through a config file; give it one with just the S3 replica.
    const lsConfig = path.join(work, "litestream-s3.yml");
    fs.writeFileSync(lsConfig, litestreamConfig(db, [s3Replica("w2l")]));
    const fromS3 = path.join(work, "from-s3.db");
    await litestreamRestore(["-config", lsConfig, "-o", fromS3, db]);
    expectSameContent(fromS3, db);
  });

  test("walship restores what litestream wrote, from a directory and from S3", async () => {
    const work = path.join(dir, "l2w");
    fs.mkdirSync(work);
    const db = path.join(work, "app.db");
    const replicaDir = path.join(work, "replica");
    createDatabase(db);
    const config = path.join(work, "litestream.yml");
    fs.writeFileSync(config, litestreamConfig(db, [{ dir: replicaDir }, s3Replica("l2w")]));
    await replicateWith([bin, "replicate", "-config", config], db, replicaDir, 11);

    const fromDir = path.join(work, "from-dir.db");
    const r1 = await runCli(["restore", "-o", fromDir, `file://${replicaDir}`]);
    expect(r1.stderr).toContain("restored");
    expect(r1.code).toBe(0);
    expectSameContent(fromDir, db);

    const fromS3 = path.join(work, "from-s3.db");
    const r2 = await runCli(["restore", "-o", fromS3, `${s3.endpoint}/${bucket}/l2w`], {
      env: { LITESTREAM_ACCESS_KEY_ID: s3.accessKeyId, LITESTREAM_SECRET_ACCESS_KEY: s3.secretAccessKey },
    });
    expect(r2.code).toBe(0);
    expectSameContent(fromS3, db);

    // The same config file works for walship too (config mode, by database path).
    const fromConfig = path.join(work, "from-config.db");
    const r3 = await runCli(["restore", "-config", config, "-o", fromConfig, db]);
    expect(r3.code).toBe(0);
    expectSameContent(fromConfig, db);
  });

  test("a scheme-less endpoint with skip-verify is HTTPS in both tools (the same litestream.yml)", async () => {
    const work = path.join(dir, "schemeless");
    fs.mkdirSync(work);
    const db = path.join(work, "app.db");
    const replicaDir = path.join(work, "replica");
    createDatabase(db);
    // The blog's self-signed MinIO: `endpoint: HOST:PORT`, no scheme, and skip-verify. The server speaks
    // only HTTPS, so each tool gets through only if it reads the endpoint as https.
    const tls = {
      bucket,
      path: "schemeless",
      endpoint: new URL(tlsS3.endpoint).host,
      accessKeyId: tlsS3.accessKeyId,
      secretAccessKey: tlsS3.secretAccessKey,
      skipVerify: true,
    };
    expect(tls.endpoint).toMatch(/^127\.0\.0\.1:\d+$/);
    const config = path.join(work, "litestream.yml");
    fs.writeFileSync(config, litestreamConfig(db, [{ dir: replicaDir }, tls]));
    await replicateWith([bin, "replicate", "-config", config], db, replicaDir, 13);

    // Restore from the S3 replica alone, with the same replica entry Litestream used.
    const s3Only = path.join(work, "s3-only.yml");
    fs.writeFileSync(s3Only, litestreamConfig(db, [tls]));
    const restored = path.join(work, "restored.db");
    const r = await runCli(["restore", "-config", s3Only, "-o", restored, db]);
    expect({ code: r.code, stderr: r.code === 0 ? "" : r.stderr }).toEqual({ code: 0, stderr: "" });
    expectSameContent(restored, db);
  });

  test("walship restores the Litestream fixture through the CLI, byte for byte", async () => {
    const out = path.join(dir, "fixture.db");
    const r = await runCli(["restore", "-o", out, `file://${FIXTURE}`]);
    expect(r.code).toBe(0);
    const expected = fs.readFileSync(path.join(FIXTURE, "expected-restored.db"));
    expect(Buffer.compare(fs.readFileSync(out), expected)).toBe(0);
  });
});
