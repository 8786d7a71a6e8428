/**
 * Disk full: the meta directory sits on a small tmpfs that fills up. walship says so clearly, corrupts
 * nothing (the replica still restores to a committed prefix), and carries on once space returns.
 * Needs permission to mount a tmpfs; skipped with a message where that is not possible.
 */
import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { createDatabase } from "../helpers/app-db.ts";
import { runCli, startCli, waitFor } from "../helpers/cli.ts";
import { readDatabase } from "../helpers/db-content.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

const dir = makeTempDir("walship-diskfull-");
const meta = path.join(dir, "meta");
fs.mkdirSync(meta);

function sh(args: string[]): boolean {
  return Bun.spawnSync(args, { stdout: "ignore", stderr: "ignore" }).exitCode === 0;
}
const mounted =
  process.platform === "linux" && sh(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", meta]);
if (!mounted) console.warn("skipping the disk-full test: cannot mount a tmpfs here (needs root on Linux)");

afterAll(() => {
  if (mounted) sh(["umount", "-l", meta]);
  removeDir(dir);
});

describe.skipIf(!mounted)("a full disk under the meta directory", () => {
  test("is reported clearly, corrupts nothing, and replication resumes when space returns", async () => {
    const db = path.join(dir, "app.db");
    const replica = path.join(dir, "replica");
    createDatabase(db);
    const config = path.join(dir, "walship.yml");
    fs.writeFileSync(
      config,
      [
        "dbs:",
        `  - path: ${db}`,
        `    meta-path: ${meta}`,
        "    monitor-interval: 100ms",
        "    replicas:",
        `      - url: file://${replica}`,
        "        sync-interval: 100ms",
        "",
      ].join("\n"),
    );
    const walship = startCli(["replicate", "-config", config]);
    await waitFor(() => walship.stderr().includes("snapshot written"), 20_000, "a snapshot");
    const app = new Database(db);
    app.run("PRAGMA busy_timeout = 5000");
    const insert = app.prepare("INSERT INTO items (name, qty, data) VALUES ('fill', ?, zeroblob(3000))");
    // About 3 KB per row: a few hundred rows outgrow the 256 KB tmpfs (bounded loop).
    let row = 0;
    for (; row < 2000 && !walship.stderr().includes("no space left"); row++) {
      insert.run(row);
      if (row % 20 === 0) await Bun.sleep(30);
    }
    await waitFor(() => walship.stderr().includes("no space left on device"), 10_000, "the disk-full error");
    const errorLine = walship
      .stderr()
      .split("\n")
      .find((l) => l.includes("no space left on device"))!;
    expect(errorLine).toContain(meta);
    expect(errorLine).toMatch(/hint="free space on the filesystem/);

    // Nothing corrupt meanwhile: the replica restores to a committed prefix.
    const during = path.join(dir, "during.db");
    expect((await runCli(["restore", "--verify", "full", "-o", during, `file://${replica}`])).code).toBe(0);
    const partial = readDatabase(during);
    expect(partial.integrity).toBe("ok");
    expect(partial.rows.length).toBeLessThan(row);

    // Space returns: replication carries on, and the replica ends equal to the database.
    expect(sh(["mount", "-o", "remount,size=64m", meta])).toBe(true);
    for (let i = 0; i < 50; i++) insert.run(10_000 + i);
    app.close();
    await Bun.sleep(1500);
    const stopped = await walship.stop();
    expect(stopped.code).toBe(0);
    const after = path.join(dir, "after.db");
    expect((await runCli(["restore", "--verify", "full", "-o", after, `file://${replica}`])).code).toBe(0);
    expect(readDatabase(after).rows).toEqual(readDatabase(db).rows);
  }, 60_000);
});
