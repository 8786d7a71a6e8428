/**
 * Mutation operators for the fuzz targets: byte-level (bit flips, interesting values, truncation,
 * insertion, deletion, duplication, splicing with another corpus entry) and text-level (characters,
 * dictionary tokens, line splices). Every operator is driven by the case's Rng, so a case replays exactly.
 */
import type { Rng } from "./harness.ts";

const INTERESTING_U8 = [0x00, 0x01, 0x0f, 0x10, 0x7f, 0x80, 0xfe, 0xff];
const INTERESTING_U32 = [
  0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x200, 0x1000, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000,
  0xfffffffe, 0xffffffff,
];

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function putU32(b: Uint8Array, at: number, v: number, littleEndian: boolean): void {
  for (let i = 0; i < 4; i++) {
    const shift = littleEndian ? 8 * i : 24 - 8 * i;
    if (at + i < b.length) b[at + i] = (v >>> shift) & 0xff;
  }
}

/** One random byte-level mutation of `input` (a new array; `input` is not changed). */
export function mutateBytesOnce(rng: Rng, input: Uint8Array, others: readonly Uint8Array[] = []): Uint8Array {
  const b = input.slice();
  const n = b.length;
  const at = () => rng.int(Math.max(1, n));
  switch (rng.int(12)) {
    case 0: // flip one bit
      if (n > 0) b[at()]! ^= 1 << rng.int(8);
      return b;
    case 1: // a random or interesting byte
      if (n > 0) b[at()] = rng.chance(0.5) ? rng.u32() & 0xff : rng.pick(INTERESTING_U8);
      return b;
    case 2: {
      // an interesting 32-bit value, either byte order, or the old value plus or minus a little
      if (n === 0) return b;
      const p = at();
      const le = rng.chance(0.5);
      let v = rng.pick(INTERESTING_U32);
      if (rng.chance(0.3) && p + 4 <= n) {
        const old = le
          ? (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0
          : ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
        v = (old + rng.range(-16, 16)) >>> 0;
      }
      putU32(b, p, v, le);
      return b;
    }
    case 3: // truncate
      return b.slice(0, rng.int(n + 1));
    case 4: // truncate a little
      return b.slice(0, Math.max(0, n - 1 - rng.small(64)));
    case 5: {
      // insert random bytes
      const p = rng.int(n + 1);
      return concat([b.subarray(0, p), rng.bytes(1 + rng.small(64)), b.subarray(p)]);
    }
    case 6: {
      // delete a range
      const p = rng.int(n + 1);
      return concat([b.subarray(0, p), b.subarray(Math.min(n, p + 1 + rng.small(256)))]);
    }
    case 7: {
      // duplicate a range in place
      const p = rng.int(n + 1);
      const len = rng.small(Math.max(0, n - p));
      return concat([b.subarray(0, p + len), b.subarray(p, p + len), b.subarray(p + len)]);
    }
    case 8: {
      // overwrite a range with a copy of another range
      if (n < 2) return b;
      const from = rng.int(n);
      const to = rng.int(n);
      const len = Math.min(rng.small(n), n - from, n - to);
      b.copyWithin(to, from, from + len);
      return b;
    }
    case 9: {
      // splice: a prefix of this input and a suffix of another corpus entry
      const other = others.length > 0 ? rng.pick(others) : input;
      return concat([b.subarray(0, rng.int(n + 1)), other.subarray(rng.int(other.length + 1))]);
    }
    case 10: // append random bytes or zeros
      return concat([
        b,
        rng.chance(0.5) ? rng.bytes(1 + rng.small(512)) : new Uint8Array(1 + rng.small(512)),
      ]);
    default: {
      // fill a range with one value
      const p = at();
      b.fill(rng.pick(INTERESTING_U8), p, Math.min(n, p + 1 + rng.small(64)));
      return b;
    }
  }
}

/** 1 to `max` stacked byte mutations (mostly few). */
export function mutateBytes(
  rng: Rng,
  input: Uint8Array,
  others: readonly Uint8Array[] = [],
  max = 8,
): Uint8Array {
  let out = input;
  const rounds = 1 + Math.min(max - 1, rng.chance(0.5) ? 0 : rng.small(max - 1));
  for (let i = 0; i < rounds; i++) out = mutateBytesOnce(rng, out, others);
  return out;
}

/**
 * The same bytes, sometimes as a view into a larger buffer at an odd offset: catches code that reads
 * `b.buffer` without `b.byteOffset`.
 */
export function maybeOffsetView(rng: Rng, bytes: Uint8Array): Uint8Array {
  if (!rng.chance(0.25)) return bytes;
  const pad = 1 + rng.int(15);
  const big = new Uint8Array(pad + bytes.length + rng.int(16));
  big.fill(0xa5);
  big.set(bytes, pad);
  return big.subarray(pad, pad + bytes.length);
}

// ---------------------------------------------------------------------------------------------------------
// Text
// ---------------------------------------------------------------------------------------------------------

const ODD_CHARS = [
  "\0",
  "\t",
  "\n",
  "\r",
  "\r\n",
  "\u000b",
  "\u001b",
  " ",
  "\u00a0",
  "\u2028",
  "\ufeff",
  "\ud800",
  "\udfff",
  "😀",
  "é",
  "ß",
  "µ",
  "\u03bc",
  "İ",
  "％",
  "／",
  "．",
  "\u0301",
];

/** A random character: mostly printable ASCII, sometimes controls, unicode or lone surrogates. */
export function randomChar(rng: Rng): string {
  const r = rng.float();
  if (r < 0.75) return String.fromCharCode(rng.range(0x20, 0x7e));
  if (r < 0.95) return rng.pick(ODD_CHARS);
  return String.fromCharCode(rng.int(0x10000));
}

export function randomString(rng: Rng, maxLength: number, alphabet?: string): string {
  const len = rng.small(maxLength);
  let s = "";
  for (let i = 0; i < len; i++) s += alphabet ? alphabet[rng.int(alphabet.length)]! : randomChar(rng);
  return s;
}

/** One random text mutation; `tokens` are dictionary words likely to matter to the parser. */
export function mutateTextOnce(
  rng: Rng,
  input: string,
  tokens: readonly string[],
  others: readonly string[] = [],
): string {
  const n = input.length;
  const p = rng.int(n + 1);
  switch (rng.int(10)) {
    case 0: // insert a character
      return input.slice(0, p) + randomChar(rng) + input.slice(p);
    case 1: // replace a character
      return input.slice(0, p) + randomChar(rng) + input.slice(p + 1);
    case 2: // delete a range
      return input.slice(0, p) + input.slice(p + 1 + rng.small(32));
    case 3: // insert a token
    case 4:
      return input.slice(0, p) + rng.pick(tokens) + input.slice(p);
    case 5: {
      // replace a range with a token
      return input.slice(0, p) + rng.pick(tokens) + input.slice(p + 1 + rng.small(16));
    }
    case 6: {
      // duplicate a range
      const len = rng.small(Math.max(0, n - p));
      return input.slice(0, p + len) + input.slice(p, p + len) + input.slice(p + len);
    }
    case 7: {
      // splice with another corpus entry
      const other = others.length > 0 ? rng.pick(others) : input;
      return input.slice(0, p) + other.slice(rng.int(other.length + 1));
    }
    case 8: // truncate
      return input.slice(0, p);
    default: {
      // change case of a range
      const len = 1 + rng.small(16);
      const part = input.slice(p, p + len);
      return (
        input.slice(0, p) + (rng.chance(0.5) ? part.toUpperCase() : part.toLowerCase()) + input.slice(p + len)
      );
    }
  }
}

export function mutateText(
  rng: Rng,
  input: string,
  tokens: readonly string[],
  others: readonly string[] = [],
  max = 6,
): string {
  let out = input;
  const rounds = 1 + Math.min(max - 1, rng.chance(0.5) ? 0 : rng.small(max - 1));
  for (let i = 0; i < rounds; i++) out = mutateTextOnce(rng, out, tokens, others);
  return out;
}

/** Line-level mutation for line-based formats (YAML): drop, duplicate, swap, re-indent or splice lines. */
export function mutateLines(rng: Rng, input: string, others: readonly string[] = []): string {
  const lines = input.split("\n");
  const i = rng.int(lines.length);
  switch (rng.int(6)) {
    case 0:
      lines.splice(i, 1 + rng.small(3));
      break;
    case 1:
      lines.splice(i, 0, ...lines.slice(i, i + 1 + rng.small(4)));
      break;
    case 2: {
      const j = rng.int(lines.length);
      [lines[i], lines[j]] = [lines[j] ?? "", lines[i] ?? ""];
      break;
    }
    case 3: {
      const line = lines[i] ?? "";
      lines[i] = rng.chance(0.5) ? " ".repeat(1 + rng.small(8)) + line : line.replace(/^ {1,4}/, "");
      break;
    }
    case 4: {
      const other = others.length > 0 ? rng.pick(others) : input;
      const otherLines = other.split("\n");
      const j = rng.int(otherLines.length);
      lines.splice(i, rng.small(2), ...otherLines.slice(j, j + 1 + rng.small(6)));
      break;
    }
    default:
      lines[i] = `${lines[i] ?? ""}${rng.chance(0.5) ? " #" : ":"}${randomString(rng, 12)}`;
  }
  return lines.join("\n");
}
