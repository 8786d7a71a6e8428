/**
 * Whether a database's path still names the file we have open. The application may delete it (and perhaps
 * create it anew), or rename another file over it (VACUUM INTO, then mv); a replicator that goes on with
 * the old file keeps its WAL and shared memory alive beside the new one (see database.ts, letGoIfReplaced).
 */
import * as fs from "node:fs";

/** Why `path` no longer names the file open as `fd`, or null while it does. */
export function replacedReason(fd: number, path: string): string | null {
  const open = fs.fstatSync(fd);
  let now: fs.Stats;
  try {
    now = fs.statSync(path);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ENOENT" ? "database file deleted" : null;
  }
  return now.ino !== open.ino || now.dev !== open.dev ? "database file replaced by another file" : null;
}
