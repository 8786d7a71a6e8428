/**
 * Fuzz target: the LZ4 frame decoder (src/format/lz4-frame.ts, decodeLz4Frame with maxOutputBytes). Inputs
 * are frames from encodeLz4Frame, the Litestream 0.3.13 fixture files, and hand-built frames using every
 * feature the format has (block checksums, content size, 64 KiB to 4 MiB blocks, stored blocks, dependent
 * blocks, skippable frames); mutated, sometimes re-sealed (header, block and content checksums and the
 * content size recomputed after the mutation, so the block decoder sees the damage), and random bytes.
 *
 * The decoder may only return output no longer than maxOutputBytes that equals what an independent,
 * deliberately plain reference decoder produces, or throw Lz4FormatError (RangeError only for invalid
 * options). It must never reject a frame the reference decodes within the limit. The streaming decoder
 * (decodeLz4FrameStream, which restore uses for snapshots) must agree with it chunk for chunk, never
 * handing over more than the limit even when it fails part way. WAL segments with capture times in front
 * (format/capture-times.ts) are in the corpus too, and their reader is checked on every input.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { compressBlock } from "lz4js";
import { concatBytes } from "../../../src/format/bytes.ts";
import {
  type CaptureTime,
  CaptureTimesError,
  encodeCaptureTimes,
  readCaptureTimes,
} from "../../../src/format/capture-times.ts";
import {
  decodeLz4Frame,
  decodeLz4FrameStream,
  encodeLz4Frame,
  Lz4FormatError,
} from "../../../src/format/lz4-frame.ts";
import { check, type FuzzCtx, type FuzzTarget, PropertyError, type Rng } from "../harness.ts";
import { maybeOffsetView, mutateBytes } from "../mutate.ts";

const FIXTURES = path.join(import.meta.dirname, "../../fixtures/litestream-0.3.13/generations");
const MAGIC = 0x184d2204;
const KiB = 1024;
const MiB = 1024 * KiB;

interface Sample {
  frame: Uint8Array;
  content: Uint8Array;
  /** The capture times a WAL segment carries in front of its frame, when it does. */
  times?: CaptureTime[];
}

interface Corpus {
  samples: Sample[];
  frames: Uint8Array[];
}

const xxh32 = (b: Uint8Array): number => Bun.hash.xxHash32(b, 0);

function u32le(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return b;
}

// ---- corpus ---------------------------------------------------------------------------------------------

function patterned(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed | 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    // Runs, repeats and noise: gives the compressor literals, short and long matches.
    const mode = (i >> 9) % 4;
    out[i] = mode === 0 ? 0 : mode === 1 ? i % 7 : mode === 2 ? x & 0xff : (x & 3) + 65;
  }
  return out;
}

interface FrameOptions {
  blockSizeIndex?: 4 | 5 | 6 | 7;
  blockChecksum?: boolean;
  contentSize?: boolean;
  contentChecksum?: boolean;
  independent?: boolean;
  /** Store every n-th block uncompressed. */
  storeEvery?: number;
  skippable?: Uint8Array;
}

/** A frame built by hand, with whatever features `o` asks for. */
function buildFrame(data: Uint8Array, o: FrameOptions): Uint8Array {
  const sizeIndex = o.blockSizeIndex ?? 4;
  const blockMax = 1 << (2 * sizeIndex + 8);
  const flg =
    0x40 |
    (o.independent === false ? 0 : 0x20) |
    (o.blockChecksum ? 0x10 : 0) |
    (o.contentSize ? 0x08 : 0) |
    (o.contentChecksum === false ? 0 : 0x04);
  const descriptor = [flg, sizeIndex << 4];
  if (o.contentSize) descriptor.push(...u32le(data.length), 0, 0, 0, 0);
  const d = Uint8Array.from(descriptor);
  const parts: Uint8Array[] = [];
  if (o.skippable) parts.push(u32le(0x184d2a5a), u32le(o.skippable.length), o.skippable);
  parts.push(u32le(MAGIC), d, Uint8Array.of((xxh32(d) >>> 8) & 0xff));
  const table = new Uint32Array(1 << 16);
  for (let at = 0, i = 0; at < data.length; at += blockMax, i++) {
    const chunk = data.subarray(at, Math.min(data.length, at + blockMax));
    const dst = new Uint8Array(chunk.length + 64);
    table.fill(0);
    const n = o.storeEvery && i % o.storeEvery === 0 ? 0 : compressBlock(chunk, dst, 0, chunk.length, table);
    const body = n > 0 && n < chunk.length ? dst.subarray(0, n) : chunk;
    parts.push(u32le(body === chunk ? 0x80000000 | chunk.length : body.length), body);
    if (o.blockChecksum) parts.push(u32le(xxh32(body)));
  }
  parts.push(u32le(0));
  if (o.contentChecksum !== false) parts.push(u32le(xxh32(data)));
  return concatBytes(parts);
}

/** A dependent-block frame whose second block copies from the first (a match across the block boundary). */
function crossBlockFrame(): Sample {
  const first = patterned(100, 7);
  const d = Uint8Array.of(0x40 | 0x04, 4 << 4); // dependent blocks, content checksum, 64 KiB blocks
  // Block 2: 0 literals + a match of 15+5+4 = 24 bytes at offset 100, then 5 literals.
  const block2 = Uint8Array.of(0x0f, 100, 0, 5, 0x50, 1, 2, 3, 4, 5);
  const content = concatBytes([first, first.subarray(0, 24), Uint8Array.of(1, 2, 3, 4, 5)]);
  const frame = concatBytes([
    u32le(MAGIC),
    d,
    Uint8Array.of((xxh32(d) >>> 8) & 0xff),
    u32le(0x80000000 | first.length),
    first,
    u32le(block2.length),
    block2,
    u32le(0),
    u32le(xxh32(content)),
  ]);
  return { frame, content };
}

function fixtureSamples(): Sample[] {
  const files = fs
    .readdirSync(FIXTURES, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".lz4"))
    .sort();
  return files.map((f) => {
    const frame = new Uint8Array(fs.readFileSync(path.join(FIXTURES, f)));
    return { frame, content: decodeLz4Frame(frame) };
  });
}

function buildCorpus(): Corpus {
  const samples: Sample[] = [];
  for (const [n, seed] of [
    [0, 1],
    [1, 2],
    [13, 3],
    [100, 4],
    [1000, 5],
    [5000, 6],
    [20_000, 7],
  ] as const) {
    const data = patterned(n, seed);
    samples.push({ frame: encodeLz4Frame(data), content: data });
  }
  const text = new TextEncoder().encode("walship replicates SQLite. ".repeat(200));
  samples.push({ frame: encodeLz4Frame(text), content: text });
  const medium = patterned(150_000, 9);
  const variants: FrameOptions[] = [
    { blockSizeIndex: 4, blockChecksum: true, contentSize: true },
    { blockSizeIndex: 4, storeEvery: 2, contentChecksum: false },
    { blockSizeIndex: 5, independent: false, skippable: Uint8Array.of(1, 2, 3) },
    { blockSizeIndex: 6, contentSize: true, contentChecksum: false, blockChecksum: true },
    { blockSizeIndex: 7, skippable: new Uint8Array(0) },
  ];
  for (const v of variants) samples.push({ frame: buildFrame(medium, v), content: medium });
  const small = patterned(3000, 11);
  for (const v of variants) samples.push({ frame: buildFrame(small, v), content: small });
  samples.push(crossBlockFrame());
  samples.push(...fixtureSamples());
  // WAL segments as walship writes them: capture times in a skippable frame in front of the LZ4 frame.
  for (const [n, captures] of [
    [3000, 1],
    [20_000, 5],
    [150_000, 40],
  ] as const) {
    const data = patterned(n, n);
    const times = Array.from({ length: captures }, (_, i) => ({
      end: Math.floor(((i + 1) * n) / captures),
      time: 1_760_000_000_000 + i * 7,
    }));
    samples.push({
      frame: concatBytes([encodeCaptureTimes(times), encodeLz4Frame(data)]),
      content: data,
      times,
    });
  }
  return { samples, frames: samples.map((s) => s.frame) };
}

// ---- reference decoder ----------------------------------------------------------------------------------

/** A growable byte buffer. */
class Output {
  private buf = new Uint8Array(1024);
  length = 0;

  push(byte: number): void {
    if (this.length === this.buf.length) {
      const grown = new Uint8Array(this.buf.length * 2);
      grown.set(this.buf);
      this.buf = grown;
    }
    this.buf[this.length++] = byte;
  }

  at(i: number): number {
    return this.buf[i]!;
  }

  bytes(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

type RefResult = { ok: true; out: Uint8Array } | { ok: false; why: string };

/**
 * A plain LZ4 frame decoder written from the format description, with the decoder's documented policy:
 * skippable frames may precede the frame, dictionary IDs are unsupported, nothing may follow the frame, a
 * block must end with literals. `limit`: stop with "too-big" once the output passes it. `lenient`: skip
 * the content size and content checksum checks (used to re-seal mutated frames).
 */
function reference(b: Uint8Array, limit: number, lenient = false): RefResult & { contentSizeAt?: number } {
  const rd = (i: number) => (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
  const fail = (why: string): RefResult => ({ ok: false, why });
  let pos = 0;
  for (;;) {
    if (pos + 4 > b.length) return fail("no magic");
    const magic = rd(pos);
    if (magic === MAGIC) break;
    if (magic >>> 4 !== 0x184d2a5) return fail("bad magic");
    if (pos + 8 > b.length) return fail("short skippable");
    const size = rd(pos + 4);
    if (pos + 8 + size > b.length) return fail("short skippable");
    pos += 8 + size;
  }
  pos += 4;
  const dStart = pos;
  if (pos + 2 > b.length) return fail("short descriptor");
  const flg = b[pos]!;
  const bd = b[pos + 1]!;
  if (flg >> 6 !== 1 || flg & 0x02 || flg & 0x01 || bd & 0x8f) return fail("bad descriptor");
  const sizeIndex = (bd >> 4) & 7;
  if (sizeIndex < 4) return fail("bad block size");
  const blockMax = 2 ** (8 + 2 * sizeIndex);
  pos += 2;
  let contentSize: number | undefined;
  let contentSizeAt: number | undefined;
  if (flg & 0x08) {
    if (pos + 8 > b.length) return fail("short content size");
    contentSizeAt = pos;
    contentSize = rd(pos) + rd(pos + 4) * 2 ** 32;
    pos += 8;
  }
  if (pos + 1 > b.length) return fail("short header checksum");
  if (b[pos] !== ((xxh32(b.subarray(dStart, pos)) >>> 8) & 0xff)) return fail("header checksum");
  pos += 1;
  const out = new Output();
  for (;;) {
    if (pos + 4 > b.length) return fail("short block header");
    const header = rd(pos);
    pos += 4;
    if (header === 0) break;
    const size = header & 0x7fffffff;
    if (size > blockMax) return fail("block too large");
    const dataEnd = pos + size;
    if (dataEnd + (flg & 0x10 ? 4 : 0) > b.length) return fail("short block");
    if (flg & 0x10 && rd(dataEnd) !== xxh32(b.subarray(pos, dataEnd))) return fail("block checksum");
    const blockStart = out.length;
    if (header & 0x80000000) {
      for (let i = pos; i < dataEnd; i++) out.push(b[i]!);
      if (out.length > limit) return fail("too-big");
    } else {
      const windowStart = flg & 0x20 ? blockStart : 0;
      let s = pos;
      for (;;) {
        const token = b[s++]!;
        let lit = token >> 4;
        if (lit === 15) {
          for (;;) {
            if (s >= dataEnd) return fail("literal length");
            const x = b[s++]!;
            lit += x;
            if (x !== 255) break;
          }
        }
        if (s + lit > dataEnd) return fail("literals overrun");
        for (let i = 0; i < lit; i++) out.push(b[s++]!);
        if (out.length - blockStart > blockMax || out.length > limit) return fail("too-big");
        if (s === dataEnd) break;
        if (s + 2 > dataEnd) return fail("short offset");
        const offset = b[s]! | (b[s + 1]! << 8);
        s += 2;
        if (offset === 0 || offset > out.length - windowStart) return fail("bad offset");
        let len = token & 15;
        if (len === 15) {
          for (;;) {
            if (s >= dataEnd) return fail("match length");
            const x = b[s++]!;
            len += x;
            if (x !== 255) break;
          }
        }
        len += 4;
        if (out.length + len - blockStart > blockMax || out.length + len > limit) return fail("too-big");
        const from = out.length - offset;
        for (let i = 0; i < len; i++) out.push(out.at(from + i));
        if (s >= dataEnd) return fail("ends with a match");
      }
    }
    if (out.length - blockStart > blockMax || out.length > limit) return fail("too-big");
    pos = dataEnd + (flg & 0x10 ? 4 : 0);
  }
  const content = out.bytes();
  if (!lenient && contentSize !== undefined && contentSize !== content.length) return fail("content size");
  if (flg & 0x04) {
    if (pos + 4 > b.length) return fail("short content checksum");
    if (!lenient && rd(pos) !== xxh32(content)) return fail("content checksum");
    pos += 4;
  }
  if (pos !== b.length) return fail("trailing data");
  return { ok: true, out: content, ...(contentSizeAt === undefined ? {} : { contentSizeAt }) };
}

/** Makes a mutated frame's checksums and content size consistent again, where its structure allows. */
function reseal(b: Uint8Array): Uint8Array {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let pos = 0;
  while (pos + 8 <= b.length && view.getUint32(pos, true) >>> 4 === 0x184d2a5) {
    pos += 8 + view.getUint32(pos + 4, true);
  }
  if (pos + 7 > b.length || view.getUint32(pos, true) !== MAGIC) return b;
  const dStart = pos + 4;
  const flg = b[dStart]!;
  const hcAt = dStart + 2 + (flg & 0x08 ? 8 : 0);
  if (hcAt >= b.length) return b;
  const fixHc = () => {
    b[hcAt] = (xxh32(b.subarray(dStart, hcAt)) >>> 8) & 0xff;
  };
  fixHc();
  // Block checksums.
  let at = hcAt + 1;
  while (at + 4 <= b.length) {
    const header = view.getUint32(at, true);
    if (header === 0) break;
    const size = header & 0x7fffffff;
    const end = at + 4 + size;
    if (flg & 0x10 && end + 4 <= b.length) view.setUint32(end, xxh32(b.subarray(at + 4, end)), true);
    at = end + (flg & 0x10 ? 4 : 0);
  }
  const decoded = reference(b, 4 * MiB, true);
  if (!decoded.ok) return b;
  if (decoded.contentSizeAt !== undefined) {
    view.setUint32(decoded.contentSizeAt, decoded.out.length, true);
    view.setUint32(decoded.contentSizeAt + 4, 0, true);
    fixHc();
  }
  if (flg & 0x04 && b.length >= 4) view.setUint32(b.length - 4, xxh32(decoded.out), true);
  return b;
}

// ---- property -------------------------------------------------------------------------------------------

const LIMITS = [0, 1, 100, 4 * KiB, 64 * KiB, MiB, 16 * MiB, 1024 * MiB];
const BAD_OPTIONS = [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, -0.5];

interface Input {
  bytes: Uint8Array;
  /** The content, when the frame is an unchanged corpus frame. */
  pristine?: Uint8Array;
  /** Its capture times, when it is an unchanged segment that carries them. */
  times?: CaptureTime[];
}

function makeInput(rng: Rng, corpus: Corpus): Input {
  const r = rng.float();
  if (r < 0.05) return { bytes: rng.bytes(rng.small(600)) };
  if (r < 0.1) {
    // A valid header followed by random block bytes.
    const header = buildFrame(new Uint8Array(0), {
      blockSizeIndex: rng.pick([4, 5, 6, 7] as const),
    }).subarray(0, 7);
    return { bytes: concatBytes([header, rng.bytes(rng.small(400))]) };
  }
  const sample = rng.pick(corpus.samples);
  if (r < 0.16) {
    return {
      bytes: sample.frame.slice(),
      pristine: sample.content,
      ...(sample.times ? { times: sample.times } : {}),
    };
  }
  const mutated = mutateBytes(rng, sample.frame, corpus.frames);
  return { bytes: r < 0.55 ? reseal(mutated) : mutated };
}

type Outcome = { ok: true; out: Uint8Array } | { ok: false; err: unknown };

function wholeFrame(bytes: Uint8Array, opts: Parameters<typeof decodeLz4Frame>[1]): Outcome {
  try {
    return { ok: true, out: decodeLz4Frame(bytes, opts) };
  } catch (err) {
    return { ok: false, err };
  }
}

/** Same class, message and (for format errors) offset. */
function sameError(a: unknown, b: unknown): boolean {
  if (!(a instanceof Error) || !(b instanceof Error) || a.constructor !== b.constructor) return false;
  const offset = (e: Error) => (e instanceof Lz4FormatError ? e.offset : -1);
  return a.message === b.message && offset(a) === offset(b);
}

/**
 * decodeLz4FrameStream on the same input: its chunks, copied (a chunk is only valid during the call), must
 * concatenate to what decodeLz4Frame returns, none longer than a 4 MiB block, never more in all than the
 * limit (even when it fails part way), and the returned count must equal their total.
 */
function streamed(bytes: Uint8Array, maxOutputBytes: number | undefined, limit: number): Outcome {
  const chunks: Uint8Array[] = [];
  let emitted = 0;
  try {
    const total = decodeLz4FrameStream(
      bytes,
      (chunk) => {
        check(chunk.length <= 4 * MiB, `a ${chunk.length}-byte chunk is larger than any block`);
        emitted += chunk.length;
        check(emitted <= limit, `the stream handed over ${emitted} bytes, past the ${limit}-byte limit`);
        chunks.push(chunk.slice());
      },
      maxOutputBytes === undefined ? {} : { maxOutputBytes },
    );
    check(total === emitted, `decodeLz4FrameStream returned ${total} after handing over ${emitted} bytes`);
  } catch (err) {
    if (err instanceof PropertyError) throw err;
    return { ok: false, err };
  }
  return { ok: true, out: concatBytes(chunks) };
}

function property(ctx: FuzzCtx, corpus: Corpus): string {
  const { rng } = ctx;
  const input = makeInput(rng, corpus);
  const bytes = maybeOffsetView(rng, input.bytes);
  const badOption = rng.chance(0.02);
  let badMax = false;
  let maxOutputBytes: number | undefined = rng.chance(0.1) ? undefined : rng.pick(LIMITS);
  if (input.pristine && rng.chance(0.3)) maxOutputBytes = input.pristine.length - rng.int(2);
  if (maxOutputBytes !== undefined && maxOutputBytes < 0) maxOutputBytes = 0;
  let expectedSize: number | undefined = rng.chance(0.2)
    ? rng.pick([0, 1, 1000, 2 ** 31, 2 ** 40, bytes.length * 300])
    : undefined;
  if (badOption) {
    badMax = rng.chance(0.5);
    if (badMax) maxOutputBytes = rng.pick(BAD_OPTIONS);
    else expectedSize = rng.pick(BAD_OPTIONS);
  }
  const opts = {
    ...(maxOutputBytes === undefined ? {} : { maxOutputBytes }),
    ...(expectedSize === undefined ? {} : { expectedSize }),
  };
  ctx.input({ frameHex: Buffer.from(bytes).toString("hex"), opts });
  const limit = maxOutputBytes ?? 1024 * MiB;
  checkCaptureTimes(bytes, input.times);

  // The streaming decoder takes no expectedSize: it must agree with the whole-frame decoder given the same
  // limit (or, when only expectedSize is invalid, with what the frame itself deserves).
  const stream = streamed(bytes, maxOutputBytes, badMax ? 0 : limit);
  if (badMax) {
    check(!stream.ok && stream.err instanceof RangeError, "decodeLz4FrameStream accepted an invalid limit");
  } else if (!stream.ok) {
    check(
      stream.err instanceof Lz4FormatError,
      () => `decodeLz4FrameStream threw ${String(stream.err)}, not an Lz4FormatError`,
    );
  }

  // The JavaScript block decoder must agree with the WebAssembly one (the default) exactly: same bytes,
  // or the same error at the same offset.
  const js = wholeFrame(bytes, { ...opts, decoder: "js" });
  let out: Uint8Array;
  try {
    out = decodeLz4Frame(bytes, opts);
  } catch (err) {
    check(
      !js.ok && sameError(js.err, err),
      () =>
        `the JavaScript decoder gave ${js.ok ? `${js.out.length} bytes` : String(js.err)}, WebAssembly ${String(err)}`,
    );
    if (badOption) {
      check(err instanceof RangeError, () => `invalid option ${JSON.stringify(opts)} gave ${String(err)}`);
      return "bad-option";
    }
    check(err instanceof Lz4FormatError, () => `threw ${String(err)}, not an Lz4FormatError`);
    check(
      Number.isInteger(err.offset) && err.offset >= 0 && err.offset <= bytes.length,
      `Lz4FormatError offset ${err.offset} is outside the ${bytes.length}-byte input`,
    );
    check(!input.pristine || input.pristine.length > limit, `rejected an unchanged frame: ${err.message}`);
    const ref = reference(bytes, limit);
    check(
      !ref.ok,
      () => `rejected a frame the reference decodes to ${ref.ok ? ref.out.length : 0} bytes: ${err.message}`,
    );
    check(!stream.ok, "decodeLz4FrameStream accepted a frame decodeLz4Frame rejects");
    return /output limit/.test(err.message) ? "rejected-limit" : "rejected";
  }
  check(
    js.ok && Buffer.from(js.out).equals(Buffer.from(out)),
    () => `the JavaScript decoder gave ${js.ok ? "other bytes" : String(js.err)} where WebAssembly decoded`,
  );
  check(!badOption, `accepted invalid options ${JSON.stringify(opts)}`);
  check(out.length <= limit, `output of ${out.length} bytes passes maxOutputBytes ${limit}`);
  if (input.pristine) {
    check(Buffer.from(out).equals(Buffer.from(input.pristine)), "an unchanged frame decoded to other bytes");
  }
  const ref = reference(bytes, limit);
  check(
    ref.ok,
    () => `decoded ${out.length} bytes from a frame the reference rejects (${ref.ok ? "" : ref.why})`,
  );
  check(Buffer.from(out).equals(Buffer.from(ref.out)), "output differs from the reference decoder's");
  check(
    stream.ok,
    () =>
      `decodeLz4FrameStream rejected a frame decodeLz4Frame decodes: ${stream.ok ? "" : String(stream.err)}`,
  );
  check(
    Buffer.from(stream.out).equals(Buffer.from(out)),
    "the streamed chunks differ from decodeLz4Frame's output",
  );
  return input.pristine ? "decoded-pristine" : "decoded-mutated";
}

/**
 * The capture-time records in front of a segment (readCaptureTimes): on any input it returns null, or
 * records whose ends increase and whose times are numbers, or throws CaptureTimesError; an unchanged
 * segment gives back exactly what was written.
 */
function checkCaptureTimes(bytes: Uint8Array, written: CaptureTime[] | undefined): void {
  let times: CaptureTime[] | null;
  try {
    times = readCaptureTimes(bytes);
  } catch (err) {
    check(err instanceof CaptureTimesError, () => `readCaptureTimes threw ${String(err)}`);
    check(written === undefined, "readCaptureTimes refused the records of an unchanged segment");
    return;
  }
  if (written)
    check(JSON.stringify(times) === JSON.stringify(written), "capture times differ from those written");
  for (const [i, t] of (times ?? []).entries()) {
    check(
      Number.isInteger(t.end) && t.end > (times![i - 1]?.end ?? 0),
      `capture-time end ${t.end} out of order`,
    );
    check(Number.isFinite(t.time), `capture time ${t.time} is not a number`);
  }
}

export const target: FuzzTarget<Corpus> = { prepare: buildCorpus, property };
