/**
 * The shadow WAL's capture interface against real SQLite: a transaction that SQLite spills into the WAL
 * before it commits (larger than one read chunk) must never reach the shadow until its commit frame does,
 * whether it then commits or rolls back. The same invariant over random histories is the `capture` fuzz
 * target (test/fuzz/targets/capture.ts).
 */
import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { copyCommittedFrames, initShadowWal } from "../../src/replicate/shadow-wal.ts";
import { scanWal } from "../../src/sqlite/wal.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

/**
 * A child process that begins a transaction, spills ROWS rows of 10 kB into the WAL (cache_size is tiny,
 * so the pages leave the cache long before the commit), says "spilled", then on "commit" or "rollback"
 * on stdin finishes the transaction that way, says "done" and waits to be killed.
 */
const SPILLER = `
import { Database } from "bun:sqlite";
const [file, rows] = process.argv.slice(2);
const db = new Database(file);
db.run("PRAGMA cache_size = 20");
db.run("PRAGMA wal_autocheckpoint = 0");
db.run("BEGIN IMMEDIATE");
const ins = db.prepare("INSERT INTO t (v) VALUES (randomblob(10000))");
for (let i = 0; i < Number(rows); i++) ins.run();
console.log("spilled");
for await (const line of console) {
  db.run(line.trim() === "commit" ? "COMMIT" : "ROLLBACK");
  console.log("done");
}
`;

const NO_FSYNC = { fsync: false };
const dir = makeTempDir("walship-shadow-");
afterAll(() => removeDir(dir));
const spillerScript = path.join(dir, "spiller.ts");
fs.writeFileSync(spillerScript, SPILLER);

/** Compares two byte strings, reporting the length and the first differing offset rather than a dump. */
function expectSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  let differs = -1;
  for (let i = 0; i < Math.min(actual.length, expected.length); i++) {
    if (actual[i] !== expected[i]) {
      differs = i;
      break;
    }
  }
  expect({ length: actual.length, differs }).toEqual({ length: expected.length, differs: -1 });
}

/** What SQLite has committed in the WAL file right now: its bytes up to the last commit frame. */
function committedWal(file: string): Uint8Array {
  const wal = new Uint8Array(fs.readFileSync(`${file}-wal`));
  return wal.subarray(0, scanWal(wal).scan.lastCommitEnd);
}

class Spiller {
  private readonly proc;
  private readonly lines: AsyncIterator<string>;

  constructor(file: string, rows: number) {
    this.proc = Bun.spawn([process.execPath, spillerScript, file, String(rows)], {
      stdin: "pipe",
      stdout: "pipe",
      stderr: "inherit",
    });
    this.lines = lineReader(this.proc.stdout);
  }

  async expect(word: string): Promise<void> {
    const { value } = await this.lines.next();
    if (value !== word) throw new Error(`spiller said ${JSON.stringify(value)}, expected ${word}`);
  }

  async finish(how: "commit" | "rollback"): Promise<void> {
    this.proc.stdin.write(`${how}\n`);
    this.proc.stdin.flush();
    await this.expect("done");
  }

  async kill(): Promise<void> {
    this.proc.kill("SIGKILL");
    await this.proc.exited;
  }
}

async function* lineReader(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let rest = "";
  for await (const chunk of stream) {
    rest += decoder.decode(chunk, { stream: true });
    for (let nl = rest.indexOf("\n"); nl >= 0; nl = rest.indexOf("\n")) {
      yield rest.slice(0, nl);
      rest = rest.slice(nl + 1);
    }
  }
}

/** A database in WAL mode with 1,000 small rows committed, and an application connection. */
function setUp(name: string): { file: string; app: Database; shadow: string } {
  const file = path.join(dir, `${name}.db`);
  const app = new Database(file, { create: true });
  app.run("PRAGMA journal_mode = wal");
  app.run("PRAGMA wal_autocheckpoint = 0");
  app.run("PRAGMA busy_timeout = 5000");
  app.run("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)");
  app.transaction(() => {
    for (let i = 0; i < 1000; i++) app.run("INSERT INTO t (v) VALUES (randomblob(20))");
  })();
  const shadow = path.join(dir, `${name}.shadow`);
  return { file, app, shadow };
}

function commitSmall(app: Database, n: number): void {
  for (let i = 0; i < n; i++) app.run("INSERT INTO t (v) VALUES (randomblob(50))");
}

describe("a transaction spilled into the WAL before it commits", () => {
  // 2,000 rows of 10 kB: about 20 MB of frames, five 4 MiB read chunks and more than one 16 MiB segment.
  const ROWS = 2000;

  test("is not copied while it is open, then is dropped when it rolls back", async () => {
    const { file, app, shadow } = setUp("rollback");
    commitSmall(app, 50);
    initShadowWal(`${file}-wal`, shadow, NO_FSYNC);
    const spiller = new Spiller(file, ROWS);
    try {
      await spiller.expect("spilled");
      const wal = fs.statSync(`${file}-wal`).size;
      expect(wal).toBeGreaterThan(16 * 1024 * 1024);
      expect(copyCommittedFrames(`${file}-wal`, shadow, NO_FSYNC)).toBe(committedWal(file).length);
      expectSameBytes(fs.readFileSync(shadow), committedWal(file));

      await spiller.finish("rollback");
      // Later commits overwrite the rolled-back frames from the last commit on.
      commitSmall(app, 1700);
      const end = copyCommittedFrames(`${file}-wal`, shadow, NO_FSYNC);
      expectSameBytes(fs.readFileSync(shadow), committedWal(file));
      expect(end).toBe(committedWal(file).length);
    } finally {
      await spiller.kill();
      app.close();
    }
  }, 60_000);

  test("is copied whole once its commit frame is in the WAL", async () => {
    const { file, app, shadow } = setUp("commit");
    commitSmall(app, 50);
    initShadowWal(`${file}-wal`, shadow, NO_FSYNC);
    const spiller = new Spiller(file, ROWS);
    try {
      await spiller.expect("spilled");
      const before = copyCommittedFrames(`${file}-wal`, shadow, NO_FSYNC);
      expect(before).toBe(committedWal(file).length);
      await spiller.finish("commit");
      const after = copyCommittedFrames(`${file}-wal`, shadow, NO_FSYNC);
      expect(after - before).toBeGreaterThan(16 * 1024 * 1024);
      expectSameBytes(fs.readFileSync(shadow), committedWal(file));
      commitSmall(app, 10);
      copyCommittedFrames(`${file}-wal`, shadow, NO_FSYNC);
      expectSameBytes(fs.readFileSync(shadow), committedWal(file));
    } finally {
      await spiller.kill();
      app.close();
    }
  }, 60_000);
});
