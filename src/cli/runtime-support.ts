/**
 * Commands that replicate need SQLite file controls (SQLITE_FCNTL_PERSIST_WAL keeps the `-wal` under
 * the application) that only bun:sqlite has; under Deno, node:sqlite lacks them. Refused before any
 * work, in one line.
 */
import { hasFileControls } from "../runtime/sqlite.ts";
import { UsageError } from "./errors.ts";

/** @throws UsageError when this runtime cannot replicate */
export function requireReplicationSupport(command: string): void {
  if (hasFileControls()) return;
  throw new UsageError(
    `Cannot run walship ${command} here: it needs Bun's SQLite file controls (SQLITE_FCNTL_PERSIST_WAL), which node:sqlite under Deno lacks; under Deno, restore, doctor and the inspection commands work`,
    "run it with Bun: the walship executable, or bun src/cli/main.ts",
  );
}
