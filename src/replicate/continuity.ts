/**
 * Whether the shadow WAL can go on from where it ends: the decision of every capture, made from facts
 * gathered first (database.ts reads them). Pure, so each reason can be tested on its own.
 *
 * The shadow WAL holds a copy of the real WAL's committed frames. It continues as long as the real WAL
 * still is the session it copied and still holds, at the shadow's end, the frame the shadow ends with. A
 * real WAL with another header was restarted by SQLite; we see a restart only after copying all of the old
 * session (see the capture's read-lock handoff), so that is a new shadow index, not a break. Everything
 * else we cannot prove continuous starts a new generation (a new snapshot).
 */
import { MAX_WAL_INDEX } from "../format/layout.ts";
import { WAL_HEADER_SIZE } from "../sqlite/wal.ts";

export interface ContinuityFacts {
  /** A reason decided elsewhere to start over (replaced database file, machine restart, a replica's request). */
  forcedReason: string;
  /** The generation being replicated; "" when there is none. */
  generation: string;
  /** The highest shadow WAL index of the generation, or null when it has none. */
  index: number | null;
  /** The size of that shadow file, frame-aligned. */
  shadowSize: number;
  /** The size of the real WAL, frame-aligned. */
  walSize: number;
  /** Whether the shadow file and the real WAL have the same header (salts and checksums). */
  sameHeader: boolean;
  /** Whether the real WAL holds, where the shadow ends, the same last frame (true when the shadow has no frames). */
  sameLastFrame: boolean;
}

export type Continuity =
  | { kind: "continue" }
  /** The real WAL restarted: copy the rest of the old session, then a new shadow index. */
  | { kind: "restart" }
  | { kind: "new-generation"; reason: string };

export function decideContinuity(f: ContinuityFacts): Continuity {
  const newGeneration = (reason: string): Continuity => ({ kind: "new-generation", reason });
  if (f.forcedReason) return newGeneration(f.forcedReason);
  if (!f.generation) return newGeneration("no generation exists");
  if (f.index === null) return newGeneration("no shadow wal");
  if (f.index >= MAX_WAL_INDEX) return newGeneration("max index exceeded");
  if (f.shadowSize < WAL_HEADER_SIZE) return newGeneration("short shadow wal");
  if (!f.sameHeader) return { kind: "restart" };
  if (f.shadowSize > f.walSize) return newGeneration("wal truncated by another process");
  // Frames past SQLite's last commit (a writer killed before it published them) may be rewritten.
  if (!f.sameLastFrame) return newGeneration("wal overwritten by another process");
  return { kind: "continue" };
}
