/**
 * A test application that writes to a SQLite database in its own process: mixed inserts, updates and
 * deletes (some rows carry blobs larger than a page), with its own PASSIVE and TRUNCATE checkpoints.
 * Usage: bun writer.ts DB_PATH TRANSACTIONS [SEED] [PAUSE_EVERY]. Prints one JSON line when done.
 */
import { Database } from "bun:sqlite";

const [dbPath, txnArg, seedArg, pauseArg] = process.argv.slice(2);
if (!dbPath || !txnArg) {
  console.error("usage: writer.ts DB_PATH TRANSACTIONS [SEED] [PAUSE_EVERY]");
  process.exit(2);
}
const transactions = Number(txnArg);
const pauseEvery = Number(pauseArg ?? 25);
let state = Number(seedArg ?? 1) >>> 0 || 1;
/** xorshift32: deterministic, so a failing run can be repeated. */
function rand(n: number): number {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) % n;
}

const db = new Database(dbPath, { create: true });
db.run("PRAGMA journal_mode = wal");
db.run("PRAGMA busy_timeout = 5000");
db.run(
  "CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INTEGER, data BLOB)",
);
const insert = db.prepare("INSERT INTO items (name, qty, data) VALUES (?, ?, ?)");
const update = db.prepare("UPDATE items SET qty = qty + ?, name = ? WHERE id = ?");
const del = db.prepare("DELETE FROM items WHERE id = ?");
const maxId = db.prepare("SELECT coalesce(max(id), 0) AS m FROM items");

let checkpoints = 0;
for (let t = 0; t < transactions; t++) {
  // IMMEDIATE, as a careful application does: a deferred transaction that reads first fails with
  // SQLITE_BUSY when another connection (the replicator's checkpoint) wrote in between.
  db.transaction(() => {
    const ops = 1 + rand(4);
    for (let i = 0; i < ops; i++) {
      const kind = rand(10);
      const top = (maxId.get() as { m: number }).m;
      if (kind < 6 || top === 0) {
        const blob = rand(10) === 0 ? new Uint8Array(5000 + rand(15000)).fill(rand(256)) : null;
        insert.run(`item-${t}-${i}`, rand(1000), blob);
      } else if (kind < 9) {
        update.run(rand(50), `upd-${t}`, 1 + rand(top));
      } else {
        del.run(1 + rand(top));
      }
    }
  }).immediate();
  if (t % 400 === 399) {
    db.run("PRAGMA wal_checkpoint(PASSIVE)");
    checkpoints++;
  }
  if (t % 1500 === 1499) {
    // A replicator's read lock makes TRUNCATE wait for the busy timeout; keep that wait short.
    db.run("PRAGMA busy_timeout = 100");
    db.run("PRAGMA wal_checkpoint(TRUNCATE)");
    db.run("PRAGMA busy_timeout = 5000");
    checkpoints++;
  }
  if (pauseEvery > 0 && t % pauseEvery === 0) await Bun.sleep(1);
}
db.close();
console.log(JSON.stringify({ transactions, checkpoints }));
