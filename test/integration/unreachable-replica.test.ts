/**
 * After a power cut the NAS or MinIO often comes up after the application's host. A replica that cannot
 * be reached at start-up is logged at once with its fix, shown in /healthz and the metrics, and retried,
 * while the other replicas and the `-exec` application run; once it answers it catches up with
 * everything captured meanwhile. Only a definite answer (credentials rejected, no such bucket) stops
 * walship at start-up, since waiting cannot fix it.
 */
import { afterAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { compile } from "../../build/compile.ts";
import { createDatabase, openApp } from "../helpers/app-db.ts";
import { runCli, startCli, waitFor } from "../helpers/cli.ts";
import { writeConfigFile } from "../helpers/config.ts";
import { readDatabase } from "../helpers/db-content.ts";
import { metricSample } from "../helpers/proc-usage.ts";
import { statusUrl } from "../helpers/replicate-setup.ts";
import { type S3Server, startS3Server } from "../helpers/s3-server.ts";
import { startSilentServer, unusedPort } from "../helpers/tcp.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

/** The application run by -exec: writes rows, says so in `marker`, then runs until SIGTERM. */
const CHILD = `
import { Database } from "bun:sqlite";
const [db, marker] = process.argv.slice(2);
const conn = new Database(db);
conn.run("PRAGMA busy_timeout = 5000");
for (let i = 0; i < 50; i++) conn.run("INSERT INTO items (name, qty) VALUES ('child', ?)", [i]);
conn.close();
process.on("SIGTERM", () => process.exit(0));
require("node:fs").writeFileSync(marker, "ran");
await Bun.sleep(120000);
`;

const NOT_REACHABLE = 'msg="replica not reachable at start-up';

describe("a replica that cannot be reached at start-up", () => {
  const dir = makeTempDir();
  const child = path.join(dir, "child.ts");
  fs.writeFileSync(child, CHILD);
  const servers: S3Server[] = [];
  afterAll(async () => {
    for (const s of servers) await s.stop();
    removeDir(dir);
  });

  async function s3On(port?: number, buckets = ["later"]): Promise<S3Server> {
    const s3 = await startS3Server({ buckets, ...(port ? { port } : {}) });
    servers.push(s3);
    return s3;
  }

  /** s3rver's key id; it checks no signature, so any secret goes, and that one must never be printed. */
  const KEYS = { LITESTREAM_ACCESS_KEY_ID: "S3RVER", LITESTREAM_SECRET_ACCESS_KEY: "NeverPrinted55" };

  /** `<name>.yml`: `db` with replicas named dir (the first) and s3, and top-level keys `extra`. */
  function config(name: string, db: string, replicas: string[], extra: Record<string, string> = {}): string {
    return writeConfigFile(path.join(dir, `${name}.yml`), {
      keys: extra,
      dbs: [
        {
          path: db,
          keys: { "monitor-interval": "100ms" },
          replicas: replicas.map((url, i) => ({
            name: i === 0 ? "dir" : "s3",
            url,
            keys: { "sync-interval": "100ms" },
          })),
        },
      ],
    });
  }

  async function restoredRows(url: string, out: string): Promise<unknown[]> {
    fs.rmSync(out, { force: true });
    const r = await runCli(["restore", "-o", out, url], { env: KEYS });
    expect(`${r.code} ${r.stderr}`).toStartWith("0 ");
    return readDatabase(out).rows;
  }

  function lineWith(stderr: string, text: string): string {
    return stderr.split("\n").find((l) => l.includes(text)) ?? "";
  }

  test("without -exec: the directory replica, /healthz and /metrics run; the replica catches up once its server starts", async () => {
    const port = await unusedPort();
    const db = path.join(dir, "plain.db");
    createDatabase(db);
    const s3Url = `http://127.0.0.1:${port}/later/plain`;
    const cfg = config("plain", db, [`file://${dir}/plain-replica`, s3Url], {
      addr: '"127.0.0.1:0"',
      "health-max-lag": "1m",
    });
    const walship = startCli(["replicate", "-config", cfg], { env: KEYS });
    const url = await statusUrl(walship);

    // Logged at once, with where it tried and what to do.
    const warning = lineWith(walship.stderr(), NOT_REACHABLE);
    expect(warning).toContain("level=WARN");
    expect(warning).toContain(`127.0.0.1:${port}`);
    expect(warning).toContain("replica=s3");
    expect(warning).toContain(`hint="check the port in the endpoint and that the server is running`);

    const app = openApp(db);
    for (let i = 0; i < 100; i++) app.run("INSERT INTO items (name, qty) VALUES ('while down', ?)", [i]);
    await waitFor(
      async () =>
        (await restoredRows(`file://${dir}/plain-replica`, path.join(dir, "plain-dir.db"))).length === 100,
      20_000,
      "the directory replica to hold the rows",
    );

    // Retried meanwhile (each attempt is the SDK's few quick tries, then walship's backoff).
    await waitFor(
      async () => /failed_attempts=([3-9]|\d\d+)/.test(await (await fetch(`${url}/healthz`)).text()),
      30_000,
      "three failed attempts",
    );
    const health = await fetch(`${url}/healthz`);
    const healthText = await health.text();
    expect(health.status).toBe(200);
    expect(healthText).toContain("not reachable");
    expect(healthText).toContain(`${db} s3 since=`);
    expect(healthText).toContain(`127.0.0.1:${port}`);
    expect(healthText).toContain("Try: check the port in the endpoint");
    expect(healthText).not.toContain(`${db} dir `);
    const down = await (await fetch(`${url}/metrics`)).text();
    expect(metricSample(down, "walship_replica_reachable", { db, name: "s3" })).toBe(0);
    expect(metricSample(down, "walship_replica_reachable", { db, name: "dir" })).toBe(1);

    // The storage comes up where the config points: everything written meanwhile gets there.
    await s3On(port);
    await waitFor(
      async () => {
        const text = await (await fetch(`${url}/metrics`)).text();
        return (
          metricSample(text, "walship_replica_reachable", { db, name: "s3" }) === 1 &&
          metricSample(text, "walship_replica_lag_seconds", { db, name: "s3" }) === 0
        );
      },
      30_000,
      "the S3 replica to catch up",
    );
    expect(await (await fetch(`${url}/healthz`)).text()).toBe("ok\n");
    for (let i = 0; i < 10; i++) app.run("INSERT INTO items (name, qty) VALUES ('after', ?)", [i]);
    app.close();

    const stopped = await walship.stop();
    expect(stopped.code).toBe(0);
    expect(stopped.stderr).toContain('msg="replica recovered"');
    expect(stopped.stderr).not.toContain(KEYS.LITESTREAM_SECRET_ACCESS_KEY);
    // One error line for the outage, not one per retry.
    expect(stopped.stderr.match(/msg="replica sync error"/g)?.length ?? 0).toBeLessThanOrEqual(1);
    const source = readDatabase(db).rows;
    expect(source.length).toBe(110);
    expect(await restoredRows(s3Url, path.join(dir, "plain-s3.db"))).toEqual(source);
  }, 120_000);

  test("with -exec: the application runs while the replica is down; its writes reach both replicas", async () => {
    const port = await unusedPort();
    const db = path.join(dir, "exec.db");
    createDatabase(db);
    const marker = path.join(dir, "exec.ran");
    const s3Url = `http://127.0.0.1:${port}/later/exec`;
    const cfg = config("exec", db, [`file://${dir}/exec-replica`, s3Url]);
    const walship = startCli(
      ["replicate", "-config", cfg, "-exec", `${process.execPath} ${child} ${db} ${marker}`],
      { env: KEYS },
    );
    await waitFor(() => fs.existsSync(marker), 20_000, "the -exec child to run");
    expect(walship.stderr()).toContain(NOT_REACHABLE);

    await s3On(port);
    await waitFor(
      () => walship.stderr().includes('msg="replica recovered"'),
      30_000,
      "the replica to answer",
    );
    // SIGTERM goes to the child, which exits 0; the final sync ships the rest; walship exits with 0.
    const stopped = await walship.stop();
    expect(stopped.code).toBe(0);
    const source = readDatabase(db).rows;
    expect(source.length).toBe(50);
    expect(await restoredRows(s3Url, path.join(dir, "exec-s3.db"))).toEqual(source);
    expect(await restoredRows(`file://${dir}/exec-replica`, path.join(dir, "exec-dir.db"))).toEqual(source);
  }, 120_000);

  test("a server that accepts connections and never answers does not hold the application back", async () => {
    const silent = await startSilentServer();
    try {
      const db = path.join(dir, "silent.db");
      createDatabase(db);
      const marker = path.join(dir, "silent.ran");
      const cfg = config("silent", db, [`file://${dir}/silent-replica`, `${silent.endpoint}/b/silent`]);
      const started = Date.now();
      const walship = startCli(
        ["replicate", "-config", cfg, "-exec", `${process.execPath} ${child} ${db} ${marker}`],
        { env: KEYS },
      );
      await waitFor(() => fs.existsSync(marker), 30_000, "the -exec child to run");
      // The start-up check waits 5 s for an answer; the SDK alone would wait minutes.
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(lineWith(walship.stderr(), NOT_REACHABLE)).toContain("no answer within 5s");
      await silent.stop();
      expect((await walship.stop()).code).toBe(0);
    } finally {
      await silent.stop().catch(() => {});
    }
  }, 90_000);

  test("a stop with a replica that never answers: the others get their final sync, and walship exits in seconds", async () => {
    const silent = await startSilentServer();
    try {
      const db = path.join(dir, "stop.db");
      createDatabase(db);
      // The silent replica comes first: a stop that synced one replica after another would wait on it.
      const cfg = config("stop", db, [`${silent.endpoint}/b/stop`, `file://${dir}/stop-replica`]);
      const walship = startCli(["replicate", "-config", cfg], { env: KEYS });
      await waitFor(() => walship.stderr().includes(NOT_REACHABLE), 20_000, "the start-up check");
      const app = openApp(db);
      for (let i = 0; i < 30; i++) app.run("INSERT INTO items (name, qty) VALUES (?, ?)", [`row ${i}`, i]);
      app.close();
      const stopping = Date.now();
      const stopped = await walship.stop("SIGTERM", 60_000);
      expect(Date.now() - stopping).toBeLessThan(20_000);
      expect(stopped.code).toBe(1); // the silent replica's final sync failed, and says so
      expect(lineWith(stopped.stderr, 'msg="final sync failed"')).toContain("has not answered since");
      expect(await restoredRows(`file://${dir}/stop-replica`, path.join(dir, "stop-dir.db"))).toEqual(
        readDatabase(db).rows,
      );
    } finally {
      await silent.stop();
    }
  }, 120_000);

  describe("a definite answer still stops walship at start-up, with its fix", () => {
    test("wrong credentials: exit 1 and the -exec application never starts", async () => {
      const s3 = await s3On(undefined, ["present"]);
      const db = path.join(dir, "creds.db");
      createDatabase(db);
      const marker = path.join(dir, "creds.ran");
      const cfg = config("creds", db, [`file://${dir}/creds-replica`, `${s3.endpoint}/present/creds`]);
      const r = await runCli(
        ["replicate", "-config", cfg, "-exec", `${process.execPath} ${child} ${db} ${marker}`],
        { env: { ...KEYS, LITESTREAM_ACCESS_KEY_ID: "UNKNOWNKEY" } },
      );
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("InvalidAccessKeyId");
      expect(r.stderr).toContain("Try: check the access key");
      expect(fs.existsSync(marker)).toBe(false);
      expect(fs.existsSync(path.join(dir, "creds-replica"))).toBe(false);
    });

    test("a missing bucket: exit 1 naming it", async () => {
      const s3 = await s3On(undefined, ["present"]);
      const db = path.join(dir, "bucket.db");
      createDatabase(db);
      const r = await runCli(["replicate", db, `${s3.endpoint}/missing/bucket`], { env: KEYS });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("NoSuchBucket");
      expect(r.stderr).toContain('Try: create the bucket "missing"');
    });

    // As root every directory is writable, so this runs walship as nobody (setpriv, as root). The
    // checkout may sit where nobody cannot read it (a clone under a 0700 temp dir), so walship runs as
    // the compiled executable, copied into a directory nobody can read.
    const canSwitch = process.getuid?.() === 0 && Bun.which("setpriv") !== null;
    if (!canSwitch)
      console.warn("SKIPPED: a directory replica this user may not write (needs root and setpriv)");
    test.skipIf(!canSwitch)(
      "a directory replica this user may not write: exit 1 naming it, before anything runs",
      async () => {
        fs.chmodSync(dir, 0o755);
        const exe = path.join(dir, "bin", "walship");
        await compile({ outfile: exe });
        fs.chmodSync(path.dirname(exe), 0o755);
        const home = path.join(dir, "nobody");
        fs.mkdirSync(home, { mode: 0o755 });
        const db = path.join(home, "ro.db");
        createDatabase(db);
        fs.chownSync(home, 65534, 65534);
        fs.chownSync(db, 65534, 65534);
        const replica = path.join(dir, "root-owned-replica"); // created by root, 0755: nobody may not write it
        fs.mkdirSync(replica, { mode: 0o755 });
        const r = Bun.spawnSync(
          ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", exe, "replicate", db, replica],
          { stderr: "pipe", stdout: "pipe", env: { PATH: "/usr/bin:/bin", HOME: home } },
        );
        const stderr = r.stderr.toString();
        expect(stderr).toContain(replica);
        expect(r.exitCode).toBe(1);
        expect(stderr).toContain("Try: check that this user may write to");
        expect(fs.readdirSync(replica)).toEqual([]);
      },
      120_000,
    );

    test("no credentials anywhere: exit 1 saying where to put them", async () => {
      const db = path.join(dir, "nokeys.db");
      createDatabase(db);
      const port = await unusedPort();
      const r = await runCli(["replicate", db, `http://127.0.0.1:${port}/b/nokeys`]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("Try: set LITESTREAM_ACCESS_KEY_ID");
    });
  });
});
