/**
 * The application for the crash harness: commits an increasing sequence until killed (SIGKILL: a crash)
 * or asked to stop (SIGTERM: finishes its transaction and closes), one to three rows per transaction,
 * some rows larger than a page, and runs its own PASSIVE, RESTART and TRUNCATE checkpoints.
 * Every few seconds it also runs one large transaction that SQLite spills into the WAL before it ends
 * (2 to 15 MB in a `spill` table, plus the next row of the sequence), holds it open for a moment while
 * walship captures, then commits or rolls it back.
 * Usage: bun crash-writer.ts DB_PATH SEED
 */
import { Database } from "bun:sqlite";

const [dbPath, seedArg] = process.argv.slice(2);
if (!dbPath) process.exit(2);
let state = Number(seedArg ?? 1) >>> 0 || 1;
function rand(n: number): number {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) % n;
}

const db = new Database(dbPath, { create: true });
db.run("PRAGMA busy_timeout = 5000");
db.run("PRAGMA journal_mode = wal");
db.run("CREATE TABLE IF NOT EXISTS seq (n INTEGER PRIMARY KEY, pad BLOB)");
db.run("CREATE TABLE IF NOT EXISTS spill (id INTEGER PRIMARY KEY, pad BLOB)");
const next = db.prepare("SELECT coalesce(max(n), 0) + 1 AS n FROM seq");
const insert = db.prepare("INSERT INTO seq (n, pad) VALUES (?, ?)");
const modes = ["PASSIVE", "RESTART", "TRUNCATE"];
// A crashed writer can leave a commit frame in the WAL that SQLite's shared index never recorded: the
// database then counts it only if recovery runs. A graceful stop keeps the final comparison exact.
let stopping = false;
process.on("SIGTERM", () => {
  stopping = true;
});
const spillRow = db.prepare("INSERT INTO spill (pad) VALUES (randomblob(10000))");

/**
 * A transaction larger than SQLite's page cache, so its pages reach the WAL long before its commit frame
 * does; the previous one's rows are deleted first, so the database stays small across many cycles.
 */
async function largeTransaction(): Promise<void> {
  db.run("PRAGMA cache_size = 50");
  db.run("BEGIN IMMEDIATE");
  db.run("DELETE FROM spill");
  for (let rows = 200 + rand(1300); rows > 0; rows--) spillRow.run();
  insert.run((next.get() as { n: number }).n, null);
  await Bun.sleep(100 + rand(700));
  db.run(rand(2) === 0 ? "COMMIT" : "ROLLBACK");
  db.run("PRAGMA cache_size = -2000");
}

let nextLarge = Date.now() + 500 + rand(2000);
for (let t = 0; !stopping; t++) {
  if (Date.now() >= nextLarge) {
    await largeTransaction();
    nextLarge = Date.now() + 2000 + rand(2000);
  }
  db.transaction(() => {
    let n = (next.get() as { n: number }).n;
    for (let rows = 1 + rand(3); rows > 0; rows--) {
      insert.run(n++, rand(8) === 0 ? new Uint8Array(4000 + rand(9000)).fill(n & 0xff) : null);
    }
  }).immediate();
  if (t % 150 === 149) {
    // A replicator's read lock makes RESTART/TRUNCATE wait for the busy timeout: keep the wait short.
    db.run("PRAGMA busy_timeout = 50");
    try {
      db.run(`PRAGMA wal_checkpoint(${modes[rand(3)]})`);
    } catch {
      // SQLITE_BUSY from a checkpoint is an answer, not a failure.
    }
    db.run("PRAGMA busy_timeout = 5000");
  }
  if (t % 10 === 0) await Bun.sleep(1);
}
db.close();
