/**
 * A write flood: the application commits as fast as it can while walship replicates. walship's read
 * transaction moves forward with every capture and its checkpoints hold writers back for a moment when
 * the application's own never catch up, so the WAL stays small and restarts again and again within one
 * generation, and the restore has every commit. Without that, the WAL grows by tens of megabytes a second.
 */
import { afterAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { FileStore } from "../../src/storage/file.ts";
import { ReplicaClient } from "../../src/storage/replica-client.ts";
import { createDatabase } from "../helpers/app-db.ts";
import { runCli, startCli, waitFor } from "../helpers/cli.ts";
import { readDatabase } from "../helpers/db-content.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

const FLOOD_SECONDS = 4;
/** Four times the default checkpoint threshold (1000 pages of 4 KiB); unchecked, the flood passes 50 MiB. */
const WAL_BOUND_BYTES = 16 * 1024 * 1024;

/** Autocommit INSERTs flat out for SECONDS, one fsync each (SQLite's default in bun:sqlite). */
const FLOOD_WRITER = `
import { Database } from "bun:sqlite";
const [file, seconds] = process.argv.slice(2);
const db = new Database(file);
db.run("PRAGMA busy_timeout = 5000");
const insert = db.prepare("INSERT INTO items (name, qty) VALUES (?, ?)");
const end = Date.now() + Number(seconds) * 1000;
let n = 0;
while (Date.now() < end) insert.run("flood-" + n, n++);
console.log(n);
`;

describe("a write flood", () => {
  const dir = makeTempDir();
  afterAll(() => removeDir(dir));

  test("keeps the WAL bounded in one generation and loses no commit", async () => {
    const db = path.join(dir, "flood.db");
    const replica = path.join(dir, "replica");
    const script = path.join(dir, "flood-writer.ts");
    fs.writeFileSync(script, FLOOD_WRITER);
    createDatabase(db);
    const proc = startCli(["replicate", db, `file://${replica}`]);
    const client = new ReplicaClient(new FileStore(replica));
    await waitFor(
      async () =>
        (await client.generations()).length === 1 &&
        (await client.snapshots((await client.generations())[0]!)).length > 0,
      15_000,
      "the first snapshot",
    );

    const writer = Bun.spawn([process.execPath, script, db, String(FLOOD_SECONDS)], { stdout: "pipe" });
    let peak = 0;
    let done = false;
    const exited = writer.exited.then((code) => {
      done = true;
      return code;
    });
    while (!done) {
      peak = Math.max(peak, fs.statSync(`${db}-wal`).size);
      await Bun.sleep(5);
    }
    expect(await exited).toBe(0);
    const commits = Number((await new Response(writer.stdout).text()).trim());
    const result = await proc.stop();
    expect(result.code).toBe(0);

    expect(commits).toBeGreaterThan(1000);
    expect(peak).toBeLessThan(WAL_BOUND_BYTES);
    const generations = await client.generations();
    expect(generations.length).toBe(1);
    // The WAL restarted many times, each restart a new WAL index of the same generation.
    const segments = await client.walSegments(generations[0]!);
    expect(new Set(segments.map((s) => s.index)).size).toBeGreaterThan(3);

    const out = path.join(dir, "restored.db");
    expect((await runCli(["restore", "-o", out, `file://${replica}`])).code).toBe(0);
    const restored = readDatabase(out);
    expect(restored.integrity).toBe("ok");
    expect(restored.rows.length).toBe(commits);
    expect(restored.rows).toEqual(readDatabase(db).rows);
  }, 60_000);
});
