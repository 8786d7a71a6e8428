import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { ShmLocks } from "../../src/replicate/shm-locks.ts";
import { createDatabase } from "../helpers/app-db.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

/** What another process sees: an insert that does not wait, then a PASSIVE checkpoint. */
const OTHER = `
import { Database } from "bun:sqlite";
const db = new Database(process.argv[2]);
db.run("PRAGMA busy_timeout = 0");
let insert = "ok";
try { db.run("INSERT INTO items (name, qty) VALUES ('other', 1)"); } catch (err) { insert = String(err.code); }
const { busy } = db.query("PRAGMA wal_checkpoint(PASSIVE)").get();
console.log(JSON.stringify({ insert, busy }));
`;

/** walship takes the WAL-index locks through glibc's fcntl, on Linux only (shm-locks.ts). */
const NOT_LINUX = process.platform !== "linux";
if (NOT_LINUX) console.warn(`SKIPPED: the WAL-index lock tests need Linux (this is ${process.platform})`);

describe.skipIf(NOT_LINUX)("SQLite's WAL-index locks taken from outside SQLite", () => {
  const dir = makeTempDir();
  afterAll(() => removeDir(dir));

  test("keep other processes from writing and checkpointing, not our own connections", () => {
    const file = path.join(dir, "locks.db");
    createDatabase(file);
    const ours = new Database(file);
    ours.run("INSERT INTO items (name, qty) VALUES ('ours', 1)");
    const script = path.join(dir, "other.ts");
    fs.writeFileSync(script, OTHER);
    const other = () =>
      JSON.parse(Bun.spawnSync([process.execPath, script, file], { stderr: "inherit" }).stdout.toString());

    const locks = ShmLocks.open(`${file}-shm`)!;
    expect(locks).not.toBeNull();
    try {
      expect(locks.take("write")).toBe(true);
      expect(other()).toEqual({ insert: "SQLITE_BUSY", busy: 0 });
      // Our own connection shares the lock's owner.
      ours.run("INSERT INTO items (name, qty) VALUES ('ours', 2)");
      // Its commit let go of the writer lock byte, and ours with it.
      expect(other()).toEqual({ insert: "ok", busy: 0 });

      expect(locks.take("checkpoint")).toBe(true);
      expect(other()).toEqual({ insert: "ok", busy: 1 });
      locks.release("checkpoint");
      expect(other()).toEqual({ insert: "ok", busy: 0 });
    } finally {
      ours.close();
      locks.close();
    }
  });
});
