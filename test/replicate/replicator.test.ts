import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import * as path from "node:path";
import { DEFAULT_TRUNCATE_PAGE_COUNT, ReplicatedDatabase } from "../../src/replicate/database.ts";
import { Replica } from "../../src/replicate/replica.ts";
import { Replicator } from "../../src/replicate/replicator.ts";
import { FileStore } from "../../src/storage/file.ts";
import { ReplicaClient } from "../../src/storage/replica-client.ts";
import { createDatabase } from "../helpers/app-db.ts";
import { memoryLogger } from "../helpers/quiet-log.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

const dir = makeTempDir();
afterAll(() => removeDir(dir));

/** A directory store whose WAL segment writes take `delayMs`, recording when each began. */
class SlowStore extends FileStore {
  readonly segmentStarts: number[] = [];
  constructor(
    root: string,
    private readonly delayMs: number,
  ) {
    super(root);
  }
  override async put(key: string, data: Uint8Array): Promise<{ createdAt: Date }> {
    if (key.includes("/wal/")) {
      this.segmentStarts.push(Date.now());
      await Bun.sleep(this.delayMs);
    }
    return super.put(key, data);
  }
}

test("uploads start once per sync interval even when each takes most of it", async () => {
  const file = path.join(dir, "app.db");
  createDatabase(file);
  const { log } = memoryLogger();
  const db = new ReplicatedDatabase({
    path: file,
    checkpointIntervalMs: 0,
    minCheckpointPageCount: 1000,
    maxCheckpointPageCount: 0,
    truncatePageCount: DEFAULT_TRUNCATE_PAGE_COUNT,
    maxWalBytes: 0,
    log,
  });
  const store = new SlowStore(path.join(dir, "replica"), 250);
  const replica = new Replica(db, {
    name: "slow",
    client: new ReplicaClient(store),
    syncIntervalMs: 400,
    log,
  });
  const replicator = new Replicator([{ db, replicas: [replica], monitorIntervalMs: 50 }], log);
  const app = new Database(file);
  replicator.start();
  try {
    const end = Date.now() + 3000;
    for (let i = 0; Date.now() < end; i++) {
      app.run("INSERT INTO items (name, qty) VALUES ('tick', ?)", [i]);
      await Bun.sleep(20);
    }
  } finally {
    app.close();
    expect(await replicator.stop()).toBe(true);
  }
  const starts = store.segmentStarts;
  // From the second upload to the last before stop() (whose final sync does not wait for the interval).
  const gaps = starts.slice(2, -1).map((t, i) => t - starts[i + 1]!);
  expect(gaps.length).toBeGreaterThanOrEqual(3);
  // Waiting a whole interval after each 250 ms upload would space them 650 ms apart.
  for (const gap of gaps) expect(gap).toBeLessThan(550);
  for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(380);
});
