/**
 * A test application with many databases, in its own process: once a second, for ROUNDS rounds, one
 * small transaction to each database, spread evenly over the second in a scrambled order (database i
 * in slot i*37 mod N, see `slotOf`), so commits land at every phase of walship's per-database timers.
 * Prints one JSON array of commits when done.
 * Usage: bun many-db-writer.ts ROUNDS DB_PATH...
 *
 * Each commit's `walEnd` is the size of the database's `-wal` file right after it: where the commit
 * ends in the WAL, and so in the shadow WAL and the replica's WAL segments (same offsets). That holds
 * while nothing restarts the WAL: this writer never checkpoints, and walship's own checkpoints need far
 * more pages (or a minute of quiet) than a run writes.
 */
import { Database } from "bun:sqlite";
import * as fs from "node:fs";

export interface Commit {
  /** Position of the database in the argument list. */
  db: number;
  /**
   * Date.now() just after the commit returned. walship may have shipped it already (a few ms of negative
   * lag): the frames are in the -wal, where it can see them, before SQLite's fsync and return.
   */
  at: number;
  /** Size of the -wal file just after the commit. */
  walEnd: number;
  /** The inserted row's id. */
  id: number;
}

const ROUND_MS = 1_000;

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * The slot (0..n-1) in each round at which database i is written: a stride permutation. walship starts
 * its per-database timers and first uploads in configuration order; written in that same order, the
 * databases' commits would all fall at nearly the same phase of their own timers, and the lags would
 * follow one ramp instead of covering every phase.
 */
export function slotOf(i: number, n: number): number {
  let stride = 37;
  while (gcd(stride, n) !== 1) stride++;
  return (i * stride) % n;
}

if (import.meta.main) {
  const [roundsArg, ...paths] = process.argv.slice(2);
  const rounds = Number(roundsArg);
  if (!Number.isInteger(rounds) || rounds <= 0 || paths.length === 0) {
    console.error("usage: many-db-writer.ts ROUNDS DB_PATH...");
    process.exit(2);
  }
  const dbs = paths.map((p) => {
    const db = new Database(p);
    db.run("PRAGMA busy_timeout = 5000");
    return { db, insert: db.prepare("INSERT INTO items (name, qty) VALUES (?, ?)"), wal: `${p}-wal` };
  });
  const commits: Commit[] = [];
  const order = dbs.map((_, i) => i).sort((a, b) => slotOf(a, dbs.length) - slotOf(b, dbs.length));
  const start = Date.now();
  for (let round = 0; round < rounds; round++) {
    for (const [slot, i] of order.entries()) {
      const due = start + round * ROUND_MS + Math.floor((slot * ROUND_MS) / dbs.length);
      const wait = due - Date.now();
      if (wait > 0) await Bun.sleep(wait);
      const { insert, wal } = dbs[i]!;
      const result = insert.run(`r${round}-db${i}`, round);
      const at = Date.now();
      commits.push({ db: i, at, walEnd: fs.statSync(wal).size, id: Number(result.lastInsertRowid) });
    }
  }
  for (const { db } of dbs) db.close();
  console.log(JSON.stringify(commits));
}
