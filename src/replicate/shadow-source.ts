/**
 * What a replica needs from the database it replicates (database.ts implements it): the shadow WAL to
 * upload, and what a snapshot needs. Replicas depend on this, not on the capture machinery.
 */
import type { CaptureTime } from "../format/capture-times.ts";
import type { Pos } from "../format/layout.ts";

export interface ShadowSource {
  /** The database file's absolute path. */
  readonly path: string;
  /** The meta directory, where a replica keeps its own state file. */
  readonly metaPath: string;
  readonly pageSize: number;
  /** The shadow WAL's end: generation, index and committed size; null before the first generation. */
  pos(): Pos | null;
  /** The shadow WAL file of index `index` of `generation` (default: the current one). */
  shadowPath(index: number, generation?: string): string;
  /** When the commits of shadow index `index` in (from, to] were captured (format/capture-times.ts). */
  captureTimes(index: number, from: number, to: number): CaptureTime[];
  /** Makes the next capture start a new generation, for `reason`. */
  requestNewGeneration(reason: string): void;
  /** Restarts the WAL in a new shadow index so a snapshot gets an index of its own; false when it could not. */
  startNewIndex(): boolean;
  /** Keeps the database file unchanged (no checkpoints) until the returned function is called. */
  holdCheckpoints(): () => void;
  readDatabase(position: number, length: number): Uint8Array;
  databaseSize(): number;
}
