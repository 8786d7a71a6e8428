/** Two walship processes replicating the same database: the second refuses; only one ever writes. */
import { afterAll, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { createDatabase, runWriter } from "../helpers/app-db.ts";
import { runCli, startCli, waitFor } from "../helpers/cli.ts";
import { readDatabase } from "../helpers/db-content.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

const dir = makeTempDir();
afterAll(() => removeDir(dir));

test("a second replicator for the same database refuses with a clear error", async () => {
  const db = path.join(dir, "app.db");
  createDatabase(db);
  const first = startCli(["replicate", db, `file://${dir}/replica-a`]);
  await waitFor(() => first.stderr().includes("snapshot written"), 20_000, "the first replicator");
  const second = await runCli(["replicate", db, `file://${dir}/replica-b`]);
  expect(second.code).toBe(1);
  expect(second.stderr.trim().split("\n")).toHaveLength(1);
  expect(second.stderr).toContain("another walship process is already replicating it");
  expect(second.stderr).toContain("Try: ");
  expect(fs.existsSync(path.join(dir, "replica-b"))).toBe(false);

  await runWriter(db, 100, 4, 10);
  expect((await first.stop()).code).toBe(0);
  // Once the first one is gone, a new one may take over.
  const third = startCli(["replicate", db, `file://${dir}/replica-a`]);
  await waitFor(() => third.stderr().includes("initialized db"), 20_000, "the next replicator");
  expect((await third.stop()).code).toBe(0);
  const out = path.join(dir, "restored.db");
  expect((await runCli(["restore", "-o", out, `file://${dir}/replica-a`])).code).toBe(0);
  expect(readDatabase(out).rows).toEqual(readDatabase(db).rows);
}, 60_000);
