/**
 * Object-store faults during writes: about 10% of requests get a 500, a 503 SlowDown, a connection
 * reset or added latency, for WALSHIP_CHAOS_SECONDS (default 60). Nothing is lost, and once the faults
 * and the writes stop the replica catches up within three sync intervals.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { ReplicaClient } from "../../src/storage/replica-client.ts";
import { S3Store } from "../../src/storage/s3.ts";
import { runCli, startCli, waitFor } from "../helpers/cli.ts";
import { readDatabase } from "../helpers/db-content.ts";
import { type FaultProxy, startFaultProxy } from "../helpers/fault-proxy.ts";
import { expectContinuousReplica } from "../helpers/replica-check.ts";
import { type S3Server, startS3Server } from "../helpers/s3-server.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

const SECONDS = Number(process.env.WALSHIP_CHAOS_SECONDS ?? 60);
const SYNC_INTERVAL_MS = 1000;
const WRITER = path.join(import.meta.dirname, "crash-writer.ts");

let s3: S3Server;
let proxy: FaultProxy;
const dir = makeTempDir("walship-chaos-");
beforeAll(async () => {
  s3 = await startS3Server({ buckets: ["chaos"] });
  proxy = await startFaultProxy(s3.endpoint, { seed: 11 });
});
afterAll(async () => {
  await proxy?.stop();
  await s3?.stop();
  removeDir(dir);
});

async function lagSeconds(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith("walship_replica_lag_seconds{"));
  return Number(line?.slice(line.lastIndexOf(" ") + 1) ?? Number.NaN);
}

test(
  `${SECONDS} s of ~10% object-store faults during writes: nothing lost, quick catch-up`,
  async () => {
    const db = path.join(dir, "app.db");
    const config = path.join(dir, "walship.yml");
    fs.writeFileSync(
      config,
      [
        'addr: "127.0.0.1:0"',
        "dbs:",
        `  - path: ${db}`,
        "    min-checkpoint-page-count: 200",
        "    replicas:",
        `      - url: ${proxy.endpoint}/chaos/app`,
        `        sync-interval: ${SYNC_INTERVAL_MS}ms`,
        "",
      ].join("\n"),
    );
    const writer = Bun.spawn([process.execPath, WRITER, db, "5"], { stdout: "ignore", stderr: "inherit" });
    await waitFor(() => fs.existsSync(db), 10_000, "the database");
    const creds = {
      LITESTREAM_ACCESS_KEY_ID: s3.accessKeyId,
      LITESTREAM_SECRET_ACCESS_KEY: s3.secretAccessKey,
    };
    const walship = startCli(["replicate", "-config", config], { env: creds });
    await waitFor(() => /msg="serving metrics" url=\S+/.test(walship.stderr()), 20_000, "walship to start");
    const url = /msg="serving metrics" url=(\S+)\/metrics/.exec(walship.stderr())![1]!;

    proxy.setRules([
      { kind: "status-500", probability: 0.03 },
      { kind: "slowdown-503", probability: 0.03 },
      { kind: "reset", probability: 0.02 },
      { kind: "delay", probability: 0.02, delayMs: 300 },
    ]);
    await Bun.sleep(SECONDS * 1000);
    proxy.clearRules();
    writer.kill("SIGTERM");
    await writer.exited;
    const stopped = Date.now();
    const faults = proxy.stats();
    const requests = proxy.requests.length;
    // Within three sync intervals the replica holds everything.
    await waitFor(async () => (await lagSeconds(url)) === 0, 3 * SYNC_INTERVAL_MS, "the replica to catch up");
    const catchUpMs = Date.now() - stopped;
    console.log(
      `chaos: ${requests} requests, faults ${JSON.stringify(faults)}, caught up ${catchUpMs} ms after the faults stopped`,
    );
    expect(faults["status-500"] + faults["slowdown-503"] + faults.reset).toBeGreaterThan(requests * 0.04);

    const stoppedWalship = await walship.stop();
    expect({
      code: stoppedWalship.code,
      log: stoppedWalship.code ? stoppedWalship.stderr.slice(-2000) : "",
    }).toEqual({ code: 0, log: "" });
    const client = new ReplicaClient(
      new S3Store({
        bucket: "chaos",
        prefix: "app",
        endpoint: s3.endpoint,
        forcePathStyle: true,
        skipVerify: false,
        accessKeyId: s3.accessKeyId,
        secretAccessKey: s3.secretAccessKey,
      }),
    );
    expect(await expectContinuousReplica(client)).toBeGreaterThan(10);
    const out = path.join(dir, "restored.db");
    expect(
      (await runCli(["restore", "--verify", "full", "-o", out, `${s3.endpoint}/chaos/app`], { env: creds }))
        .code,
    ).toBe(0);
    const restored = readDatabase(out, "seq");
    expect(restored.integrity).toBe("ok");
    const source = readDatabase(db, "seq").rows as { n: number }[];
    const got = restored.rows as { n: number }[];
    const summary = (r: { n: number }[]) => ({ count: r.length, first: r[0]?.n, last: r[r.length - 1]?.n });
    expect(summary(got)).toEqual(summary(source));
    expect(restored.rows).toEqual(source);
  },
  (SECONDS + 90) * 1000,
);
