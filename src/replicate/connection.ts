/**
 * The SQLite adapter of replication: opens connections to the application's database the way replication needs,
 * and the set of them replication holds. The only module besides restore verification and the process
 * lock that touches SQLite.
 */
import * as fs from "node:fs";
import type { Logger } from "../observe/log.ts";
import {
  type SqliteDatabase as Database,
  openDatabase,
  SQLITE_FCNTL_PERSIST_WAL,
} from "../runtime/sqlite.ts";
import { ShmLocks } from "./shm-locks.ts";

/** How long our statements wait for the application's locks before failing with SQLITE_BUSY. */
export const BUSY_TIMEOUT_MS = 1000;

/**
 * Opens a read-write connection with PERSIST_WAL on (so closing our last connection never deletes the
 * `-wal` under the application), a busy timeout, and automatic checkpoints off on this connection.
 */
export function openConnection(path: string): Database {
  const db = openDatabase(path, { readwrite: true, create: false });
  try {
    if (!db.fileControl) throw new Error("this runtime's SQLite driver has no file controls (PERSIST_WAL)");
    // fileControl takes a pointer to an int; bun:sqlite requires at least 8 bytes for a typed array.
    const rc = db.fileControl(SQLITE_FCNTL_PERSIST_WAL, new Int32Array([1, 0]));
    if (rc !== 0) throw new Error(`SQLITE_FCNTL_PERSIST_WAL failed with code ${rc}`);
    db.run(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.run("PRAGMA wal_autocheckpoint = 0");
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

export interface CheckpointResult {
  busy: number;
  log: number;
  checkpointed: number;
}

export type CheckpointMode = "PASSIVE" | "FULL" | "RESTART" | "TRUNCATE";

export function checkpoint(db: Database, mode: CheckpointMode): CheckpointResult {
  const row = db.query(`PRAGMA wal_checkpoint(${mode})`).get() as CheckpointResult | null;
  return row ?? { busy: 0, log: 0, checkpointed: 0 };
}

/** What replication holds open on a database; all of it is let go together (closeOurConnections). */
export interface OurConnections {
  /** Our writing connection: WAL mode, our tables, the write lock's fallback. */
  conn: Database;
  /** Two connections that take turns holding our read transaction; `reading` is the one holding it. */
  readers: [Database, Database];
  reading: 0 | 1;
  /**
   * SQLite's checkpointer lock is ours between our own checkpoints, so the application's automatic ones
   * give up at once instead of working against our read mark; the writer lock stops appends while we
   * restart the WAL. Null where they cannot be taken from outside SQLite (see shm-locks.ts).
   */
  shmLocks: ShmLocks | null;
  /** One long-lived descriptor for reading the database file: closing any descriptor of it would drop SQLite's POSIX locks. */
  fd: number;
  pageSize: number;
}

/**
 * Opens what replication holds: switches the database to WAL mode (saying so, the application sees it
 * too), creates Litestream's tables, begins the read transaction and takes the checkpointer lock. On
 * failure, whatever was opened is closed again.
 */
export function openOurConnections(path: string, log: Logger): OurConnections {
  const conn = openConnection(path);
  let readers: [Database, Database] | undefined;
  let fd: number | undefined;
  try {
    const before = conn.query("PRAGMA journal_mode").values()[0]?.[0];
    const mode = conn.query("PRAGMA journal_mode = wal").values()[0]?.[0];
    if (mode !== "wal") throw new Error(`cannot enable WAL mode (journal_mode=${String(mode)})`);
    if (before !== "wal") log.info("switched the database to WAL mode", { db: path, was: String(before) });
    conn.run("CREATE TABLE IF NOT EXISTS _litestream_seq (id INTEGER PRIMARY KEY, seq INTEGER)");
    conn.run("CREATE TABLE IF NOT EXISTS _litestream_lock (id INTEGER)");
    readers = [openConnection(path), openConnection(path)];
    fd = fs.openSync(path, "r");
    beginRead(readers[0]);
    const shmLocks = ShmLocks.open(`${path}-shm`);
    shmLocks?.take("checkpoint");
    const pageSize = Number(conn.query("PRAGMA page_size").values()[0]?.[0]);
    return { conn, readers, reading: 0, shmLocks, fd, pageSize };
  } catch (err) {
    for (const reader of readers ?? []) reader.close();
    conn.close();
    if (fd !== undefined) fs.closeSync(fd);
    throw err;
  }
}

export function closeOurConnections(open: OurConnections): void {
  for (const reader of open.readers) {
    try {
      endRead(reader);
    } catch {}
    reader.close();
  }
  open.conn.close();
  // Only now: closing the -shm descriptor drops every POSIX lock of ours on it (see shm-locks.ts).
  open.shmLocks?.close();
  fs.closeSync(open.fd);
}

/** Starts a read transaction: the WAL frames it can see stay where they are until it ends. */
export function beginRead(db: Database): void {
  db.run("BEGIN");
  try {
    db.query("SELECT COUNT(1) FROM _litestream_seq").values();
  } catch (err) {
    db.run("ROLLBACK");
    throw err;
  }
}

export function endRead(db: Database): void {
  if (db.inTransaction) db.run("ROLLBACK");
}
