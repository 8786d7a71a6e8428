/**
 * Retention keeps the window it promises: with snapshots every second and a retention of four, the
 * replica holds a snapshot per interval, each at a WAL index of its own (snapshots are named by index,
 * and a second one at the same index would replace the first), and a point in time three seconds back
 * restores exactly what was committed then.
 */
import { afterAll, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseSnapshotName, snapshotsPath } from "../../src/format/layout.ts";
import { createDatabase, openApp } from "../helpers/app-db.ts";
import { runCli, startCli, waitFor } from "../helpers/cli.ts";
import { writeConfig } from "../helpers/config.ts";
import { readDatabase } from "../helpers/db-content.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

const dir = makeTempDir();
afterAll(() => removeDir(dir));

test("snapshots at a short interval each get their own index, and the restorable window is the retention", async () => {
  const db = path.join(dir, "app.db");
  const replica = path.join(dir, "replica");
  createDatabase(db);
  // No WAL restart of its own (no size threshold): only snapshots can move the index on.
  const config = writeConfig(
    dir,
    db,
    { "monitor-interval": "50ms", "min-checkpoint-page-count": "100000", "max-checkpoint-page-count": "0" },
    [
      {
        url: `file://${replica}`,
        keys: {
          "sync-interval": "100ms",
          "snapshot-interval": "1s",
          retention: "4s",
          "retention-check-interval": "1s",
        },
      },
    ],
  );
  const walship = startCli(["replicate", "-config", config]);
  await waitFor(() => walship.stderr().includes("snapshot written"), 20_000, "the first snapshot");

  const app = openApp(db);
  const insert = app.prepare("INSERT INTO items (name, qty) VALUES ('tick', ?)");
  const committed: { at: number; rows: number }[] = [];
  const started = Date.now();
  for (let i = 1; Date.now() - started < 7_000; i++) {
    insert.run(i);
    committed.push({ at: Date.now(), rows: i });
    await Bun.sleep(50);
  }
  app.close();
  await Bun.sleep(500);
  const stopped = await walship.stop();
  expect({ code: stopped.code, stderr: stopped.code === 0 ? "" : stopped.stderr }).toEqual({
    code: 0,
    stderr: "",
  });

  const [generation] = fs.readdirSync(path.join(replica, "generations"));
  const snapshots = fs
    .readdirSync(path.join(replica, snapshotsPath("", generation!)))
    .map((name) => parseSnapshotName(name))
    .filter((s) => s !== null);
  // About four retained snapshots, each at its own index.
  expect(snapshots.length).toBeGreaterThanOrEqual(3);
  expect(new Set(snapshots.map((s) => s.index)).size).toBe(snapshots.length);

  // Three seconds back is inside the window: it restores, holding every row committed by then.
  const target = Date.now() - 3_000;
  const out = path.join(dir, "window.db");
  const r = await runCli([
    "restore",
    "-timestamp",
    new Date(target).toISOString(),
    "-o",
    out,
    `file://${replica}`,
  ]);
  expect({ code: r.code, stderr: r.code === 0 ? "" : r.stderr }).toEqual({ code: 0, stderr: "" });
  const rows = readDatabase(out).rows.length;
  const before = committed.filter((c) => c.at <= target - 1_000).at(-1)?.rows ?? 0;
  const after = committed.filter((c) => c.at <= target).at(-1)?.rows ?? 0;
  expect(rows).toBeGreaterThanOrEqual(before);
  expect(rows).toBeLessThanOrEqual(after);
}, 60_000);
