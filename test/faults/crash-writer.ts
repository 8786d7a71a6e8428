/**
 * The application for the crash harness: commits an increasing sequence until killed (SIGKILL: a crash)
 * or asked to stop (SIGTERM: finishes its transaction and closes), one to three rows per transaction,
 * some rows larger than a page, and runs its own PASSIVE, RESTART and TRUNCATE checkpoints.
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
const next = db.prepare("SELECT coalesce(max(n), 0) + 1 AS n FROM seq");
const insert = db.prepare("INSERT INTO seq (n, pad) VALUES (?, ?)");
const modes = ["PASSIVE", "RESTART", "TRUNCATE"];
// A crashed writer can leave a commit frame in the WAL that SQLite's shared index never recorded: the
// database then counts it only if recovery runs. A graceful stop keeps the final comparison exact.
let stopping = false;
process.on("SIGTERM", () => {
  stopping = true;
});
for (let t = 0; !stopping; t++) {
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
