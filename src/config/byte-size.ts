/**
 * Sizes in the config (`max-wal-size: 256MiB`): a whole number of bytes, or a number with a unit.
 * Binary units (KiB, MiB, GiB) are powers of 1024, decimal ones (KB, MB, GB) powers of 1000, as their
 * names say; the unit's case does not matter, and a space may separate it from the number.
 */

const UNITS: ReadonlyMap<string, number> = new Map([
  ["b", 1],
  ["kb", 1e3],
  ["mb", 1e6],
  ["gb", 1e9],
  ["tb", 1e12],
  ["kib", 2 ** 10],
  ["mib", 2 ** 20],
  ["gib", 2 ** 30],
  ["tib", 2 ** 40],
]);

const SIZE = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i;

export type ByteSizeResult = { bytes: number } | { problem: string };

/** Parses `text` as a size in bytes (rounded down to a whole byte). */
export function tryParseByteSize(text: string): ByteSizeResult {
  const m = SIZE.exec(text.trim());
  if (!m) return { problem: `"${text}" is not a size` };
  const unit = (m[2] ?? "").toLowerCase();
  const scale = unit === "" ? 1 : UNITS.get(unit);
  if (scale === undefined) return { problem: `unknown unit "${m[2]}" (use B, KiB, MiB, GiB, KB, MB or GB)` };
  const bytes = Math.floor(Number(m[1]) * scale);
  if (!Number.isSafeInteger(bytes)) return { problem: `${text} is too large` };
  return { bytes };
}

/** `268435456` → `256MiB`: the largest binary unit that divides the size, for messages and hints. */
export function formatByteSize(bytes: number): string {
  for (const [unit, scale] of [
    ["GiB", 2 ** 30],
    ["MiB", 2 ** 20],
    ["KiB", 2 ** 10],
  ] as const) {
    if (bytes >= scale && bytes % scale === 0) return `${bytes / scale}${unit}`;
  }
  return `${bytes}B`;
}
