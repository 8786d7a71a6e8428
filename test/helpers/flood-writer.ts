/**
 * A test application that commits as fast as it can for a while, in its own process (so a replicator's
 * hold on the write lock reaches it: POSIX locks never conflict within one process). Each commit inserts
 * one row with an incompressible blob, flat out or paced to MB_PER_SECOND of blobs. Waits up to 5 s on a
 * busy database, as its busy_timeout says.
 * Usage: bun flood-writer.ts DB_PATH SECONDS BLOB_BYTES [MB_PER_SECOND]. Prints one JSON line (FloodResult).
 */
import { Database } from "bun:sqlite";

export interface FloodResult {
  commits: number;
  /** Commits that failed with SQLITE_BUSY after the busy timeout. */
  busy: number;
  /** The longest single commit, in milliseconds. */
  maxCommitMs: number;
}

const [dbPath, secondsArg, blobArg, rateArg] = process.argv.slice(2);
if (!dbPath || !secondsArg || !blobArg) {
  console.error("usage: flood-writer.ts DB_PATH SECONDS BLOB_BYTES");
  process.exit(2);
}
const db = new Database(dbPath);
db.run("PRAGMA busy_timeout = 5000");
db.run("PRAGMA synchronous = NORMAL");
const insert = db.prepare("INSERT INTO items (name, qty, data) VALUES ('flood', ?, randomblob(?))");
const result: FloodResult = { commits: 0, busy: 0, maxCommitMs: 0 };
const started = performance.now();
const stopAt = started + Number(secondsArg) * 1000;
/** Milliseconds per commit when paced; time lost waiting is not made up (no bursts after a wait). */
const pace = rateArg ? Number(blobArg) / (Number(rateArg) * 1000) : 0;
let due = started;
for (let now = started; now < stopAt; ) {
  if (due - now >= 2) {
    await Bun.sleep(due - now);
    now = performance.now();
  }
  due = Math.max(due, now) + pace;
  try {
    insert.run(result.commits, Number(blobArg));
    result.commits++;
  } catch (err) {
    if (!String((err as { code?: unknown }).code).startsWith("SQLITE_BUSY")) throw err;
    result.busy++;
  }
  const after = performance.now();
  result.maxCommitMs = Math.max(result.maxCommitMs, after - now);
  now = after;
}
db.close();
console.log(JSON.stringify(result));
