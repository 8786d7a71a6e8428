/**
 * The 100-byte SQLite database file header: the fields walship needs to check a snapshot.
 * Pure: takes bytes, imports nothing from the runtime.
 */

export const DB_HEADER_SIZE = 100;
const MAGIC = "SQLite format 3\0";

export interface DbHeader {
  pageSize: number;
  /** Header bytes 18/19: 1 = legacy rollback journal, 2 = WAL. */
  writeVersion: number;
  readVersion: number;
  /** In-header database size in pages (valid when the version-valid-for counter matches). */
  pageCount: number;
}

/** The bytes are not an SQLite database header. */
export class DbFormatError extends Error {
  override name = "DbFormatError";
  /** Stable, as walship's other errors have one (errors/walship-error.ts, which this pure module may not import). */
  readonly code = "db-header-invalid";
}

/** Whether `b` starts with the 16 bytes every SQLite database file starts with, "SQLite format 3\0". */
export function hasSqliteMagic(b: Uint8Array): boolean {
  if (b.length < MAGIC.length) return false;
  for (let i = 0; i < MAGIC.length; i++) if (b[i] !== MAGIC.charCodeAt(i)) return false;
  return true;
}

export function decodeDbHeader(b: Uint8Array): DbHeader {
  if (b.length < DB_HEADER_SIZE) {
    throw new DbFormatError(`Cannot read database header: need 100 bytes, have ${b.length}`);
  }
  if (!hasSqliteMagic(b)) {
    throw new DbFormatError("Cannot read database header: not an SQLite database (bad magic)");
  }
  const raw = (b[16]! << 8) | b[17]!;
  // The 16-bit field cannot hold 65536, so SQLite stores it as 1.
  const pageSize = raw === 1 ? 65536 : raw;
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) {
    throw new DbFormatError(`Cannot read database header: invalid page size ${raw}`);
  }
  const view = new DataView(b.buffer, b.byteOffset, DB_HEADER_SIZE);
  return {
    pageSize,
    writeVersion: b[18]!,
    readVersion: b[19]!,
    pageCount: view.getUint32(28),
  };
}
