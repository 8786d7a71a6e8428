/**
 * Verification of a restored file with SQLite's own checks. The file is in WAL mode (header bytes 18/19
 * = 2), and opening it so would create `-wal`/`-shm` files beside it; we mark it as a rollback-journal
 * database for the check, open it read-only (which creates nothing), and restore the bytes afterwards.
 */
import { Database } from "bun:sqlite";
import * as fs from "node:fs";
import { RestoreIntegrityError } from "./apply.ts";

export type VerifyMode = "none" | "quick" | "full";

/** `lastKey` names the last object applied, so a failure points at the replica data that produced it. */
export async function verifyDatabase(file: string, mode: VerifyMode, lastKey?: string): Promise<void> {
  if (mode === "none") return;
  const fd = fs.openSync(file, "r+");
  const original = new Uint8Array(2);
  try {
    fs.readSync(fd, original, 0, 2, 18);
    fs.writeSync(fd, new Uint8Array([1, 1]), 0, 2, 18);
    const pragma = mode === "full" ? "integrity_check" : "quick_check";
    const where = lastKey ? ` (last object applied: ${lastKey})` : "";
    let rows: string[];
    try {
      const db = new Database(file, { readonly: true });
      try {
        rows = (db.query(`PRAGMA ${pragma}`).values() as string[][]).map((r) => String(r[0]));
      } finally {
        db.close();
      }
    } catch (err) {
      // SQLite refuses files too damaged to check at all ("database disk image is malformed").
      throw new RestoreIntegrityError(
        `Cannot restore: the rebuilt database fails ${pragma}: ${(err as Error).message}${where}`,
        lastKey,
      );
    }
    if (rows.length !== 1 || rows[0] !== "ok") {
      throw new RestoreIntegrityError(
        `Cannot restore: the rebuilt database fails ${pragma}: ${rows.slice(0, 5).join("; ")}${where}`,
        lastKey,
      );
    }
  } finally {
    fs.writeSync(fd, original, 0, 2, 18);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
  }
}
