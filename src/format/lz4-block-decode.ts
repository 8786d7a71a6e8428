/**
 * Decoding one LZ4 block, in WebAssembly (wasm-kernels.ts) where it loads and in JavaScript elsewhere,
 * with the same results and errors either way: every read, write and back-reference is bounds-checked.
 * Pure.
 */
// biome-ignore-all lint/style/noNonNullAssertion: byte reads are bounds-checked by the surrounding logic; `!` only undoes noUncheckedIndexedAccess in hot loops.
import { Lz4FormatError, MIN_MATCH, SHORT_COPY } from "./lz4-frame-format.ts";
import { type WasmKernels, wasmKernels } from "./wasm-kernels.ts";

/** Returned by decodeBlock when the output would pass its limit. */
export const OUTPUT_LIMIT_REACHED = -1;

/**
 * Decodes one LZ4 block `src[s, sEnd)` into `dst` at `d`, writing nothing at or past `dLimit`. Matches may
 * reach back to `windowStart`. Returns the output end, or OUTPUT_LIMIT_REACHED. Unlike lz4js's
 * decompressBlock it bounds-checks every read, write and back-reference, so hostile blocks cannot read
 * outside the input or fabricate bytes.
 */
function decodeBlock(
  src: Uint8Array,
  s: number,
  sEnd: number,
  dst: Uint8Array,
  d: number,
  dLimit: number,
  windowStart: number,
): number {
  for (;;) {
    const token = src[s++]!;
    let literals = token >>> 4;
    if (literals === 15) {
      let b: number;
      do {
        if (s >= sEnd) throw new Lz4FormatError("block ends inside a literal length", s);
        b = src[s++]!;
        literals += b;
      } while (b === 255);
    }
    if (literals > 0) {
      if (literals > sEnd - s) throw new Lz4FormatError("literal run overruns the block", s);
      if (literals > dLimit - d) return OUTPUT_LIMIT_REACHED;
      if (literals < SHORT_COPY) {
        const end = s + literals;
        while (s < end) dst[d++] = src[s++]!;
      } else {
        dst.set(src.subarray(s, s + literals), d);
        s += literals;
        d += literals;
      }
    }
    if (s === sEnd) return d; // a block ends with a literal-only sequence
    if (sEnd - s < 2) throw new Lz4FormatError("block ends inside a match offset", s);
    const offset = src[s]! | (src[s + 1]! << 8);
    if (offset === 0) throw new Lz4FormatError("match offset is zero", s);
    if (offset > d - windowStart) {
      throw new Lz4FormatError(`match offset ${offset} reaches before the start of the available output`, s);
    }
    s += 2;
    let length = token & 15;
    if (length === 15) {
      let b: number;
      do {
        if (s >= sEnd) throw new Lz4FormatError("block ends inside a match length", s);
        b = src[s++]!;
        length += b;
      } while (b === 255);
    }
    length += MIN_MATCH;
    if (length > dLimit - d) return OUTPUT_LIMIT_REACHED;
    let m = d - offset;
    if (length < SHORT_COPY) {
      const end = d + length;
      while (d < end) dst[d++] = dst[m++]!;
    } else if (offset >= length) {
      dst.copyWithin(d, m, m + length);
      d += length;
    } else {
      // Overlapping copy of a repeating pattern: each pass copies everything written since `m`, doubling.
      const end = d + length;
      while (d < end) {
        const n = Math.min(d - m, end - d);
        dst.copyWithin(d, m, m + n);
        d += n;
      }
    }
    if (s >= sEnd) throw new Lz4FormatError("block ends with a match instead of literals", s);
  }
}

/** decodeBlock over one block's bytes, reporting errors at their offset in the whole frame. */
export function decodeBlockAt(
  block: Uint8Array,
  blockOffset: number,
  dst: Uint8Array,
  d: number,
  dLimit: number,
  windowStart: number,
): number {
  try {
    return decodeBlock(block, 0, block.length, dst, d, dLimit, windowStart);
  } catch (err) {
    if (!(err instanceof Lz4FormatError)) throw err;
    throw new Lz4FormatError(err.problem, blockOffset + err.offset);
  }
}

/**
 * Which block decoder decodes: `wasm` (the default) uses the WebAssembly one where it loads and the
 * JavaScript one elsewhere; `js` forces the JavaScript one (tests compare the two).
 */
export type BlockDecoderChoice = "wasm" | "js";

/** The WebAssembly decoder for one frame, or null (not available, or a frame decoding on this thread has it). */
export function claimWasm(): WasmKernels | null {
  const kernels = wasmKernels();
  return kernels?.claimDecoder() ? kernels : null;
}

/** What each negative result of the WebAssembly decoder means, as decodeBlock words it. */
const WASM_ERRORS: Readonly<Record<number, (value: number) => string>> = {
  [-2]: () => "block ends inside a literal length",
  [-3]: () => "literal run overruns the block",
  [-4]: () => "block ends inside a match offset",
  [-5]: () => "match offset is zero",
  [-6]: (offset) => `match offset ${offset} reaches before the start of the available output`,
  [-7]: () => "block ends inside a match length",
  [-8]: () => "block ends with a match instead of literals",
};

/** decodeBlockAt with the WebAssembly decoder: same results, same errors at the same offsets. */
export function decodeBlockWasm(
  wasm: WasmKernels,
  block: Uint8Array,
  blockOffset: number,
  d: number,
  dLimit: number,
  windowStart: number,
): number {
  const end = wasm.decodeBlock(block, d, dLimit, windowStart);
  if (end >= 0 || end === OUTPUT_LIMIT_REACHED) return end;
  const message = WASM_ERRORS[end];
  if (!message) throw new Error(`lz4 wasm: unknown result ${end}`);
  throw new Lz4FormatError(message(wasm.errorValue), blockOffset + wasm.errorOffset);
}

/**
 * Decodes one independent block (`stored`: kept uncompressed) of at most `blockMaxSize` bytes into the
 * start of `out` (at least blockMaxSize long) and returns its length: what a worker thread does with one
 * block of a large frame, into memory it shares with the thread that asked. Errors are at offsets in `data`.
 */
export function decodeLz4BlockInto(
  data: Uint8Array,
  stored: boolean,
  blockMaxSize: number,
  out: Uint8Array,
): number {
  if (out.length < blockMaxSize)
    throw new RangeError("decodeLz4BlockInto: the output is smaller than a block");
  if (stored) {
    if (data.length > blockMaxSize) {
      throw new Lz4FormatError(
        `stored block of ${data.length} bytes exceeds the maximum block size of ${blockMaxSize}`,
        0,
      );
    }
    out.set(data);
    return data.length;
  }
  const wasm = claimWasm();
  try {
    const end = wasm
      ? decodeBlockWasm(wasm, data, 0, 0, Math.min(blockMaxSize, wasm.work.length), 0)
      : decodeBlockAt(data, 0, out, 0, blockMaxSize, 0);
    if (end === OUTPUT_LIMIT_REACHED) throw blockTooLarge(blockMaxSize);
    if (wasm) out.set(wasm.work.subarray(0, end));
    return end;
  } finally {
    wasm?.releaseDecoder();
  }
}

function blockTooLarge(blockMaxSize: number): Lz4FormatError {
  return new Lz4FormatError(`block decompresses to more than the maximum block size of ${blockMaxSize}`, 0);
}
