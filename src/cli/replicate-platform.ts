/**
 * `replicate` is built and tested on Linux only: its SQLite locking assumptions (POSIX record locks on
 * the -shm file, taken from outside SQLite through libc), the boot id and the search for a Litestream
 * on the same database all read Linux's interfaces. Elsewhere it refuses at once rather than replicate
 * with guarantees nobody has checked; restore, doctor and the inspection commands have no such ties.
 */
import { UsageError } from "./errors.ts";

export function replicatePlatformError(platform: NodeJS.Platform = process.platform): UsageError | null {
  if (platform === "linux") return null;
  return new UsageError(
    `Cannot replicate on ${platform}: walship replicate runs on Linux only today`,
    "restore, doctor and the inspection commands work here; run replicate on a Linux host",
  );
}
