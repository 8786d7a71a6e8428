/**
 * Litestream replicating the same database. It keeps its state in the same meta directory
 * (`.<db>-litestream`, which walship shares so a user switching tools keeps one), and the two would
 * overwrite each other's generation file and delete each other's shadow WAL files; walship's process lock
 * keeps out only other walships. Found through /proc (Linux): a process named litestream that has the
 * database or its WAL open. Only such processes are looked into, so the scan costs a few small reads per
 * process; processes of other users that we may not inspect, and other systems, find nothing.
 */
import * as fs from "node:fs";
import { WalshipError } from "../errors/walship-error.ts";

/** The pid of a Litestream process that has `dbPath` open, or null when none is found. */
export function findLitestream(dbPath: string): number | null {
  let pids: string[];
  let target: string;
  try {
    pids = fs.readdirSync("/proc");
    target = fs.realpathSync(dbPath);
  } catch {
    return null;
  }
  const files = new Set([target, `${target}-wal`]);
  for (const pid of pids) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    // comm holds at most 15 characters of the executable's name.
    if (!tryRead(() => fs.readFileSync(`/proc/${pid}/comm`, "utf8"))?.startsWith("litestream")) continue;
    for (const fd of tryRead(() => fs.readdirSync(`/proc/${pid}/fd`)) ?? []) {
      if (files.has(tryRead(() => fs.readlinkSync(`/proc/${pid}/fd/${fd}`)) ?? "")) return Number(pid);
    }
  }
  return null;
}

/** Another replicator writes the database's meta directory: walship refuses to share it. */
export class OtherReplicatorError extends WalshipError<"other-replicator"> {
  override name = "OtherReplicatorError";
  constructor(message: string) {
    super(message, {
      code: "other-replicator",
      operation: "replicate",
      hint: "run one replicator per database: stop Litestream (or walship) for this database",
    });
  }
}

/**
 * Refuses a database that Litestream replicates too: the two would overwrite each other's state in the
 * meta directory they share. Where Litestream cannot be seen (another user's process, another system), a
 * generation file changed by someone else tells later (see otherWriterError).
 */
export function refuseSharedMetaDirectory(dbPath: string, metaPath: string): void {
  const pid = findLitestream(dbPath);
  if (pid === null) return;
  throw new OtherReplicatorError(
    `Cannot replicate ${dbPath}: Litestream (pid ${pid}) replicates it too, and the two would overwrite each other's state in ${metaPath}`,
  );
}

/**
 * Something else writes our meta directory (Litestream started on the same database while we run: it
 * takes over our generation and appends to our shadow WAL, or starts its own); `what` says what it did.
 */
export function otherWriterError(dbPath: string, what: string): OtherReplicatorError {
  const pid = findLitestream(dbPath);
  return new OtherReplicatorError(
    `Cannot go on replicating ${dbPath}: another process${pid === null ? "" : ` (Litestream, pid ${pid})`} ${what}, so it replicates this database too`,
  );
}

/** `read()`, or undefined when the process ended or is not ours to inspect. */
function tryRead<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}
