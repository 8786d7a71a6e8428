/**
 * The replica layout of Litestream 0.3.13: generation, snapshot and WAL segment names, their paths
 * under a replica root, and replication positions. This is the only module that knows the grammar.
 * Pure: imports nothing from the runtime.
 */

/** Largest WAL index Litestream allows; reaching it starts a new generation. */
export const MAX_WAL_INDEX = 0x7fffffff;
/**
 * Most content a WAL segment can hold: offsets within an index are named with 8 hex digits, so an index
 * holds less than 4 GiB. A segment that decodes to more is a decompression bomb.
 */
export const MAX_SEGMENT_CONTENT_BYTES = 2 ** 32 - 1;

const GENERATION_RE = /^[0-9a-f]{16}$/;
const SNAPSHOT_RE = /^([0-9a-f]{8})\.snapshot\.lz4$/;
const WAL_SEGMENT_RE = /^([0-9a-f]{8})_([0-9a-f]{8})\.wal\.lz4$/;
const SHADOW_WAL_RE = /^([0-9a-f]{8})\.wal$/;

/** A position in a generation's WAL stream: byte `offset` within WAL index `index`. */
export interface Pos {
  generation: string;
  index: number;
  offset: number;
}

export function isGenerationName(s: string): boolean {
  return GENERATION_RE.test(s);
}

/** 16 lowercase hex characters from 8 random bytes (Litestream used a time-seeded PRNG; we use the CSPRNG). */
export function newGenerationName(random: (n: number) => Uint8Array): string {
  return Array.from(random(8), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** `%08x`: lowercase hex, zero-padded to at least 8 digits. */
export function hex8(n: number): string {
  return n.toString(16).padStart(8, "0");
}

export function formatPos(p: Pos): string {
  return p.generation ? `${p.generation}/${hex8(p.index)}:${p.offset}` : "";
}

export function snapshotName(index: number): string {
  return `${hex8(index)}.snapshot.lz4`;
}

export function walSegmentName(index: number, offset: number): string {
  return `${hex8(index)}_${hex8(offset)}.wal.lz4`;
}

export function shadowWalName(index: number): string {
  return `${hex8(index)}.wal`;
}

/** Parses a snapshot base name; null when it is not one (such files are ignored, as in Litestream). */
export function parseSnapshotName(name: string): { index: number } | null {
  const m = SNAPSHOT_RE.exec(name);
  return m ? { index: Number.parseInt(m[1]!, 16) } : null;
}

export function parseWalSegmentName(name: string): { index: number; offset: number } | null {
  const m = WAL_SEGMENT_RE.exec(name);
  return m ? { index: Number.parseInt(m[1]!, 16), offset: Number.parseInt(m[2]!, 16) } : null;
}

export function parseShadowWalName(name: string): { index: number } | null {
  const m = SHADOW_WAL_RE.exec(name);
  return m ? { index: Number.parseInt(m[1]!, 16) } : null;
}

/** Joins key parts with `/`, dropping empty parts, so an empty root gives `generations/...`. */
function join(...parts: string[]): string {
  return parts.filter((p) => p !== "" && p !== ".").join("/");
}

export function generationsPath(root: string): string {
  return join(root, "generations");
}

export function generationPath(root: string, generation: string): string {
  return join(root, "generations", generation);
}

export function snapshotsPath(root: string, generation: string): string {
  return join(root, "generations", generation, "snapshots");
}

export function walPath(root: string, generation: string): string {
  return join(root, "generations", generation, "wal");
}

export function snapshotPath(root: string, generation: string, index: number): string {
  return join(snapshotsPath(root, generation), snapshotName(index));
}

export function walSegmentPath(root: string, generation: string, index: number, offset: number): string {
  return join(walPath(root, generation), walSegmentName(index, offset));
}

/** Orders positions by (index, offset): listings are sorted by the client, never assumed sorted. */
export function compareIndexOffset(
  a: { index: number; offset: number },
  b: { index: number; offset: number },
): number {
  return a.index - b.index || a.offset - b.offset;
}
