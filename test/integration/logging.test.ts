/** What `replicate` logs at the default level and with -v or logging.level: debug. */
import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { startCli, waitFor } from "../helpers/cli.ts";
import { writeConfig } from "../helpers/config.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

/** Writes `rounds` transactions, one per 150 ms (more than the 100 ms sync interval), then stops walship. */
async function replicateWhileWriting(args: string[], db: string, rounds: number): Promise<string[]> {
  const walship = startCli(args);
  await waitFor(() => walship.stderr().includes("initialized db"), 20_000, "the database to open");
  const app = new Database(db);
  for (let i = 0; i < rounds; i++) {
    app.run("INSERT INTO t (v) VALUES (?)", [`row ${i}`]);
    await Bun.sleep(150);
  }
  app.close();
  const result = await walship.stop();
  expect(result.code).toBe(0);
  return result.stderr.split("\n").filter((l) => l !== "");
}

describe("replicate's log", () => {
  const dir = makeTempDir();
  afterAll(() => removeDir(dir));

  function rollbackJournalDb(name: string): string {
    const db = path.join(dir, name);
    const app = new Database(db, { create: true });
    app.run("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    app.close();
    return db;
  }

  test("default level: the switch to WAL, and one info line per snapshot and per WAL segment, no debug", async () => {
    const db = rollbackJournalDb("info.db");
    const config = writeConfig(dir, db, {}, [
      { url: path.join(dir, "info-replica"), keys: { "sync-interval": "100ms" } },
    ]);
    const lines = await replicateWhileWriting(["replicate", "-config", config], db, 5);
    expect(lines.some((l) => /msg="switched the database to WAL mode".*was=delete/.test(l))).toBe(true);
    const segments = lines.filter((l) => l.includes('msg="wal segment written"'));
    expect(segments.length).toBeGreaterThanOrEqual(3);
    for (const l of segments) {
      expect(l).toContain("level=INFO");
      expect(l).toContain(`db=${db}`);
      expect(l).toContain("replica=file");
    }
    expect(lines.filter((l) => l.includes('msg="snapshot written"')).length).toBe(1);
    expect(lines.filter((l) => l.includes("level=DEBUG"))).toEqual([]);
    fs.rmSync(config);
  });

  test("-v and logging.level: debug both log at debug level", async () => {
    const db = rollbackJournalDb("debug.db");
    const replica = { url: path.join(dir, "debug-replica"), keys: { "sync-interval": "100ms" } };
    const config = writeConfig(dir, db, {}, [replica]);
    for (const flag of ["-v", "--verbose"]) {
      const lines = await replicateWhileWriting(["replicate", flag, "-config", config], db, 2);
      expect(lines.some((l) => l.includes("level=DEBUG"))).toBe(true);
    }
    fs.appendFileSync(config, "logging:\n  level: debug\n");
    const lines = await replicateWhileWriting(["replicate", "-config", config], db, 2);
    expect(lines.some((l) => l.includes("level=DEBUG"))).toBe(true);
  });
});
