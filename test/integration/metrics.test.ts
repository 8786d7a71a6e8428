import { describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { createDatabase, openApp } from "../helpers/app-db.ts";
import { runCli, waitFor } from "../helpers/cli.ts";
import { metricSample } from "../helpers/proc-usage.ts";
import { s3ForTests, startReplicating, statusUrl } from "../helpers/replicate-setup.ts";
import { makeTempDir } from "../helpers/tmp.ts";

/** A sample that must be there: a missing one fails the test with the whole exposition. */
function sample(text: string, name: string, labels: Record<string, string>): number {
  const value = metricSample(text, name, labels);
  if (Number.isNaN(value)) throw new Error(`no sample ${name} ${JSON.stringify(labels)} in:\n${text}`);
  return value;
}

/** promtool lints the exposition; CI installs it (`.ci/run`), elsewhere its absence only skips. */
const PROMTOOL = Bun.which("promtool");
if (!PROMTOOL && !process.env.CI)
  console.warn(
    "skipping the promtool check of /metrics: promtool not found (Debian: apt-get install --no-install-recommends prometheus)",
  );

describe("metrics and health", () => {
  const dir = makeTempDir();
  const servers = s3ForTests({ buckets: ["metrics"], proxySeed: 3, removeAfter: dir });
  const every100ms = { "sync-interval": "100ms" };

  test("/metrics reports the database and each replica; /healthz follows replica lag", async () => {
    const { s3, proxy } = servers;
    const db = path.join(dir, "app.db");
    createDatabase(db);
    const walship = startReplicating(
      path.join(dir, "walship.yml"),
      {
        keys: { addr: '"127.0.0.1:0"', "health-max-lag": "1s" },
        dbs: [
          {
            path: db,
            keys: { "monitor-interval": "100ms", "min-checkpoint-page-count": "20" },
            replicas: [
              { name: "dir", url: `file://${dir}/replica`, keys: every100ms },
              { name: "s3", url: `${proxy.endpoint}/metrics/app`, keys: every100ms },
            ],
          },
        ],
      },
      { s3 },
    );
    const url = await statusUrl(walship);
    await waitFor(() => (walship.stderr().match(/snapshot written/g) ?? []).length >= 2, 20_000, "snapshots");

    const app = openApp(db);
    for (let i = 0; i < 200; i++)
      app.run("INSERT INTO items (name, qty, data) VALUES ('m', ?, zeroblob(2000))", [i]);
    const scrape = async () => (await fetch(`${url}/metrics`)).text();
    await waitFor(
      async () => {
        const t = await scrape();
        return ["dir", "s3"].every((name) => sample(t, "walship_replica_lag_seconds", { db, name }) === 0);
      },
      15_000,
      "both replicas to catch up",
    );
    const text = await scrape();
    expect(sample(text, "walship_db_size_bytes", { db })).toBeGreaterThan(0);
    expect(sample(text, "walship_syncs_total", { db })).toBeGreaterThan(3);
    expect(sample(text, "walship_shadow_wal_bytes_total", { db })).toBeGreaterThan(400_000);
    expect(sample(text, "walship_checkpoints_total", { db, mode: "PASSIVE" })).toBeGreaterThan(0);
    for (const name of ["dir", "s3"]) {
      expect(sample(text, "walship_replica_wal_bytes_total", { db, name })).toBeGreaterThan(400_000);
      expect(sample(text, "walship_replica_uploaded_bytes_total", { db, name })).toBeGreaterThan(0);
      expect(sample(text, "walship_replica_lag_seconds", { db, name })).toBe(0);
      expect(
        Math.abs(
          sample(text, "walship_replica_last_success_timestamp_seconds", { db, name }) - Date.now() / 1000,
        ),
      ).toBeLessThan(5);
    }
    expect(sample(text, "walship_replica_wal_offset_bytes", { db, name: "s3" })).toBe(
      sample(text, "walship_shadow_wal_size_bytes", { db }),
    );
    expect((await fetch(`${url}/healthz`)).status).toBe(200);

    // The S3 replica cannot upload: after health-max-lag it shows as behind and /healthz fails.
    proxy.setRules([{ kind: "status-500" }]);
    app.run("INSERT INTO items (name, qty) VALUES ('stuck', 1)");
    await waitFor(async () => (await fetch(`${url}/healthz`)).status === 503, 15_000, "/healthz to fail");
    const bad = await (await fetch(`${url}/healthz`)).text();
    expect(bad).toContain(" s3 lag=");
    expect(bad).not.toContain(" dir lag=");
    const lagging = await (await fetch(`${url}/metrics`)).text();
    expect(sample(lagging, "walship_replica_lag_seconds", { db, name: "s3" })).toBeGreaterThan(1);
    // The SDK retries each request a few times before a sync counts as failed.
    await waitFor(
      async () =>
        sample(await (await fetch(`${url}/metrics`)).text(), "walship_replica_sync_errors_total", {
          db,
          name: "s3",
        }) > 0,
      20_000,
      "a counted sync error",
    );

    proxy.clearRules();
    await waitFor(async () => (await fetch(`${url}/healthz`)).status === 200, 20_000, "/healthz to recover");
    app.close();
    expect((await walship.stop()).code).toBe(0);
  }, 90_000);

  test.skipIf(!PROMTOOL && !process.env.CI)(
    "/metrics passes `promtool check metrics` with no findings and has build info and process_* metrics",
    async () => {
      if (!PROMTOOL)
        throw new Error("promtool not found; Try: apt-get install --no-install-recommends prometheus");
      const db = path.join(dir, "lint.db");
      createDatabase(db);
      const config = {
        keys: { addr: '"127.0.0.1:0"' },
        dbs: [
          {
            path: db,
            keys: { "monitor-interval": "100ms" },
            replicas: [{ name: "dir", url: `file://${dir}/lint-replica`, keys: every100ms }],
          },
        ],
      };
      const startedAt = Date.now() / 1000;
      const walship = startReplicating(path.join(dir, "lint.yml"), config);
      try {
        await waitFor(() => /snapshot written/.test(walship.stderr()), 20_000, "the first snapshot");
        const url = await statusUrl(walship);
        const app = openApp(db);
        for (let i = 0; i < 20; i++) app.run("INSERT INTO items (name, qty) VALUES ('lint', ?)", [i]);
        app.close();
        const scrape = async () => (await fetch(`${url}/metrics`)).text();
        await waitFor(
          async () => sample(await scrape(), "walship_replica_lag_seconds", { db, name: "dir" }) === 0,
          15_000,
          "the replica to catch up",
        );
        const text = await scrape();

        const lint = Bun.spawnSync([PROMTOOL, "check", "metrics"], { stdin: new TextEncoder().encode(text) });
        const findings = `${lint.stdout.toString()}${lint.stderr.toString()}`.trim();
        expect({ code: lint.exitCode, findings }).toEqual({ code: 0, findings: "" });

        const version = (await runCli(["version"])).stdout;
        const build = /^(walship_build_info)\{(.*)\} (\S+)$/m.exec(text);
        expect(build?.[3]).toBe("1");
        const labels = Object.fromEntries(
          [...build![2]!.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]),
        );
        expect(version).toContain(`walship ${labels.version} (commit ${labels.commit},`);

        expect(sample(text, "process_cpu_seconds_total", {})).toBeGreaterThan(0);
        expect(sample(text, "process_resident_memory_bytes", {})).toBeGreaterThan(1_000_000);
        expect(Math.abs(sample(text, "process_start_time_seconds", {}) - startedAt)).toBeLessThan(10);
        if (process.platform === "linux") {
          const fds = fs.readdirSync(`/proc/${walship.pid}/fd`).length;
          expect(Math.abs(sample(text, "process_open_fds", {}) - fds)).toBeLessThan(10);
          expect(sample(text, "process_max_fds", {})).toBeGreaterThanOrEqual(fds);
        }
      } finally {
        expect((await walship.stop()).code).toBe(0);
      }
    },
    60_000,
  );
});
