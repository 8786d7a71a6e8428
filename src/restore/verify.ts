/**
 * Makes a restored file durable and checks it with SQLite's own checks, at once: the fsync runs on a
 * thread of the runtime's pool while SQLite reads the file (still in the page cache) on this one, so a
 * restore pays for the slower of the two instead of both (on a 1.5 GiB database: 0.5 s fsync, 1.1 s
 * quick_check). SQLite's memory map would halve quick_check's time, but it counts the whole file as
 * this process's resident memory (1.6 GB here), so pages are read the ordinary way.
 *
 * The file is in WAL mode (header bytes 18/19 = 2), and opening it so would create `-wal`/`-shm` files
 * beside it; we mark it as a rollback-journal database for the check, open it read-only (which creates
 * nothing), and put the bytes back afterwards.
 */
import * as fs from "node:fs";
import { openDatabase } from "../runtime/sqlite.ts";
import { RestoreIntegrityError } from "./apply.ts";

export type VerifyMode = "none" | "quick" | "full";

/**
 * Syncs the restored file `fd` (at `file`) and checks it with `mode`. `lastKey` names the last object
 * applied, so a failure points at the replica data that produced it.
 */
export async function syncAndVerify(
  fd: number,
  file: string,
  mode: VerifyMode,
  lastKey?: string,
): Promise<void> {
  if (mode === "none") {
    fs.fsyncSync(fd);
    return;
  }
  const original = new Uint8Array(2);
  fs.readSync(fd, original, 0, 2, 18);
  fs.writeSync(fd, new Uint8Array([1, 1]), 0, 2, 18);
  const synced = new Promise<void>((resolve, reject) =>
    fs.fsync(fd, (err) => (err ? reject(err) : resolve())),
  );
  try {
    check(file, mode === "full" ? "integrity_check" : "quick_check", lastKey);
  } finally {
    // The file is not touched again until the sync is done; a failed sync fails the restore.
    await synced;
    fs.writeSync(fd, original, 0, 2, 18);
    fs.fsyncSync(fd);
  }
}

function check(file: string, pragma: "quick_check" | "integrity_check", lastKey: string | undefined): void {
  const where = lastKey ? ` (last object applied: ${lastKey})` : "";
  let rows: string[];
  try {
    const db = openDatabase(file, { readonly: true });
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
}
