/**
 * Retention (Litestream 0.3.13's policy): a new snapshot when none is retained, whole older generations
 * deleted, snapshots and WAL below the oldest retained snapshot deleted, and restore still exact.
 * Object ages are set through file mtimes, which is what a directory replica's CreatedAt is.
 */
import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { snapshotPath } from "../../src/format/layout.ts";
import { Replica } from "../../src/replicate/replica.ts";
import { planRestore } from "../../src/restore/plan.ts";
import { executeRestore } from "../../src/restore/restore.ts";
import { FileStore } from "../../src/storage/file.ts";
import { ReplicaClient } from "../../src/storage/replica-client.ts";
import { createDatabase } from "../helpers/app-db.ts";
import { readDatabase } from "../helpers/db-content.ts";
import { openReplicatedDb } from "../helpers/replicated-db.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

const dir = makeTempDir();
afterAll(() => removeDir(dir));
const HOUR = 3600_000;

function age(replicaDir: string, generation: string, index: number, ms: number): void {
  const t = new Date(Date.now() - ms);
  fs.utimesSync(path.join(replicaDir, snapshotPath("", generation, index)), t, t);
}

test("retention keeps what restores need and deletes the rest", async () => {
  const file = path.join(dir, "app.db");
  const replicaDir = path.join(dir, "replica");
  createDatabase(file);
  const { db, log, lines } = openReplicatedDb(file);
  const client = new ReplicaClient(new FileStore(replicaDir));
  const replica = new Replica(db, { name: "file", client, syncIntervalMs: 100, log });
  const app = new Database(file);
  const write = (n: number) => {
    for (let i = 0; i < n; i++) app.run("INSERT INTO items (name, qty) VALUES ('r', ?)", [i]);
    db.sync();
  };

  // Generation A: a snapshot, then more WAL; then a new generation B is forced.
  write(20);
  await replica.sync();
  const genA = db.pos()!.generation;
  write(20);
  await replica.sync();
  db.requestNewGeneration("test: start generation B");
  write(5);
  await replica.sync();
  const genB = db.pos()!.generation;
  expect(genB).not.toBe(genA);

  // In B: index 0 with a snapshot, a checkpoint that moves to index 1, a second snapshot there.
  write(30);
  db.checkpoint("RESTART");
  write(30);
  await replica.sync();
  await replica.snapshotNow();
  write(10);
  await replica.sync();
  const snapsB = await client.snapshots(genB);
  expect(snapsB.map((s) => s.index)).toEqual([0, 1]);

  // A is entirely old; B's first snapshot is old, its second is young.
  age(replicaDir, genA, 0, 2 * HOUR);
  age(replicaDir, genB, 0, 2 * HOUR);
  await replica.enforceRetention(HOUR);
  expect(await client.generations()).toEqual([genB]);
  expect((await client.snapshots(genB)).map((s) => s.index)).toEqual([1]);
  expect((await client.walSegments(genB)).every((s) => s.index >= 1)).toBe(true);
  expect(lines.join("\n")).toContain("generation deleted by retention");

  // Everything old: a new snapshot is taken and kept.
  age(replicaDir, genB, 1, 2 * HOUR);
  write(5);
  await replica.sync();
  await replica.enforceRetention(HOUR);
  const after = await client.snapshots(genB);
  expect(after.length).toBe(1);
  expect(after[0]!.createdAt.getTime()).toBeGreaterThan(Date.now() - 60_000);

  write(5);
  await replica.sync();
  const out = path.join(dir, "restored.db");
  await executeRestore(await planRestore([{ name: "file", client }], {}), {
    output: out,
    log,
    verify: "full",
  });
  app.close();
  db.close();
  expect(readDatabase(out).rows).toEqual(readDatabase(file).rows);
});
