/**
 * walship's hot loops compiled to WebAssembly (build/wasm/kernels.c, embedded as base64): the LZ4 block
 * decoder, with the same bounds-checked contract as the JavaScript decodeBlock, and xxHash32's stripe
 * loop. Linear memory holds one input block (also the checksum's scratch) and a work area (the 64 KiB
 * back-reference window plus one 4 MiB block); the frame decoder decodes straight into the work area,
 * so only compressed bytes are copied in. Where WebAssembly is missing, callers use their JavaScript.
 */
import { WASM_KERNELS_BASE64 } from "./wasm-kernels.generated.ts";

/** The largest LZ4 block (4 MiB) and the back-reference window of dependent blocks (64 KiB). */
const MAX_BLOCK = 4 * 1024 * 1024;
const WINDOW = 64 * 1024;
const PAGE = 64 * 1024;
/** The module's own data and stack sit below its heap base, within these bytes. */
const RESERVED = 4 * PAGE;

interface Exports {
  lz4_decode_block(
    src: number,
    sEnd: number,
    dst: number,
    d: number,
    dLimit: number,
    windowStart: number,
  ): number;
  lz4_error_offset(): number;
  lz4_error_value(): number;
  lz4_heap_base(): number;
  xxh32_state(): number;
  xxh32_stripes(p: number, len: number): void;
}

export class WasmKernels {
  /** The decoder's work area, WINDOW + MAX_BLOCK bytes; what is written there stays between calls. */
  readonly work: Uint8Array;
  private readonly scratch: Uint8Array;
  private readonly xxhState: Uint32Array;
  private decoding = false;

  private constructor(
    private readonly exports: Exports,
    private readonly memory: WebAssembly.Memory,
    base: number,
  ) {
    this.scratch = new Uint8Array(memory.buffer, base, MAX_BLOCK);
    this.work = new Uint8Array(memory.buffer, base + MAX_BLOCK, WINDOW + MAX_BLOCK);
    this.xxhState = new Uint32Array(memory.buffer, exports.xxh32_state(), 4);
  }

  static create(): WasmKernels {
    const bytes = Uint8Array.from(atob(WASM_KERNELS_BASE64), (c) => c.charCodeAt(0));
    const memory = new WebAssembly.Memory({ initial: (RESERVED + 2 * MAX_BLOCK + WINDOW) / PAGE });
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
    const exports = instance.exports as unknown as Exports;
    const base = exports.lz4_heap_base();
    if (base > RESERVED)
      throw new Error(`wasm kernels: heap base ${base} above the reserved ${RESERVED} bytes`);
    return new WasmKernels(exports, memory, base);
  }

  /** Takes the block decoder for one frame; false while a frame on this thread holds it (a nested decode). */
  claimDecoder(): boolean {
    if (this.decoding) return false;
    this.decoding = true;
    return true;
  }

  releaseDecoder(): void {
    this.decoding = false;
  }

  /**
   * Decodes `block` into `work[d, dLimit)`, matches reaching back to `windowStart`. Returns the output end,
   * -1 when the output would pass dLimit, or another negative code with `errorOffset`/`errorValue` set.
   */
  decodeBlock(block: Uint8Array, d: number, dLimit: number, windowStart: number): number {
    if (block.length > MAX_BLOCK || dLimit > this.work.length)
      throw new RangeError("wasm kernels: block too large");
    this.scratch.set(block);
    return this.exports.lz4_decode_block(
      this.scratch.byteOffset,
      block.length,
      this.work.byteOffset,
      d,
      dLimit,
      windowStart,
    );
  }

  get errorOffset(): number {
    return this.exports.lz4_error_offset();
  }

  get errorValue(): number {
    return this.exports.lz4_error_value();
  }

  /**
   * Runs xxHash32's stripe loop over the whole 16-byte stripes of `data` from the accumulators `v`, which
   * it updates. Bytes already in linear memory (the decoder's output) are read in place; others are
   * copied into the scratch area a block at a time.
   */
  xxh32Stripes(v: Uint32Array, data: Uint8Array): void {
    const state = this.xxhState;
    state.set(v);
    const length = data.length & ~15;
    if (data.buffer === this.memory.buffer) {
      this.exports.xxh32_stripes(data.byteOffset, length);
    } else {
      for (let at = 0; at < length; at += MAX_BLOCK) {
        const piece = data.subarray(at, Math.min(length, at + MAX_BLOCK));
        this.scratch.set(piece);
        this.exports.xxh32_stripes(this.scratch.byteOffset, piece.length);
      }
    }
    v.set(state);
  }
}

let shared: WasmKernels | null | undefined;

/** This thread's kernels; null where WebAssembly is not available. */
export function wasmKernels(): WasmKernels | null {
  if (shared === undefined) {
    try {
      shared = WasmKernels.create();
    } catch {
      shared = null;
    }
  }
  return shared;
}
