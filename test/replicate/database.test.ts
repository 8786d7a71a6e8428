import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { DEFAULT_TRUNCATE_PAGE_COUNT, ReplicatedDatabase } from "../../src/replicate/database.ts";
import { scanWal } from "../../src/sqlite/wal.ts";
import { createDatabase } from "../helpers/app-db.ts";
import { memoryLogger } from "../helpers/quiet-log.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

function open(file: string) {
  const { log, lines } = memoryLogger();
  const db = new ReplicatedDatabase({
    path: file,
    checkpointIntervalMs: 0,
    minCheckpointPageCount: 100_000,
    maxCheckpointPageCount: 0,
    truncatePageCount: DEFAULT_TRUNCATE_PAGE_COUNT,
    log,
  });
  return { db, lines };
}

/** A process that holds a write transaction whose pages SQLite has spilled into the WAL uncommitted. */
const HOLDER = `
import { Database } from "bun:sqlite";
const db = new Database(process.argv[2]);
db.run("PRAGMA cache_size = 2");
db.run("BEGIN IMMEDIATE");
const ins = db.prepare("INSERT INTO items (name, qty, data) VALUES ('spill', 0, ?)");
for (let i = 0; i < 300; i++) ins.run(new Uint8Array(3000));
console.log("ready");
await Bun.sleep(30000);
`;

describe("shadow WAL capture", () => {
  const dir = makeTempDir();
  afterAll(() => removeDir(dir));

  test("only committed frames reach the shadow WAL, across several syncs", async () => {
    const file = path.join(dir, "spill.db");
    createDatabase(file);
    const app = new Database(file);
    app.run("INSERT INTO items (name, qty) VALUES ('a', 1)");
    const { db, lines } = open(file);
    db.sync();
    expect(lines.join("\n")).toContain('reason="no generation exists"');
    app.run("INSERT INTO items (name, qty) VALUES ('b', 2)");
    db.sync();

    const script = path.join(dir, "holder.ts");
    fs.writeFileSync(script, HOLDER);
    const holder = Bun.spawn([process.execPath, script, file], { stdout: "pipe", stderr: "inherit" });
    const reader = holder.stdout.getReader();
    await reader.read();
    try {
      const real = scanWal(new Uint8Array(fs.readFileSync(`${file}-wal`))).scan;
      // The holder's pages are in the WAL, valid but after the last commit.
      expect(real.validEnd).toBeGreaterThan(real.lastCommitEnd);
      db.sync();
      const pos = db.pos()!;
      expect(pos.offset).toBe(real.lastCommitEnd);
      const shadow = new Uint8Array(fs.readFileSync(db.shadowPath(pos.index)));
      expect(shadow.length).toBe(real.lastCommitEnd);
      expect(scanWal(shadow).scan.lastCommitEnd).toBe(shadow.length);
    } finally {
      holder.kill("SIGKILL");
      await holder.exited;
    }
    // The rolled-back transaction's frames are overwritten by the next commit, which is captured.
    app.run("INSERT INTO items (name, qty) VALUES ('c', 3)");
    db.sync();
    const shadow = new Uint8Array(fs.readFileSync(db.shadowPath(db.pos()!.index)));
    const scan = scanWal(shadow).scan;
    expect(scan.lastCommitEnd).toBe(shadow.length);
    expect(shadow.length).toBe(scanWal(new Uint8Array(fs.readFileSync(`${file}-wal`))).scan.lastCommitEnd);
    app.close();
    db.close();
  });

  test("a checkpoint that restarts the WAL continues in the next shadow index of the same generation", () => {
    const file = path.join(dir, "restart.db");
    createDatabase(file);
    const app = new Database(file);
    const { db } = open(file);
    db.sync();
    const generation = db.pos()!.generation;
    for (let i = 0; i < 50; i++) app.run("INSERT INTO items (name, qty) VALUES ('x', ?)", [i]);
    db.sync();
    db.checkpoint("RESTART");
    app.run("INSERT INTO items (name, qty) VALUES ('after', 0)");
    db.sync();
    const pos = db.pos()!;
    expect(pos.generation).toBe(generation);
    expect(pos.index).toBe(1);
    const shadow0 = new Uint8Array(fs.readFileSync(db.shadowPath(0)));
    const shadow1 = new Uint8Array(fs.readFileSync(db.shadowPath(1)));
    expect(scanWal(shadow0).scan.lastCommitEnd).toBe(shadow0.length);
    expect(scanWal(shadow1).header.salt1).not.toBe(scanWal(shadow0).header.salt1);
    expect(shadow1.length).toBe(pos.offset);
    app.close();
    db.close();
  });

  test("the application's own checkpoints restart the WAL while walship holds its read transaction", () => {
    const file = path.join(dir, "app-checkpoint.db");
    createDatabase(file);
    const app = new Database(file);
    app.run("PRAGMA busy_timeout = 0");
    const { db, lines } = open(file);
    db.sync();
    const generation = db.pos()!.generation;
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 20; i++) app.run("INSERT INTO items (name, qty) VALUES ('x', ?)", [i]);
      db.sync();
      // Backfills everything up to walship's read mark, which is the WAL's end after a capture.
      const result = app.query("PRAGMA wal_checkpoint(PASSIVE)").get() as {
        log: number;
        checkpointed: number;
      };
      expect(result.checkpointed).toBe(result.log);
      // walship moves its read transaction past the checkpointed WAL: the next commit restarts it.
      db.sync();
      app.run("INSERT INTO items (name, qty) VALUES ('restart', ?)", [round]);
      db.sync();
      expect(db.pos()).toMatchObject({ generation, index: round + 1 });
    }
    expect(lines.filter((l) => l.includes("new generation")).length).toBe(1);
    const real = new Uint8Array(fs.readFileSync(`${file}-wal`));
    const shadow = new Uint8Array(fs.readFileSync(db.shadowPath(db.pos()!.index)));
    expect(shadow).toEqual(real.subarray(0, shadow.length));
    app.close();
    db.close();
  });

  test.skipIf(process.platform !== "linux")(
    "other processes' checkpoints give way to walship's own, which still restart the WAL",
    () => {
      const file = path.join(dir, "checkpointer-lock.db");
      createDatabase(file);
      // The application in its own process: POSIX locks never conflict within one process.
      const script = path.join(dir, "app-commit-checkpoint.ts");
      fs.writeFileSync(
        script,
        `import { Database } from "bun:sqlite";
const db = new Database(process.argv[2]);
for (let i = 0; i < Number(process.argv[3]); i++) db.run("INSERT INTO items (name, qty) VALUES ('x', ?)", [i]);
console.log(JSON.stringify(db.query("PRAGMA wal_checkpoint(PASSIVE)").get()));
db.close();`,
      );
      const app = (rows: number) => {
        const out = Bun.spawnSync([process.execPath, script, file, String(rows)], { stderr: "inherit" });
        return JSON.parse(out.stdout.toString()) as { busy: number; log: number; checkpointed: number };
      };
      // Keeps the WAL alive between the application's runs (the last connection to close deletes it).
      const keeper = new Database(file);
      keeper.run("PRAGMA wal_autocheckpoint = 0");
      const { db } = open(file);
      db.sync();
      const { generation, index } = db.pos()!;
      expect(app(20).busy).toBe(1);
      db.sync();
      db.checkpoint("PASSIVE");
      expect(app(1).busy).toBe(1);
      db.sync();
      expect(db.pos()).toMatchObject({ generation, index: index + 1 });
      db.close();
      expect(app(1)).toMatchObject({ busy: 0 });
      keeper.close();
    },
  );

  test("a session left open by a machine that went down starts a new generation", () => {
    const file = path.join(dir, "reboot.db");
    createDatabase(file);
    const app = new Database(file);
    app.run("INSERT INTO items (name, qty) VALUES ('a', 1)");
    const first = open(file);
    first.db.sync();
    const generation = first.db.pos()!.generation;
    const marker = path.join(first.db.metaPath, "walship.run");
    expect(fs.existsSync(marker)).toBe(true);
    first.db.close();
    expect(fs.existsSync(marker)).toBe(false);

    // Closed cleanly: the next run continues the generation.
    const second = open(file);
    second.db.sync();
    expect(second.db.pos()!.generation).toBe(generation);
    // A marker of another boot: shadow writes that were never fsynced may be gone.
    second.db.close();
    fs.writeFileSync(marker, "another-boot\n");
    const third = open(file);
    third.db.sync();
    expect(third.db.pos()!.generation).not.toBe(generation);
    expect(third.lines.join("\n")).toContain('reason="machine restarted while replicating"');
    third.db.close();
    app.close();
  });
});
