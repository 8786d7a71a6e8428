/**
 * Restarting the replicator: it continues the same generation when nothing touched the WAL while it was
 * down, and starts a new one, saying why, when the WAL was reset behind its back. Restores are exact.
 */
import type { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { FileStore } from "../../src/storage/file.ts";
import { ReplicaClient } from "../../src/storage/replica-client.ts";
import { createDatabase, openApp } from "../helpers/app-db.ts";
import { runCli, startCli, waitFor } from "../helpers/cli.ts";
import { readDatabase } from "../helpers/db-content.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

function insertRows(app: Database, from: number, count: number): void {
  const insert = app.prepare("INSERT INTO items (name, qty) VALUES (?, ?)");
  for (let i = from; i < from + count; i++) insert.run(`row-${i}`, i);
}

async function runReplicatorWhile(db: string, replica: string, during: () => Promise<void> | void) {
  const proc = startCli(["replicate", db, `file://${replica}`]);
  await waitFor(() => fs.existsSync(path.join(replica, "generations")), 15_000, "the replica");
  await during();
  // Let one monitor tick (1 s) pass so the stop's final sync is not the only sync.
  await Bun.sleep(1100);
  const result = await proc.stop();
  expect(result.code).toBe(0);
  return result.stderr;
}

async function restoreAndCompare(dir: string, replica: string, db: string, name: string): Promise<void> {
  const out = path.join(dir, name);
  const r = await runCli(["restore", "-o", out, `file://${replica}`]);
  expect(r.code).toBe(0);
  const restored = readDatabase(out);
  expect(restored.integrity).toBe("ok");
  expect(restored.rows).toEqual(readDatabase(db).rows);
}

describe("restarting walship", () => {
  const dir = makeTempDir();
  afterAll(() => removeDir(dir));

  test("continues the same generation when the WAL was left alone", async () => {
    const db = path.join(dir, "same.db");
    const replica = path.join(dir, "same-replica");
    createDatabase(db);
    // The application keeps its connection open throughout, so SQLite never deletes the WAL.
    const app = openApp(db);
    expect(await runReplicatorWhile(db, replica, () => insertRows(app, 0, 200))).toContain(
      "starting a new generation",
    );
    insertRows(app, 200, 100); // written while walship is down, into the same WAL session
    const first = await runReplicatorWhile(db, replica, () => insertRows(app, 300, 100));
    expect(first).toContain("initialized db");
    expect(first).not.toContain("starting a new generation");
    app.close();

    const client = new ReplicaClient(new FileStore(replica));
    expect((await client.generations()).length).toBe(1);
    await restoreAndCompare(dir, replica, db, "same-restored.db");
  });

  test("starts a new generation, logging the reason, when the WAL was reset while it was down", async () => {
    const db = path.join(dir, "reset.db");
    const replica = path.join(dir, "reset-replica");
    createDatabase(db);
    const app = openApp(db);
    await runReplicatorWhile(db, replica, () => insertRows(app, 0, 200));
    // With no replicator holding its read lock, the application's TRUNCATE resets the WAL.
    expect((app.query("PRAGMA wal_checkpoint(TRUNCATE)").get() as { busy: number }).busy).toBe(0);
    insertRows(app, 200, 50);
    const second = await runReplicatorWhile(db, replica, () => insertRows(app, 250, 50));
    // One line says both that a new generation starts and why.
    const lines = second.split("\n").filter((l) => l.includes("generation") && !l.includes("initialized db"));
    expect(lines.length).toBe(1);
    expect(lines[0]).toMatch(
      /msg="starting a new generation".*reason="wal changed while walship was stopped/,
    );
    app.close();

    const client = new ReplicaClient(new FileStore(replica));
    expect((await client.generations()).length).toBe(2);
    await restoreAndCompare(dir, replica, db, "reset-restored.db");
  });
});
