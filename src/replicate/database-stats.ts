/** A database's counters for the metrics (Litestream's litestream_* names, walship_* here). */
import type { CheckpointStats } from "./checkpointer.ts";

export interface DatabaseStats extends CheckpointStats {
  syncCount: number;
  syncErrorCount: number;
  syncSeconds: number;
  /** Bytes appended to the shadow WAL. */
  walBytes: number;
}

export function newDatabaseStats(): DatabaseStats {
  const checkpoint = () => ({ count: 0, errors: 0, seconds: 0 });
  return {
    syncCount: 0,
    syncErrorCount: 0,
    syncSeconds: 0,
    walBytes: 0,
    checkpoints: { PASSIVE: checkpoint(), FULL: checkpoint(), RESTART: checkpoint(), TRUNCATE: checkpoint() },
    writerHolds: 0,
    writerHoldSeconds: 0,
  };
}
