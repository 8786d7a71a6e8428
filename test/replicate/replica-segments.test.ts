/**
 * What a replica ships: every WAL segment ends with a commit frame, so a replica whose upload stops
 * anywhere never ends inside a transaction. A backlog larger than a segment is cut at commit frames; a
 * single transaction larger than a segment goes up whole, as one object.
 */
import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseWalSegmentName, walPath } from "../../src/format/layout.ts";
import { decodeLz4Frame } from "../../src/format/lz4-frame.ts";
import { Replica } from "../../src/replicate/replica.ts";
import { MAX_SEGMENT_BYTES } from "../../src/replicate/shadow-segments.ts";
import { planRestore } from "../../src/restore/plan.ts";
import { executeRestore } from "../../src/restore/restore.ts";
import { FileStore } from "../../src/storage/file.ts";
import { ReplicaClient } from "../../src/storage/replica-client.ts";
import { readDatabase } from "../helpers/db-content.ts";
import { openReplicatedDb } from "../helpers/replicated-db.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

const dir = makeTempDir();
afterAll(() => removeDir(dir));

test("segments end on commit frames; a transaction larger than a segment is one object", async () => {
  const file = path.join(dir, "app.db");
  const replicaDir = path.join(dir, "replica");
  const app = new Database(file, { create: true });
  app.run("PRAGMA journal_mode = wal");
  app.run("PRAGMA wal_autocheckpoint = 0");
  app.run("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INTEGER, data BLOB)");
  const { db, log } = openReplicatedDb(file, { minCheckpointPageCount: 1_000_000 });
  const replica = new Replica(db, {
    name: "file",
    client: new ReplicaClient(new FileStore(replicaDir)),
    syncIntervalMs: 100,
    log,
  });
  db.sync();
  await replica.sync();

  // ~40 MB of small transactions, then one transaction of ~40 MB, shipped in one sync each.
  const insert = app.prepare("INSERT INTO items (name, qty, data) VALUES ('r', 1, randomblob(3000))");
  for (let i = 0; i < 13_000; i++) insert.run();
  db.sync();
  await replica.sync();
  app.transaction(() => {
    for (let i = 0; i < 13_000; i++) insert.run();
  })();
  db.sync();
  await replica.sync();

  const generation = db.pos()!.generation;
  const segDir = path.join(replicaDir, walPath("", generation));
  const segments = fs
    .readdirSync(segDir)
    .map((name) => ({ name, ...parseWalSegmentName(name)! }))
    .sort((a, b) => a.index - b.index || a.offset - b.offset);
  let larger = 0;
  for (const seg of segments) {
    const content = decodeLz4Frame(new Uint8Array(fs.readFileSync(path.join(segDir, seg.name))));
    const lastFrame = content.length - (24 + 4096);
    const commit = content.length === 32 || new DataView(content.buffer).getUint32(lastFrame + 4) !== 0;
    expect({ segment: seg.name, endsOnCommit: commit }).toEqual({ segment: seg.name, endsOnCommit: true });
    if (content.length > MAX_SEGMENT_BYTES) larger++;
  }
  // The small transactions needed several segments; the large one is the only segment over the limit.
  expect(segments.length).toBeGreaterThanOrEqual(5);
  expect(larger).toBe(1);

  const out = path.join(dir, "restored.db");
  const plan = await planRestore([{ name: "file", client: replica.client }], {});
  await executeRestore(plan, { output: out, log });
  expect(readDatabase(out).rows.length).toBe(26_000);
  app.close();
  db.close();
}, 120_000);
