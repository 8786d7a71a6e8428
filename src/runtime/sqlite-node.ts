/**
 * node:sqlite (Deno's, and Node's) in the shape of sqlite.ts's SqliteDatabase, for runtimes without
 * bun:sqlite. It has no file controls.
 */
import * as fs from "node:fs";
import { createRequire } from "node:module";
import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { OpenOptions, SqliteDatabase, SqliteStatement, SqlValue } from "./sqlite.ts";

/** Loaded on first use: bun:sqlite, not this, runs under Bun. */
let driver: typeof import("node:sqlite") | undefined;

function nodeSqlite(): typeof import("node:sqlite") {
  driver ??= createRequire(import.meta.url)("node:sqlite") as typeof import("node:sqlite");
  return driver;
}

class NodeSqliteStatement implements SqliteStatement {
  constructor(private readonly stmt: StatementSync) {}

  run(...params: SqlValue[]): unknown {
    return this.stmt.run(...params);
  }

  get(...params: SqlValue[]): unknown {
    return this.stmt.get(...params) ?? null;
  }

  all(...params: SqlValue[]): unknown[] {
    return this.stmt.all(...params);
  }

  values(...params: SqlValue[]): unknown[][] {
    // Rows come as objects; their keys keep the column order.
    return this.stmt.all(...params).map((row) => Object.values(row as object));
  }
}

export class NodeSqliteDatabase implements SqliteDatabase {
  private readonly db: DatabaseSync;

  constructor(path: string, options: OpenOptions = {}) {
    const readOnly = options.readonly === true;
    const create = options.create ?? !(readOnly || options.readwrite);
    // node:sqlite always creates a missing file when it may write: refuse first, as bun:sqlite does.
    if (!create && path !== ":memory:" && !fs.existsSync(path)) {
      throw new Error(`unable to open database file: ${path}`);
    }
    this.db = new (nodeSqlite().DatabaseSync)(path, { readOnly });
  }

  run(sql: string): unknown {
    return this.db.prepare(sql).run();
  }

  query(sql: string): SqliteStatement {
    return this.prepare(sql);
  }

  prepare(sql: string): SqliteStatement {
    return new NodeSqliteStatement(this.db.prepare(sql));
  }

  exec(sql: string): unknown {
    this.db.exec(sql);
    return undefined;
  }

  close(): void {
    this.db.close();
  }

  get inTransaction(): boolean {
    return this.db.isTransaction;
  }
}
