/**
 * xxHash32 with seed 0: the checksum of the LZ4 frame format, and of walship's own records stored beside
 * it. Pure: imports nothing from the runtime.
 */
import { readU32LE } from "./bytes.ts";
import { wasmKernels } from "./wasm-kernels.ts";

const PRIME32_1 = 0x9e3779b1;
const PRIME32_2 = 0x85ebca77;
const PRIME32_3 = 0xc2b2ae3d;
const PRIME32_4 = 0x27d4eb2f;
const PRIME32_5 = 0x165667b1;
const XXH32_STRIPE = 16;
/** Below this many bytes the JavaScript loop is cheaper than a call into WebAssembly. */
const WASM_MIN_BYTES = 4096;

function rotl32(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

/** Streaming xxHash32 with seed 0, for the encoder, which sees its input in pieces. */
export class Xxh32 {
  private v1 = (PRIME32_1 + PRIME32_2) | 0;
  private v2 = PRIME32_2 | 0;
  private v3 = 0;
  private v4 = -PRIME32_1 | 0;
  private total = 0;
  private readonly buffer = new Uint8Array(XXH32_STRIPE);
  private buffered = 0;

  update(data: Uint8Array): this {
    const n = data.length;
    let i = 0;
    this.total += n;
    if (this.buffered > 0) {
      i = Math.min(XXH32_STRIPE - this.buffered, n);
      this.buffer.set(data.subarray(0, i), this.buffered);
      this.buffered += i;
      if (this.buffered < XXH32_STRIPE) return this;
      this.stripes(this.buffer, 0, XXH32_STRIPE);
      this.buffered = 0;
    }
    const end = n - ((n - i) % XXH32_STRIPE);
    if (end > i) this.stripes(data, i, end);
    this.buffer.set(data.subarray(end), 0);
    this.buffered = n - end;
    return this;
  }

  digest(): number {
    let h =
      this.total >= XXH32_STRIPE
        ? rotl32(this.v1, 1) + rotl32(this.v2, 7) + rotl32(this.v3, 12) + rotl32(this.v4, 18)
        : PRIME32_5;
    h = (h + this.total) | 0;
    const b = this.buffer;
    let i = 0;
    for (; i + 4 <= this.buffered; i += 4) {
      h = Math.imul(rotl32((h + Math.imul(readU32LE(b, i), PRIME32_3)) | 0, 17), PRIME32_4);
    }
    for (; i < this.buffered; i++) {
      h = Math.imul(rotl32((h + Math.imul(b[i]!, PRIME32_5)) | 0, 11), PRIME32_1);
    }
    h = Math.imul(h ^ (h >>> 15), PRIME32_2);
    h = Math.imul(h ^ (h >>> 13), PRIME32_3);
    return (h ^ (h >>> 16)) >>> 0;
  }

  /** Consumes whole 16-byte stripes of `b[start, end)`. */
  private stripes(b: Uint8Array, start: number, end: number): void {
    const kernels = end - start >= WASM_MIN_BYTES ? wasmKernels() : null;
    if (kernels) {
      const v = Uint32Array.of(this.v1, this.v2, this.v3, this.v4);
      kernels.xxh32Stripes(v, b.subarray(start, end));
      [this.v1, this.v2, this.v3, this.v4] = [v[0]! | 0, v[1]! | 0, v[2]! | 0, v[3]! | 0];
      return;
    }
    let { v1, v2, v3, v4 } = this;
    for (let i = start; i < end; i += XXH32_STRIPE) {
      v1 = Math.imul(rotl32((v1 + Math.imul(readU32LE(b, i), PRIME32_2)) | 0, 13), PRIME32_1);
      v2 = Math.imul(rotl32((v2 + Math.imul(readU32LE(b, i + 4), PRIME32_2)) | 0, 13), PRIME32_1);
      v3 = Math.imul(rotl32((v3 + Math.imul(readU32LE(b, i + 8), PRIME32_2)) | 0, 13), PRIME32_1);
      v4 = Math.imul(rotl32((v4 + Math.imul(readU32LE(b, i + 12), PRIME32_2)) | 0, 13), PRIME32_1);
    }
    this.v1 = v1;
    this.v2 = v2;
    this.v3 = v3;
    this.v4 = v4;
  }
}

export type Xxh32Function = (data: Uint8Array) => number;

/**
 * One-shot xxHash32 (seed 0). Bun's native `Bun.hash.xxHash32` computes the same value ~3x faster than the
 * JS version; it is found through globalThis so this module imports nothing from the runtime.
 */
export const xxh32: Xxh32Function = (() => {
  const native = (
    globalThis as { Bun?: { hash?: { xxHash32?: (data: Uint8Array, seed?: number) => number } } }
  ).Bun?.hash?.xxHash32;
  if (typeof native === "function") return (data) => native(data, 0) >>> 0;
  return (data) => new Xxh32().update(data).digest();
})();
