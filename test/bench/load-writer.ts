/**
 * The application of the load benchmark (load.ts), in its own process: small autocommit INSERTs into
 * `items` (the schema of test/helpers/app-db.ts), one row of about 100 bytes each (--row-bytes).
 *
 *   bun test/bench/load-writer.ts lag   DB SECONDS OUT [--interval-ms 50] [--seed N]
 *   bun test/bench/load-writer.ts storm DB SECONDS OUT [--sample-ms 50] [--synchronous full|normal]
 *                                                   [--wal-guard-mb N] [--rate N] [--row-bytes 100]
 *
 * - lag: one commit about every `interval-ms` (uniformly jittered between half and one and a half times
 *   it), every commit recorded.
 * - storm: commits flat out; one commit about every `sample-ms` is recorded (recording costs a 96-byte
 *   read, so only the sampled commits pay it). With --wal-guard-mb, it stops early once the `-wal` file
 *   passes that size (checked at every sample), so a replicator that lets the WAL grow cannot fill the disk.
 *   With --rate, commits are paced to about that many a second instead (a sustained load below the ceiling).
 *
 * Writes one JSON document (WriterResult) to OUT when done.
 *
 * Where a commit ends in the WAL: SQLite's wal-index header in the `-shm` file (wal.c, WalIndexHdr: two
 * copies of 48 bytes) holds `mxFrame`, the last valid frame, and the WAL's salts. Read right after the
 * commit returns, `32 + mxFrame * (24 + page size)` is where the commit ends in this WAL session, and the
 * salts name the session: a replicator copies frames verbatim into its shadow WAL, so the replica's WAL
 * segments of the session with those salts hold the commit once one of them reaches that offset. This
 * stays right across WAL restarts (checkpoints), where the size of the `-wal` file does not. The one
 * inexactness: a replicator write (its `_litestream_seq` row after a checkpoint) landing between our
 * commit and our read moves the recorded end one transaction later, so that commit's lag is overstated,
 * never understated.
 */
import { Database } from "bun:sqlite";
import * as fs from "node:fs";

export interface CommitRecord {
  /** Date.now() just after the commit returned. */
  at: number;
  /** WAL salts (header bytes 16..24) of the session that holds the commit, as 16 hex digits. */
  salt: string;
  /** Byte offset just past the commit's last frame in that WAL session. */
  end: number;
  /** The inserted row's id. */
  id: number;
}

export interface WriterResult {
  mode: "lag" | "storm";
  pageSize: number;
  synchronous: number;
  /** Commits made (autocommit INSERTs that succeeded). */
  transactions: number;
  /** INSERTs that failed with SQLITE_BUSY even after the busy timeout (not retried, not counted). */
  busyErrors: number;
  /** Seconds from the first to the end of the last commit. */
  elapsedS: number;
  tps: number;
  /** lag: every commit; storm: the sampled ones. */
  commits: CommitRecord[];
  /** Date.now() when the last commit returned: the end of the window. */
  endedAt: number;
  /** The run was stopped early because the WAL passed --wal-guard-mb. */
  walGuardHit: boolean;
}

const WAL_INDEX_HEADER_BYTES = 48;
const WAL_INDEX_VERSION = 3007000;

/** Reads the wal-index header from the `-shm` file: the end of the last commit and the session's salts. */
class WalIndexReader {
  private readonly buf = new Uint8Array(2 * WAL_INDEX_HEADER_BYTES);
  private readonly view = new DataView(this.buf.buffer);

  constructor(
    private readonly fd: number,
    private readonly pageSize: number,
  ) {}

  read(): { salt: string; end: number } {
    for (let attempt = 0; attempt < 100; attempt++) {
      const n = fs.readSync(this.fd, this.buf, 0, this.buf.length, 0);
      if (n < this.buf.length) throw new Error(`short read of the -shm header (${n} bytes)`);
      // SQLite writes the two copies one after the other; equal copies are a consistent header.
      let same = true;
      for (let i = 0; i < WAL_INDEX_HEADER_BYTES; i++) {
        if (this.buf[i] !== this.buf[i + WAL_INDEX_HEADER_BYTES]) {
          same = false;
          break;
        }
      }
      if (!same) continue;
      // Native byte order (little-endian on the x86 and arm64 machines this runs on).
      const version = this.view.getUint32(0, true);
      if (version !== WAL_INDEX_VERSION) throw new Error(`unexpected wal-index version ${version}`);
      const mxFrame = this.view.getUint32(16, true);
      const salt = Buffer.from(this.buf.subarray(32, 40)).toString("hex");
      return { salt, end: 32 + mxFrame * (24 + this.pageSize) };
    }
    throw new Error("the -shm header kept changing under us");
  }
}

/** xorshift32, deterministic for a seed. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x1_0000_0000;
  };
}

function flag(argv: string[], name: string, fallback: string): string {
  const i = argv.indexOf(name);
  return i < 0 ? fallback : (argv[i + 1] ?? fallback);
}

/** `bytes` of text that differ from row to row (so nothing compresses to nothing); 100 by default. */
function rowText(n: number, rand: () => number, bytes: number): string {
  let s = `row ${n} `;
  while (s.length < bytes) s += Math.floor(rand() * 0x1_0000_0000).toString(36);
  return s.slice(0, bytes);
}

function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("SQLITE_BUSY");
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const [mode, dbPath, secondsArg, outPath] = argv;
  const seconds = Number(secondsArg);
  if ((mode !== "lag" && mode !== "storm") || !dbPath || !outPath || !(seconds > 0)) {
    console.error("usage: load-writer.ts lag|storm DB SECONDS OUT [--interval-ms 50] [--sample-ms 50] ...");
    process.exit(2);
  }
  const intervalMs = Number(flag(argv, "--interval-ms", "50"));
  const sampleMs = Number(flag(argv, "--sample-ms", "50"));
  const synchronous = flag(argv, "--synchronous", "default").toUpperCase();
  const rand = rng(Number(flag(argv, "--seed", "1")));
  const walGuardBytes = Number(flag(argv, "--wal-guard-mb", "0")) * 2 ** 20;
  const rate = Number(flag(argv, "--rate", "0"));
  const rowBytes = Number(flag(argv, "--row-bytes", "100"));
  let walGuardHit = false;

  const db = new Database(dbPath, { readwrite: true, create: false });
  db.run("PRAGMA busy_timeout = 5000");
  if (synchronous === "FULL" || synchronous === "NORMAL") db.run(`PRAGMA synchronous = ${synchronous}`);
  const journal = String(db.query("PRAGMA journal_mode").values()[0]?.[0]);
  if (journal !== "wal") throw new Error(`${dbPath} is not in WAL mode (${journal})`);
  const pageSize = Number(db.query("PRAGMA page_size").values()[0]?.[0]);
  const syncLevel = Number(db.query("PRAGMA synchronous").values()[0]?.[0]);
  const insert = db.prepare("INSERT INTO items (name, qty) VALUES (?, ?)");
  // The -shm exists once a connection has read the WAL-mode database (the pragmas above did).
  const shmFd = fs.openSync(`${dbPath}-shm`, "r");
  const walIndex = new WalIndexReader(shmFd, pageSize);

  const commits: CommitRecord[] = [];
  let transactions = 0;
  let busyErrors = 0;
  const record = (id: number): void => {
    const at = Date.now();
    const { salt, end } = walIndex.read();
    commits.push({ at, salt, end, id });
  };

  const started = performance.now();
  const stopAt = started + seconds * 1000;
  if (mode === "lag") {
    let due = started;
    while (due < stopAt) {
      const wait = due - performance.now();
      if (wait > 0) await Bun.sleep(wait);
      try {
        const r = insert.run(rowText(transactions, rand, rowBytes), transactions);
        transactions++;
        record(Number(r.lastInsertRowid));
      } catch (err) {
        if (!isBusy(err)) throw err;
        busyErrors++;
      }
      due += intervalMs * (0.5 + rand());
    }
  } else {
    let nextSample = performance.now();
    for (;;) {
      let now = performance.now();
      if (now >= stopAt) break;
      if (rate > 0) {
        // Commit n is due n/rate seconds in; sleeping only when a couple of milliseconds ahead keeps the
        // pacing cheap (commits come in small bursts) and the average exact.
        const ahead = started + ((transactions + busyErrors) * 1000) / rate - now;
        if (ahead >= 2) {
          await Bun.sleep(ahead);
          now = performance.now();
        }
      }
      try {
        const r = insert.run(rowText(transactions, rand, rowBytes), transactions);
        transactions++;
        if (now >= nextSample) {
          record(Number(r.lastInsertRowid));
          nextSample = now + sampleMs;
          if (
            walGuardBytes > 0 &&
            (fs.statSync(`${dbPath}-wal`, { throwIfNoEntry: false })?.size ?? 0) > walGuardBytes
          ) {
            walGuardHit = true;
            break;
          }
        }
      } catch (err) {
        if (!isBusy(err)) throw err;
        busyErrors++;
      }
    }
  }
  const elapsedS = (performance.now() - started) / 1000;
  const endedAt = Date.now();
  fs.closeSync(shmFd);
  insert.finalize();
  db.close();
  const result: WriterResult = {
    mode,
    pageSize,
    synchronous: syncLevel,
    transactions,
    busyErrors,
    elapsedS,
    tps: transactions / elapsedS,
    commits,
    endedAt,
    walGuardHit,
  };
  fs.writeFileSync(outPath, JSON.stringify(result));
}

if (import.meta.main) await main();
