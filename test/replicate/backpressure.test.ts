/**
 * The `max-wal-size` bound: the WAL restarts before it reaches the bound, and while more than the bound
 * is captured but not yet in the replica, the application's writers wait (within their busy_timeout)
 * instead of the backlog growing; an unreachable replica turns that off.
 */
import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { backlogBytes } from "../../src/replicate/backpressure.ts";
import { DEFAULT_TRUNCATE_PAGE_COUNT, ReplicatedDatabase } from "../../src/replicate/database.ts";
import { Replica } from "../../src/replicate/replica.ts";
import { replicaFloor } from "../../src/replicate/replica-floor.ts";
import { Replicator } from "../../src/replicate/replicator.ts";
import { FileStore } from "../../src/storage/file.ts";
import { ReplicaClient } from "../../src/storage/replica-client.ts";
import { createDatabase } from "../helpers/app-db.ts";
import { runCli } from "../helpers/cli.ts";
import { readDatabase } from "../helpers/db-content.ts";
import type { FloodResult } from "../helpers/flood-writer.ts";
import { memoryLogger } from "../helpers/quiet-log.ts";
import { expectContinuousReplica } from "../helpers/replica-check.ts";
import { openReplicatedDb } from "../helpers/replicated-db.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

const dir = makeTempDir("walship-backpressure-");
afterAll(() => removeDir(dir));
const MiB = 2 ** 20;

/** A directory store whose WAL segment uploads go at `bytesPerSecond`, or fail while `down`. */
class ThrottledStore extends FileStore {
  down = false;
  constructor(
    root: string,
    public bytesPerSecond: number,
  ) {
    super(root);
  }
  override async put(key: string, data: Uint8Array): Promise<{ createdAt: Date }> {
    if (key.includes("/wal/")) {
      if (this.down) throw new Error("connection refused (test outage)");
      await Bun.sleep((data.length / this.bytesPerSecond) * 1000);
    }
    return super.put(key, data);
  }
}

/** Commits 8 KB incompressible rows at about `mbPerSecond` for `seconds`, from another process. */
async function flood(db: string, seconds: number, mbPerSecond: number): Promise<FloodResult> {
  const writer = path.join(import.meta.dirname, "../helpers/flood-writer.ts");
  const proc = Bun.spawn([process.execPath, writer, db, String(seconds), "8000", String(mbPerSecond)], {
    stdout: "pipe",
    stderr: "inherit",
  });
  const out = await new Response(proc.stdout).text();
  expect(await proc.exited).toBe(0);
  return JSON.parse(out) as FloodResult;
}

/** A database replicated to a throttled directory store, with the bound given. */
function replicated(name: string, maxWalBytes: number, bytesPerSecond: number) {
  const file = path.join(dir, `${name}.db`);
  createDatabase(file);
  const { log, lines } = memoryLogger();
  const db = new ReplicatedDatabase({
    path: file,
    checkpointIntervalMs: 0,
    minCheckpointPageCount: 1000,
    maxCheckpointPageCount: 10_000,
    truncatePageCount: DEFAULT_TRUNCATE_PAGE_COUNT,
    maxWalBytes,
    log,
  });
  const root = path.join(dir, `${name}-replica`);
  const store = new ThrottledStore(root, bytesPerSecond);
  const replica = new Replica(db, {
    name: "slow",
    client: new ReplicaClient(store),
    syncIntervalMs: 100,
    log,
  });
  const replicator = new Replicator([{ db, replicas: [replica], monitorIntervalMs: 50 }], log);
  return { file, db, store, root, replica, replicator, lines };
}

/** The largest backlog seen while `during` runs, sampled every few milliseconds. */
async function peakBacklog<T>(
  { db, replica }: { db: ReplicatedDatabase; replica: Replica },
  during: Promise<T>,
): Promise<{ peak: number; result: T }> {
  const backlog = () => backlogBytes(db, replicaFloor({ db, replicas: [replica] }));
  let peak = 0;
  const timer = setInterval(() => {
    peak = Math.max(peak, backlog());
  }, 5);
  try {
    const result = await during;
    return { peak: Math.max(peak, backlog()), result };
  } finally {
    clearInterval(timer);
  }
}

test("one WAL session never passes the bound: past half of it, the checkpoint restarts the WAL at once", () => {
  const file = path.join(dir, "wal-bound.db");
  createDatabase(file);
  // No checkpoint by page count (100,000 pages): only the bound makes the WAL restart.
  const { db } = openReplicatedDb(file, { maxWalBytes: 2 * MiB });
  const app = new Database(file);
  const insert = app.prepare("INSERT INTO items (name, qty, data) VALUES ('x', ?, randomblob(8000))");
  let peakWal = 0;
  try {
    db.sync();
    const firstIndex = db.pos()!.index;
    for (let batch = 0; batch < 40; batch++) {
      // About 256 KiB per transaction.
      app.transaction(() => {
        for (let i = 0; i < 32; i++) insert.run(batch * 32 + i);
      })();
      db.sync();
      peakWal = Math.max(peakWal, fs.statSync(`${file}-wal`).size);
    }
    expect(peakWal).toBeLessThanOrEqual(2 * MiB + 300 * 1024);
    expect(db.pos()!.index - firstIndex).toBeGreaterThanOrEqual(5);
  } finally {
    app.close();
    db.close();
  }
});

test("past max-wal-size the writers wait while the replica catches up, and nothing is lost", async () => {
  const bound = 16 * MiB;
  const r = replicated("held", bound, 4 * MiB);
  r.replicator.start();
  let stopped = false;
  try {
    await waitUntil(() => r.replica.pos !== null, 10_000);
    const { peak, result } = await peakBacklog(r, flood(r.file, 3, 40));
    // Uploads go at 4 MiB/s, the writer at ten times that: without the hold the backlog would reach
    // ~100 MiB. Between two looks at it the writer adds a little more (~40 MB/s x a few ms).
    expect(r.db.stats.writerHolds).toBeGreaterThan(0);
    expect(peak).toBeLessThan(2 * bound);
    expect(result.busy).toBe(0);
    expect(r.lines.some((l) => l.includes("held the application's writers"))).toBe(true);
    expect(await r.replicator.stop()).toBe(true);
    stopped = true;
    await expectContinuousReplica(new ReplicaClient(new FileStore(r.root)));
    const out = path.join(dir, "held-restored.db");
    const restored = await runCli(["restore", "-o", out, `file://${r.root}`]);
    expect({ code: restored.code, stderr: restored.code === 0 ? "" : restored.stderr }).toEqual({
      code: 0,
      stderr: "",
    });
    expect(readDatabase(out).rows.length).toBe(result.commits);
  } finally {
    if (!stopped) await r.replicator.stop();
  }
}, 60_000);

test("a replica that does not answer never holds the writers: an outage must not stop the application", async () => {
  const bound = 4 * MiB;
  const r = replicated("outage", bound, 4 * MiB);
  r.replicator.start();
  try {
    await waitUntil(() => r.replica.pos !== null, 10_000);
    // The outage is known before the flood begins (before it, a backlog past the bound is held).
    r.store.down = true;
    const app = new Database(r.file);
    app.run("INSERT INTO items (name, qty) VALUES ('before the flood', 0)");
    app.close();
    await waitUntil(() => !r.replica.reachability.reachable, 10_000);
    const captured = r.db.stats.walBytes;
    const { result } = await peakBacklog(r, flood(r.file, 1.5, 40));
    expect(r.replica.reachability.reachable).toBe(false);
    expect(r.db.stats.walBytes - captured).toBeGreaterThan(2 * bound);
    expect(r.db.stats.writerHolds).toBe(0);
    expect(result.busy).toBe(0);
  } finally {
    // Back, and fast, so the final sync ships the backlog within the stop's wait for a replica that was down.
    r.store.down = false;
    r.store.bytesPerSecond = 1e12;
    expect(await r.replicator.stop()).toBe(true);
  }
}, 60_000);

async function waitUntil(check: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error("timed out");
    await Bun.sleep(10);
  }
}
