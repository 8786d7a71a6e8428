import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { Replica } from "../../src/replicate/replica.ts";
import { planRestore } from "../../src/restore/plan.ts";
import { executeRestore } from "../../src/restore/restore.ts";
import { scanWal } from "../../src/sqlite/wal.ts";
import { FileStore } from "../../src/storage/file.ts";
import { ReplicaClient } from "../../src/storage/replica-client.ts";
import { createDatabase } from "../helpers/app-db.ts";
import { memoryLogger } from "../helpers/quiet-log.ts";
import { openReplicatedDb } from "../helpers/replicated-db.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

const open = (file: string) => openReplicatedDb(file);

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
    expect(lines.filter((l) => l.includes("starting a new generation")).length).toBe(1);
    const real = new Uint8Array(fs.readFileSync(`${file}-wal`));
    const shadow = new Uint8Array(fs.readFileSync(db.shadowPath(db.pos()!.index)));
    expect(shadow).toEqual(real.subarray(0, shadow.length));
    app.close();
    db.close();
  });

  // The WAL-index locks that hold other processes' checkpoints are taken through glibc's fcntl (shm-locks.ts).
  const noShmLocks = process.platform !== "linux";
  if (noShmLocks)
    console.warn(`SKIPPED: checkpoints giving way needs Linux's fcntl (this is ${process.platform})`);
  test.skipIf(noShmLocks)(
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

describe("a database file deleted or replaced while walship runs", () => {
  const dir = makeTempDir();
  afterAll(() => removeDir(dir));

  /** Runs SQL in a separate process, as the application: POSIX locks and shared memory are per process. */
  function appRun(file: string, sql: string): unknown[][] {
    const out = Bun.spawnSync(
      [
        process.execPath,
        "-e",
        `import { Database } from "bun:sqlite";
const db = new Database(process.argv[1]);
db.run("PRAGMA busy_timeout = 5000");
db.run("PRAGMA wal_autocheckpoint = 0");
let rows = [];
for (const s of process.argv[2].split(";").filter((x) => x.trim())) rows = db.query(s).values();
console.log(JSON.stringify(rows));
db.close();`,
        file,
        sql,
      ],
      { stderr: "pipe" },
    );
    if (out.exitCode !== 0) throw new Error(`app failed: ${out.stderr.toString()}`);
    return JSON.parse(out.stdout.toString()) as unknown[][];
  }

  async function restoreRows(client: ReplicaClient, out: string): Promise<string[]> {
    const plan = await planRestore([{ name: "file", client }], {});
    await executeRestore(plan, { output: out, log: memoryLogger().log });
    const restored = new Database(out, { readonly: true });
    const names = restored
      .query("SELECT name FROM items ORDER BY id")
      .values()
      .map((r) => String(r[0]));
    restored.close();
    return names;
  }

  test("a file renamed over the database (VACUUM INTO, then mv) gets a new generation, and the old WAL is not replayed into it", async () => {
    const file = path.join(dir, "renamed.db");
    createDatabase(file);
    const { db, lines } = open(file);
    const client = new ReplicaClient(new FileStore(path.join(dir, "renamed-replica")));
    const replica = new Replica(db, { name: "file", client, syncIntervalMs: 100, log: memoryLogger().log });
    db.sync();
    // Committed while walship holds the database, so they stay in its WAL: no last connection closes.
    appRun(
      file,
      "INSERT INTO items (name, qty) VALUES ('old', 1); INSERT INTO items (name, qty) VALUES ('old', 2)",
    );
    db.sync();
    await replica.sync();
    const before = db.pos()!.generation;

    // The application compacts into a new file, changes it there, and renames it over the database.
    const fresh = path.join(dir, "fresh.db");
    appRun(file, `VACUUM INTO '${fresh}'`);
    appRun(fresh, "UPDATE items SET name = 'new'");
    fs.renameSync(fresh, file);

    db.sync();
    expect(lines.join("\n")).toContain('reason="database file replaced by another file"');
    expect(db.pos()!.generation).not.toBe(before);
    // What the application sees when it opens the database now is the new file's content, not the old WAL's.
    expect(appRun(file, "SELECT name FROM items ORDER BY id")).toEqual([["new"], ["new"]]);
    await replica.sync();
    expect(await restoreRows(client, path.join(dir, "renamed-restored.db"))).toEqual(["new", "new"]);
    db.close();
  });

  test("a database deleted and created anew gets a new generation once it exists, with no error meanwhile", async () => {
    const file = path.join(dir, "deleted.db");
    createDatabase(file);
    appRun(file, "INSERT INTO items (name, qty) VALUES ('first life', 1)");
    const { db, lines } = open(file);
    const client = new ReplicaClient(new FileStore(path.join(dir, "deleted-replica")));
    const replica = new Replica(db, { name: "file", client, syncIntervalMs: 100, log: memoryLogger().log });
    db.sync();
    await replica.sync();
    const before = db.pos()!.generation;

    for (const suffix of ["", "-wal", "-shm"]) fs.rmSync(`${file}${suffix}`);
    expect(db.sync()).toBe(false);
    expect(db.sync()).toBe(false);
    expect(lines.join("\n")).toContain('reason="database file deleted"');

    createDatabase(file);
    appRun(file, "INSERT INTO items (name, qty) VALUES ('second life', 1)");
    expect(db.sync()).toBe(true);
    expect(db.pos()!.generation).not.toBe(before);
    await replica.sync();
    expect(await restoreRows(client, path.join(dir, "deleted-restored.db"))).toEqual(["second life"]);
    expect(lines.filter((l) => l.includes("level=ERROR"))).toEqual([]);
    db.close();
  });
});
