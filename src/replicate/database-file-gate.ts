/**
 * Refuses a database path that names a file SQLite cannot open as a database (text, an archive, a WAL,
 * zeros where the header belongs): SQLite would only say "file is not a database" on every sync, for
 * ever. The refusal says what was found and what to do, and holds until the file changes (replaced or
 * rewritten), when the file is looked at again. A 0-byte file is an empty database, as SQLite has it.
 */
import * as fs from "node:fs";
import { WalshipError } from "../errors/walship-error.ts";
import { fileSize, readFileAt } from "../io/file-io.ts";
import type { Logger } from "../observe/log.ts";
import { FILE_KIND_PROBE_BYTES, type FileKind, identifyDatabaseFile } from "../sqlite/file-kind.ts";

const COMPRESSED =
  "decompress it first (or restore the database with walship restore), or point the path at the database itself";

/** The fix for each kind of wrong file; any other kind gets DEFAULT_HINT. */
const HINTS: Partial<Record<FileKind, string>> = {
  "zero-filled":
    'the file is damaged (zeros where the SQLite header belongs): restore it from a backup ("walship restore -o NEW.db REPLICA_URL") and move that into place while the application is stopped',
  "sqlite-wal": "give the path of the database itself, not of its -wal file",
  "sqlite-journal": "give the path of the database itself, not of its -journal file",
  lz4: 'that is a replica\'s object, not a database: restore one with "walship restore -o NEW.db REPLICA_URL" and replicate that',
  gzip: COMPRESSED,
  zip: COMPRESSED,
  xz: COMPRESSED,
  zstd: COMPRESSED,
  bzip2: COMPRESSED,
  age: "decrypt it first, or point the path at the database itself",
};
const DEFAULT_HINT =
  "check that the path names the application's SQLite database, or remove this database from the config";

/** The file at a database path is not an SQLite database. */
export class NotADatabaseError extends WalshipError<"not-a-database"> {
  override name = "NotADatabaseError";
  constructor(
    readonly path: string,
    readonly kind: FileKind,
    readonly size: number,
    description: string,
    hint: string,
  ) {
    super(
      `Cannot replicate ${path}: it is not an SQLite database (found ${description}, ${size} bytes, where an SQLite database starts with "SQLite format 3")`,
      { code: "not-a-database", operation: "replicate", subject: path, hint },
    );
  }
}

/** The refusal for the file at `p`, or null when SQLite can open it as a database (or it does not exist). */
export function checkDatabaseFile(p: string): NotADatabaseError | null {
  const size = fileSize(p);
  if (size === null) return null;
  // Read through a descriptor of our own before any SQLite connection of ours has the file open: closing
  // it then drops no lock.
  const head = readFileAt(p, 0, Math.min(FILE_KIND_PROBE_BYTES, size));
  const found = identifyDatabaseFile(head, size);
  if (found.database) return null;
  return new NotADatabaseError(p, found.kind, size, found.description, HINTS[found.kind] ?? DEFAULT_HINT);
}

export type GateResult =
  | { admitted: true /** The file was refused before and has changed into a database. */; nowFixed: boolean }
  | { admitted: false; error: NotADatabaseError /** First time this file is refused. */; fresh: boolean };

/** The check of one database path, remembered while the refused file stays the same. */
export class DatabaseFileGate {
  private refused: { error: NotADatabaseError; stamp: string } | null = null;

  constructor(readonly path: string) {}

  /** The current refusal, for /healthz. */
  get refusal(): NotADatabaseError | null {
    return this.refused?.error ?? null;
  }

  check(): GateResult {
    const stamp = stampOf(this.path);
    if (this.refused && stamp === this.refused.stamp)
      return { admitted: false, error: this.refused.error, fresh: false };
    const error = checkDatabaseFile(this.path);
    const wasRefused = this.refused !== null;
    if (!error) {
      this.refused = null;
      return { admitted: true, nowFixed: wasRefused };
    }
    this.refused = { error, stamp: stamp ?? "" };
    return { admitted: false, error, fresh: true };
  }

  /** Logs what check() found when it is news: a new refusal (error) or a refused file fixed (info). */
  report(result: GateResult, log: Logger): void {
    if (!result.admitted && result.fresh) {
      log.error("database refused", { db: this.path, error: result.error.message, hint: result.error.hint });
    } else if (result.admitted && result.nowFixed) {
      log.info("database file is an SQLite database now; replicating it", { db: this.path });
    }
  }
}

/** Identity and version of a file: a replaced or rewritten file stamps differently. */
function stampOf(p: string): string | null {
  try {
    const st = fs.statSync(p);
    return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    return null;
  }
}
