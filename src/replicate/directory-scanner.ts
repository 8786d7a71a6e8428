/**
 * Finds the databases a `dir:` entry covers: files under the directory (and, when recursive, below it)
 * whose names match the pattern and that start with SQLite's header. Each file is reported once.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { DbConfig } from "../config/config.ts";
import { coversFile } from "../config/directory.ts";
import { readFileAt } from "../io/file-io.ts";

const SQLITE_MAGIC = "SQLite format 3\0";
/** SQLite's own companion files are never databases to replicate. */
const SIDECAR = /-(wal|shm|journal)$/;

export class DirectoryScanner {
  private readonly known = new Set<string>();

  constructor(readonly entry: DbConfig) {}

  /** Database files found since the last scan. A missing directory is simply empty. */
  scan(): string[] {
    const found: string[] = [];
    const walk = (dir: string) => {
      let entries: fs.Dirent[];
      try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        const p = path.join(dir, e.name);
        // Hidden directories hold replication state (`.app.db-litestream`), never databases.
        if (e.isDirectory()) {
          if (this.entry.directory?.recursive && !e.name.startsWith(".")) walk(p);
        } else if (
          e.isFile() &&
          !this.known.has(p) &&
          !SIDECAR.test(e.name) &&
          coversFile(this.entry, p) &&
          isDatabase(p)
        ) {
          this.known.add(p);
          found.push(p);
        }
      }
    };
    walk(this.entry.path);
    return found.sort();
  }
}

/**
 * Whether the file starts with SQLite's header; a file the application created but has not yet
 * written is skipped and found by a later scan. Opening a database no connection of ours holds is safe.
 */
function isDatabase(file: string): boolean {
  return new TextDecoder().decode(readFileAt(file, 0, SQLITE_MAGIC.length)) === SQLITE_MAGIC;
}
