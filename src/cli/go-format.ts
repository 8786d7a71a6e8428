/**
 * Values printed the way Litestream (Go) prints them in its listing commands, so that output and the
 * scripts parsing it stay interchangeable: `time.Duration.String()`, the `generations` lag truncation,
 * and `time.RFC3339` in UTC. Durations are bigint nanoseconds, Go's own unit, so nothing is rounded.
 */

const NS_PER_US = 1_000n;
const NS_PER_MS = 1_000_000n;
const NS_PER_S = 1_000_000_000n;

/** Go's `time.Duration.String()`: `0s`, `123ns`, `1.5µs`, `2.25ms`, `1.5s`, `1m0s`, `2h3m4s`, `-104h48m2s`. */
export function formatGoDuration(ns: bigint): string {
  if (ns === 0n) return "0s";
  const sign = ns < 0n ? "-" : "";
  const u = ns < 0n ? -ns : ns;
  if (u < NS_PER_S) {
    // Below a second Go picks the largest unit that keeps an integer part, and prints a fraction.
    if (u < NS_PER_US) return `${sign}${u}ns`;
    if (u < NS_PER_MS) return `${sign}${fraction(u, 3)}µs`;
    return `${sign}${fraction(u, 6)}ms`;
  }
  const seconds = u / NS_PER_S;
  let text = `${fraction(u % (60n * NS_PER_S), 9)}s`;
  const minutes = seconds / 60n;
  if (minutes > 0n) {
    text = `${minutes % 60n}m${text}`;
    const hours = minutes / 60n;
    if (hours > 0n) text = `${hours}h${text}`;
  }
  return sign + text;
}

/** `v / 10^digits` with the fraction's trailing zeros (and a bare dot) removed, as Go's fmtFrac does. */
function fraction(v: bigint, digits: number): string {
  const scale = 10n ** BigInt(digits);
  const frac = (v % scale).toString().padStart(digits, "0").replace(/0+$/, "");
  return frac ? `${v / scale}.${frac}` : `${v / scale}`;
}

/**
 * Litestream's `truncateDuration` for the `generations` lag: to whole seconds above 10 s, tenths above
 * 1 s, milliseconds above 1 ms, microseconds above 1 µs, mirrored for negative lags. Go's Truncate
 * rounds toward zero, as bigint `%` does.
 */
export function truncateLag(ns: bigint): bigint {
  const abs = ns < 0n ? -ns : ns;
  const step =
    abs > 10n * NS_PER_S
      ? NS_PER_S
      : abs > NS_PER_S
        ? NS_PER_S / 10n
        : abs > NS_PER_MS
          ? NS_PER_MS
          : abs > NS_PER_US
            ? NS_PER_US
            : 1n;
  return ns - (ns % step);
}

/** Go's `t.UTC().Format(time.RFC3339)`: no fractional seconds (they are cut, not rounded). */
export function formatRfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, "Z");
}

/** Nanoseconds between two times (`a - b`), for lags; Dates carry milliseconds. */
export function nanosBetween(a: Date, b: Date): bigint {
  return BigInt(a.getTime() - b.getTime()) * NS_PER_MS;
}
