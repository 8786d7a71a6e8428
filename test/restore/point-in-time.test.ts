/**
 * Point-in-time restore by capture times: a commit made after the requested time is never restored, even
 * when object times have whole seconds (S3's LastModified), and a commit captured before the time is
 * restored even when its segment went up after it. Without capture times (Litestream's replicas) the
 * restore rounds toward the earlier state and says so.
 */
import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { readCaptureTimes } from "../../src/format/capture-times.ts";
import { parseWalSegmentName, snapshotsPath, walPath } from "../../src/format/layout.ts";
import { decodeLz4Frame, encodeLz4Frame } from "../../src/format/lz4-frame.ts";
import { Replica } from "../../src/replicate/replica.ts";
import { planRestore } from "../../src/restore/plan.ts";
import { executeRestore } from "../../src/restore/restore.ts";
import { FileStore } from "../../src/storage/file.ts";
import { ReplicaClient } from "../../src/storage/replica-client.ts";
import { createDatabase } from "../helpers/app-db.ts";
import { runCli, startCli, waitFor } from "../helpers/cli.ts";
import { writeConfig } from "../helpers/config.ts";
import { readDatabase } from "../helpers/db-content.ts";
import { openReplicatedDb } from "../helpers/replicated-db.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

const dir = makeTempDir();
afterAll(() => removeDir(dir));

/** Every object of a directory replica, with its path. */
function objects(root: string): string[] {
  const out: string[] = [];
  for (const generation of fs.readdirSync(path.join(root, "generations"))) {
    for (const sub of [walPath("", generation), snapshotsPath("", generation)]) {
      for (const name of fs.readdirSync(path.join(root, sub))) out.push(path.join(root, sub, name));
    }
  }
  return out;
}

/** Gives every object the whole-second time S3 would list for it. */
function floorTimesToSeconds(root: string): void {
  for (const file of objects(root)) {
    const t = new Date(Math.floor(fs.statSync(file).mtimeMs / 1000) * 1000);
    fs.utimesSync(file, t, t);
  }
}

test("a commit made after the requested time is not restored, though its object is listed in that second", async () => {
  const db = path.join(dir, "app.db");
  const replica = path.join(dir, "replica");
  createDatabase(db);
  const config = writeConfig(dir, db, { "monitor-interval": "50ms" }, [
    { url: `file://${replica}`, keys: { "sync-interval": "100ms" } },
  ]);
  const walship = startCli(["replicate", "-config", config]);
  await waitFor(() => walship.stderr().includes("snapshot written"), 20_000, "the first snapshot");
  const app = new Database(db);
  app.run("PRAGMA busy_timeout = 5000");
  for (let i = 0; i < 20; i++) app.run("INSERT INTO items (name, qty) VALUES ('kept', ?)", [i]);
  await Bun.sleep(1200);
  // The bad DELETE comes 300 ms into a second; the user asks for the state at that second's start.
  const now = Date.now();
  const second = Math.ceil(now / 1000) * 1000;
  await Bun.sleep(second + 300 - now);
  app.run("DELETE FROM items");
  app.close();
  await Bun.sleep(800);
  expect((await walship.stop()).code).toBe(0);
  floorTimesToSeconds(replica);

  const at = new Date(second).toISOString();
  const out = path.join(dir, "before-delete.db");
  const r = await runCli(["restore", "--json", "-timestamp", at, "-o", out, `file://${replica}`]);
  expect({ code: r.code, stderr: r.code === 0 ? "" : r.stderr }).toEqual({ code: 0, stderr: "" });
  expect(readDatabase(out).rows.length).toBe(20);
  expect(JSON.parse(r.stdout).pointInTime).toMatchObject({ timestamp: at, stoppedBy: "capture times" });

  // The same replica without capture times (as Litestream writes it): rounded toward the earlier state,
  // and said so.
  for (const file of objects(replica).filter((f) => parseWalSegmentName(path.basename(f)))) {
    const mtime = fs.statSync(file).mtime;
    fs.writeFileSync(file, encodeLz4Frame(decodeLz4Frame(new Uint8Array(fs.readFileSync(file)))));
    fs.utimesSync(file, mtime, mtime);
  }
  const rounded = path.join(dir, "rounded.db");
  const l = await runCli(["restore", "-timestamp", at, "-o", rounded, `file://${replica}`]);
  expect(l.code).toBe(0);
  expect(readDatabase(rounded).rows.length).toBe(20);
  expect(l.stderr).toContain("records no capture times after the requested time");
}, 60_000);

test("a commit captured before the requested time is restored, though its segment went up after it", async () => {
  const file = path.join(dir, "late.db");
  const root = path.join(dir, "late-replica");
  createDatabase(file);
  const app = new Database(file);
  const { db, log } = openReplicatedDb(file);
  const client = new ReplicaClient(new FileStore(root));
  const replica = new Replica(db, { name: "file", client, syncIntervalMs: 100, log });
  const insert = (name: string) => {
    app.run("INSERT INTO items (name, qty) VALUES (?, 1)", [name]);
    db.sync();
  };
  insert("uploaded before");
  await replica.sync();
  await Bun.sleep(20);
  insert("captured before, uploaded after");
  await Bun.sleep(20);
  const at = new Date();
  await Bun.sleep(20);
  insert("captured after");
  await replica.sync(); // both later commits go up in one segment, after the requested time
  const newest = objects(root)
    .filter((f) => parseWalSegmentName(path.basename(f)))
    .sort()
    .at(-1)!;
  expect(readCaptureTimes(new Uint8Array(fs.readFileSync(newest)))?.length).toBe(2);

  const restore = async (out: string) => {
    const plan = await planRestore([{ name: "file", client }], { timestamp: at });
    const result = await executeRestore(plan, { output: out, log });
    return { names: readDatabase(out).rows.map((r) => (r as { name: string }).name), result };
  };
  const { names, result } = await restore(path.join(dir, "late-restored.db"));
  expect(names).toEqual(["uploaded before", "captured before, uploaded after"]);
  expect(result.pointInTime?.stoppedBy).toBe("capture times");
  app.close();
  db.close();
});
