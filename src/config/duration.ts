/**
 * Go `time.ParseDuration`, the syntax of every interval in litestream.yml (`1s`, `1h30m`, `1.5m`).
 * There is no `d` unit, as in Go. Results are in milliseconds.
 */

const NS_PER_UNIT: ReadonlyMap<string, bigint> = new Map([
  ["ns", 1n],
  ["us", 1_000n],
  ["\u00b5s", 1_000n], // MICRO SIGN, as Go accepts
  ["\u03bcs", 1_000n], // GREEK SMALL LETTER MU, as Go accepts
  ["ms", 1_000_000n],
  ["s", 1_000_000_000n],
  ["m", 60_000_000_000n],
  ["h", 3_600_000_000_000n],
]);

// Go durations are int64 nanoseconds; larger values are an error there, so they are here too.
const MAX_NS = (1n << 63n) - 1n;

const NUMBER_PART = /^(\d*)(?:\.(\d*))?/;
const UNIT_PART = /^[^\d.]+/;

export type DurationResult = { ms: number } | { problem: string; overflow: boolean };

/**
 * Parses a Go duration string such as `300ms`, `-1.5h` or `2h45m` and returns milliseconds
 * (fractional below 1 ms; whole nanoseconds, truncated, as in Go).
 *
 * @throws SyntaxError when the text is not a duration; RangeError when it overflows Go's range
 */
export function parseDuration(text: string): number {
  const result = tryParseDuration(text);
  if ("ms" in result) return result.ms;
  const message = `Cannot parse duration "${text}": ${result.problem}`;
  throw result.overflow ? new RangeError(message) : new SyntaxError(message);
}

/** Like `parseDuration`, but returns what is wrong instead of throwing. */
export function tryParseDuration(text: string): DurationResult {
  let rest = text;
  let negative = false;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    negative = rest.startsWith("-");
    rest = rest.slice(1);
  }
  if (rest === "0") return { ms: 0 };
  if (rest === "") return { problem: "it is empty", overflow: false };

  let totalNs = 0n;
  while (rest !== "") {
    const number = NUMBER_PART.exec(rest);
    const whole = number?.[1] ?? "";
    const fraction = number?.[2] ?? "";
    if (whole === "" && fraction === "") {
      return { problem: `expected a number at "${rest}"`, overflow: false };
    }
    rest = rest.slice(number?.[0].length ?? 0);

    const unit = UNIT_PART.exec(rest)?.[0];
    if (unit === undefined) return { problem: "a unit is missing (ns, us, ms, s, m or h)", overflow: false };
    const unitNs = NS_PER_UNIT.get(unit);
    if (unitNs === undefined) {
      return { problem: `unknown unit "${unit}" (use ns, us, ms, s, m or h)`, overflow: false };
    }
    rest = rest.slice(unit.length);

    totalNs += BigInt(whole === "" ? "0" : whole) * unitNs;
    if (fraction !== "") totalNs += (BigInt(fraction) * unitNs) / 10n ** BigInt(fraction.length);
    // Go allows one more nanosecond on the negative side (math.MinInt64).
    if (totalNs > MAX_NS + (negative ? 1n : 0n)) {
      return { problem: "it is longer than about 292 years", overflow: true };
    }
  }
  const ms = Number(totalNs) / 1e6;
  return { ms: negative && ms !== 0 ? -ms : ms };
}
