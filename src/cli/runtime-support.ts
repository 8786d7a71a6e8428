/**
 * Where commands that replicate (`replicate`, `demo`) can run, refused before any work in one line:
 * - on Linux only: the SQLite locking assumptions (POSIX record locks on the -shm file, taken from outside
 *   SQLite through libc), the boot id and the search for a Litestream on the same database read Linux's
 *   interfaces; elsewhere they were never checked. Restore, doctor and inspection have no such ties.
 * - under Bun only: they need SQLite file controls (SQLITE_FCNTL_PERSIST_WAL keeps the `-wal` under the
 *   application) that bun:sqlite has and node:sqlite under Deno lacks.
 */
import { hasFileControls } from "../runtime/sqlite.ts";
import { UsageError } from "./errors.ts";

/** @throws UsageError when this runtime cannot replicate */
export function requireReplicationSupport(command: string): void {
  const platform = replicatePlatformError();
  if (platform) throw platform;
  if (hasFileControls()) return;
  throw new UsageError(
    `Cannot run walship ${command} here: it needs Bun's SQLite file controls (SQLITE_FCNTL_PERSIST_WAL), which node:sqlite under Deno lacks; under Deno, restore, doctor and the inspection commands work`,
    "run it with Bun: the walship executable, or bun src/cli/main.ts",
  );
}

export function replicatePlatformError(platform: NodeJS.Platform = process.platform): UsageError | null {
  if (platform === "linux") return null;
  return new UsageError(
    `Cannot replicate on ${platform}: walship replicate runs on Linux only today`,
    "restore, doctor and the inspection commands work here; run replicate on a Linux host",
  );
}
