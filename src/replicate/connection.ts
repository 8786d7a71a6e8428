/**
 * The bun:sqlite adapter: opens connections to the application's database the way replication needs.
 * The only module besides restore verification that touches SQLite.
 */
import { constants, Database } from "bun:sqlite";

/** How long our statements wait for the application's locks before failing with SQLITE_BUSY. */
export const BUSY_TIMEOUT_MS = 1000;

/**
 * Opens a read-write connection with PERSIST_WAL on (so closing our last connection never deletes the
 * `-wal` under the application), a busy timeout, and automatic checkpoints off on this connection.
 */
export function openConnection(path: string): Database {
  const db = new Database(path, { readwrite: true, create: false });
  try {
    // fileControl takes a pointer to an int; bun:sqlite requires at least 8 bytes for a typed array.
    const rc = db.fileControl(constants.SQLITE_FCNTL_PERSIST_WAL, new Int32Array([1, 0]));
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
