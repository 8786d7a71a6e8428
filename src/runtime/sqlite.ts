/**
 * SQLite as walship uses it: bun:sqlite under Bun (its Database is returned as it is, so nothing sits
 * between walship and the driver), node:sqlite under Deno (sqlite-node.ts adapts it to the same shape).
 * node:sqlite has no file controls, so `fileControl` is absent there and replication cannot run.
 */
import { IS_BUN } from "./host.ts";
import { NodeSqliteDatabase } from "./sqlite-node.ts";

/** A value SQLite binds or returns. */
export type SqlValue = string | number | bigint | null | Uint8Array;

export interface SqliteStatement {
  run(...params: SqlValue[]): unknown;
  /** The first row as an object keyed by column name, or null. */
  get(...params: SqlValue[]): unknown;
  all(...params: SqlValue[]): unknown[];
  /** Every row as an array of column values. */
  values(...params: SqlValue[]): unknown[][];
}

export interface SqliteDatabase {
  /** Runs one statement without parameters for its effect (with parameters: prepare). */
  run(sql: string): unknown;
  /** A prepared statement the driver may cache by its text. */
  query(sql: string): SqliteStatement;
  prepare(sql: string): SqliteStatement;
  /** Runs any number of statements without parameters. */
  exec(sql: string): unknown;
  close(): void;
  readonly inTransaction: boolean;
  /** sqlite3_file_control on the main database; only bun:sqlite has it. */
  fileControl?(op: number, arg: ArrayBufferView | number): number;
}

export interface OpenOptions {
  readonly?: boolean;
  /** Open read-write (the default unless `readonly`). */
  readwrite?: boolean;
  /** Create the file when it is missing (default true unless `readonly` or `readwrite` alone is given). */
  create?: boolean;
}

/** From sqlite3.h: keep the `-wal` file when the last connection closes. */
export const SQLITE_FCNTL_PERSIST_WAL = 10;

type Open = (path: string, options?: OpenOptions) => SqliteDatabase;

/** Resolved on first use: under Bun, bun:sqlite's constructor itself. */
let open: Open | undefined;

function resolve(): Open {
  if (!IS_BUN) return (path, options) => new NodeSqliteDatabase(path, options);
  // Loaded by require: bun:sqlite does not exist under Deno, and a static import would fail there.
  const { Database } = require("bun:sqlite") as typeof import("bun:sqlite");
  return (path, options) => new Database(path, options);
}

/** Opens the database at `path` (":memory:" for a private in-memory one). */
export function openDatabase(path: string, options?: OpenOptions): SqliteDatabase {
  open ??= resolve();
  return open(path, options);
}

/** Whether this runtime's SQLite driver has file controls (replication needs SQLITE_FCNTL_PERSIST_WAL). */
export function hasFileControls(): boolean {
  return IS_BUN;
}
