/**
 * The capture side for in-process tests: a ReplicatedDatabase with the settings tests share (no time
 * based checkpoints, none by size and no backpressure bound unless asked), and a logger whose lines the
 * test can read.
 */

import type { Logger } from "../../src/observe/log.ts";
import {
  type DatabaseOptions,
  DEFAULT_TRUNCATE_PAGE_COUNT,
  ReplicatedDatabase,
} from "../../src/replicate/database.ts";
import { memoryLogger } from "./quiet-log.ts";

export function openReplicatedDb(
  file: string,
  options: Partial<Omit<DatabaseOptions, "path" | "log">> = {},
): { db: ReplicatedDatabase; log: Logger; lines: string[] } {
  const { log, lines } = memoryLogger();
  const db = new ReplicatedDatabase({
    path: file,
    checkpointIntervalMs: 0,
    minCheckpointPageCount: 100_000,
    maxCheckpointPageCount: 0,
    truncatePageCount: DEFAULT_TRUNCATE_PAGE_COUNT,
    maxWalBytes: 0,
    log,
    ...options,
  });
  return { db, log, lines };
}
