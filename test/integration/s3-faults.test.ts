/**
 * Replication through a faulty object store: 503 SlowDown, 500s and connection resets for a while, then
 * none. Replication carries on with no gap, duplicate or out-of-order segment, and the restore is exact.
 * The same proxy records every request: none uses aws-chunked encoding or a checksum trailer, and the
 * server stores exactly the bytes walship sent.
 */
import { describe, expect, test } from "bun:test";
import * as path from "node:path";
import { decodeLz4Frame } from "../../src/format/lz4-frame.ts";
import { ReplicaClient } from "../../src/storage/replica-client.ts";
import { S3Store } from "../../src/storage/s3.ts";
import { createDatabase, runWriter } from "../helpers/app-db.ts";
import { runCli, waitFor } from "../helpers/cli.ts";
import { readDatabase } from "../helpers/db-content.ts";
import { expectContinuousReplica } from "../helpers/replica-check.ts";
import { s3ForTests, s3Keys, startReplicating } from "../helpers/replicate-setup.ts";
import { makeTempDir } from "../helpers/tmp.ts";

const BUCKET = "faults";

describe("a faulty S3-compatible server", () => {
  const dir = makeTempDir();
  const servers = s3ForTests({ buckets: [BUCKET], proxySeed: 7, removeAfter: dir });

  test("replication survives 503 SlowDown, 500 and resets, then catches up exactly", async () => {
    const { s3, proxy } = servers;
    const db = path.join(dir, "app.db");
    createDatabase(db);
    const walship = startReplicating(
      path.join(dir, "walship.yml"),
      {
        dbs: [
          {
            path: db,
            keys: { "monitor-interval": "100ms" },
            replicas: [{ url: `${proxy.endpoint}/${BUCKET}/app`, keys: { "sync-interval": "200ms" } }],
          },
        ],
      },
      { s3 },
    );
    const creds = s3Keys(s3);
    await waitFor(() => walship.stderr().includes("snapshot written"), 20_000, "the first snapshot");

    proxy.setRules([
      { kind: "slowdown-503", probability: 0.3 },
      { kind: "status-500", probability: 0.2 },
      { kind: "reset", probability: 0.2 },
    ]);
    // Keep writing while faults are on, until every kind has hit several requests (bounded in time).
    const deadline = Date.now() + 30_000;
    let seed = 9;
    const enough = () => {
      const s = proxy.stats();
      return s["slowdown-503"] >= 2 && s["status-500"] >= 2 && s.reset >= 2;
    };
    while (!enough() && Date.now() < deadline) await runWriter(db, 100, seed++, 5);
    proxy.clearRules();
    expect(enough()).toBe(true);
    const putsBeforeClear = proxy.requests.filter((r) => r.method === "PUT" && r.status === 200).length;
    await runWriter(db, 300, seed++, 5);
    // After the faults stop, uploads resume while walship is still running (not only at the final sync).
    await waitFor(
      () => proxy.requests.filter((r) => r.method === "PUT" && r.status === 200).length > putsBeforeClear + 2,
      15_000,
      "uploads to resume",
    );
    const stopped = await walship.stop();
    expect(stopped.code).toBe(0);
    expect(stopped.stderr).toContain("replica recovered");

    const client = new ReplicaClient(
      new S3Store({
        bucket: BUCKET,
        prefix: "app",
        endpoint: s3.endpoint,
        forcePathStyle: true,
        skipVerify: false,
        accessKeyId: s3.accessKeyId,
        secretAccessKey: s3.secretAccessKey,
      }),
    );
    expect(await expectContinuousReplica(client)).toBeGreaterThan(5);

    const out = path.join(dir, "restored.db");
    const restore = await runCli(["restore", "-o", out, `${s3.endpoint}/${BUCKET}/app`], { env: creds });
    expect(restore.code).toBe(0);
    const restored = readDatabase(out);
    expect(restored.integrity).toBe("ok");
    expect(restored.rows).toEqual(readDatabase(db).rows);

    // What went over the wire: plain fixed-length bodies, no aws-chunked framing or checksum trailers.
    const puts = proxy.requests.filter((r) => r.method === "PUT" && !r.path.startsWith(`/${BUCKET}?`));
    expect(puts.length).toBeGreaterThan(5);
    for (const r of proxy.requests) {
      expect(r.headers["content-encoding"] ?? "").not.toContain("aws-chunked");
      expect(r.headers["x-amz-trailer"]).toBeUndefined();
      expect(r.headers["x-amz-content-sha256"] ?? "").not.toStartWith("STREAMING");
      expect(r.headers["transfer-encoding"]).toBeUndefined();
    }
    // Every object the server holds is exactly what the last successful PUT of its key carried.
    const lastPut = new Map<string, number>();
    for (const r of puts)
      if (r.status === 200)
        lastPut.set(decodeURIComponent(r.path.split("?")[0]!.slice(BUCKET.length + 2)), r.bodyBytes);
    for (const [key, bytes] of lastPut) {
      const stored = await s3.objectBytes(BUCKET, key);
      expect({ key, size: stored?.length }).toEqual({ key, size: bytes });
      expect(() => decodeLz4Frame(stored as Uint8Array)).not.toThrow();
    }
  }, 120_000);
});
