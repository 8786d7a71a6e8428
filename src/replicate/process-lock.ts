/**
 * Only one walship process replicates a database: two writers to one replica would interleave segments.
 * The lock is an exclusive SQLite lock on a small file in the meta directory, so the operating system
 * releases it when the process dies, however it dies.
 */
import { WalshipError } from "../errors/walship-error.ts";
import { openDatabase, type SqliteDatabase } from "../runtime/sqlite.ts";

/** Another process already replicates the database. */
export class AlreadyReplicatingError extends WalshipError<"already-replicating"> {
  override name = "AlreadyReplicatingError";
  constructor(message: string, dbPath: string, hint: string) {
    super(message, { code: "already-replicating", operation: "replicate", subject: dbPath, hint });
  }
}

export class ProcessLock {
  private constructor(private readonly lock: SqliteDatabase) {}

  /**
   * Takes the lock on `lockPath` for replicating `dbPath`.
   *
   * @throws AlreadyReplicatingError when another process holds it
   */
  static take(lockPath: string, dbPath: string): ProcessLock {
    const lock = openDatabase(lockPath, { create: true });
    try {
      lock.run("PRAGMA busy_timeout = 0");
      lock.run("BEGIN EXCLUSIVE");
    } catch (err) {
      lock.close();
      if ((err as { code?: string }).code?.startsWith("SQLITE_BUSY")) {
        throw new AlreadyReplicatingError(
          `Cannot replicate ${dbPath}: another walship process is already replicating it (it holds ${lockPath})`,
          dbPath,
          "stop the other walship process first; only one process may write a database's replicas",
        );
      }
      throw err;
    }
    return new ProcessLock(lock);
  }

  release(): void {
    this.lock.close();
  }
}
