/** Reads what a test compares between a source database and its restore. */
import { Database } from "bun:sqlite";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/**
 * Integrity check result and every row of `table`, read from a private copy so the file under test
 * (which may be in WAL mode) gets no `-wal`/`-shm` beside it.
 */
export function readDatabase(file: string, table = "items"): { integrity: string; rows: unknown[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "walship-read-"));
  try {
    const copy = path.join(dir, "copy.db");
    fs.copyFileSync(file, copy);
    for (const suffix of ["-wal"]) {
      if (fs.existsSync(file + suffix)) fs.copyFileSync(file + suffix, copy + suffix);
    }
    const db = new Database(copy);
    try {
      const integrity = String(db.query("PRAGMA integrity_check").values()[0]?.[0]);
      const rows = db.query(`SELECT * FROM ${table} ORDER BY rowid`).all();
      return { integrity, rows };
    } finally {
      db.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
