/** The test application's database: its schema and a writer process that commits to it. */
import { Database } from "bun:sqlite";
import * as path from "node:path";

const WRITER = path.join(import.meta.dirname, "writer.ts");

/** Creates the database in WAL mode with the `items` table the writer uses. */
export function createDatabase(file: string): void {
  const db = new Database(file, { create: true });
  db.run("PRAGMA journal_mode = wal");
  db.run(
    "CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INTEGER, data BLOB)",
  );
  db.close();
}

/** Runs the writer process to completion: `transactions` commits, deterministic for a given seed. */
export async function runWriter(
  file: string,
  transactions: number,
  seed: number,
  pauseEvery = 25,
): Promise<void> {
  const proc = Bun.spawn(
    [process.execPath, WRITER, file, String(transactions), String(seed), String(pauseEvery)],
    {
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  const code = await proc.exited;
  if (code !== 0) throw new Error(`writer failed (${code}): ${await new Response(proc.stderr).text()}`);
}

/**
 * The application's own connection, as a careful application opens it: with a busy timeout, since
 * the replicator briefly takes the write lock around its checkpoints.
 */
export function openApp(file: string): Database {
  const db = new Database(file);
  db.run("PRAGMA busy_timeout = 5000");
  return db;
}
