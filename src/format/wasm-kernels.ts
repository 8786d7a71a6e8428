/**
 * walship's hot loops compiled to WebAssembly (build/wasm/*.c, embedded as base64): the LZ4 block
 * decoder, with the same bounds-checked contract as the JavaScript decodeBlock, the LZ4 block compressor
 * (an instance of its own: see WasmLz4Compressor), xxHash32's stripe loop, and ChaCha20-Poly1305 for
 * age's chunks. Linear memory holds one input block (also the checksum's
 * scratch), a work area (the 64 KiB back-reference window plus one 4 MiB block; the frame decoder decodes
 * straight into it, so only compressed bytes are copied in), and the cipher's input and output chunk of
 * its own, so a chunk can be opened while a frame is being decoded. Where WebAssembly is missing, the LZ4
 * and xxHash callers use their JavaScript; the cipher is the fallback of runtime/libcrypto-aead.ts.
 */
import { WASM_KERNELS_BASE64 } from "./wasm-kernels.generated.ts";

/** The largest LZ4 block (4 MiB) and the back-reference window of dependent blocks (64 KiB). */
const MAX_BLOCK = 4 * 1024 * 1024;
const WINDOW = 64 * 1024;
const PAGE = 64 * 1024;
/** The module's own data and stack sit below its heap base, within these bytes. */
const RESERVED = 4 * PAGE;
/** The cipher's chunk areas: one age payload chunk (64 KiB) with its tag fits in either. */
const AEAD_AREA = 2 * PAGE;
/** The largest input the cipher takes in one call. */
export const AEAD_MAX_INPUT = AEAD_AREA;

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
  lz4_compress_block(src: number, len: number, dst: number, table: number): number;
  xxh32_state(): number;
  xxh32_stripes(p: number, len: number): void;
  aead_params(): number;
  aead_seal(src: number, len: number, dst: number): void;
  aead_open(src: number, len: number, dst: number): number;
}

export class WasmKernels {
  /** The decoder's work area, WINDOW + MAX_BLOCK bytes; what is written there stays between calls. */
  readonly work: Uint8Array;
  private readonly scratch: Uint8Array;
  private readonly xxhState: Uint32Array;
  private readonly aeadParams: Uint8Array;
  private readonly aeadIn: Uint8Array;
  private readonly aeadOut: Uint8Array;
  private decoding = false;

  private constructor(
    private readonly exports: Exports,
    private readonly memory: WebAssembly.Memory,
    base: number,
  ) {
    this.scratch = new Uint8Array(memory.buffer, base, MAX_BLOCK);
    this.work = new Uint8Array(memory.buffer, base + MAX_BLOCK, WINDOW + MAX_BLOCK);
    this.xxhState = new Uint32Array(memory.buffer, exports.xxh32_state(), 4);
    this.aeadParams = new Uint8Array(memory.buffer, exports.aead_params(), 44);
    const aead = base + 2 * MAX_BLOCK + WINDOW;
    this.aeadIn = new Uint8Array(memory.buffer, aead, AEAD_AREA);
    this.aeadOut = new Uint8Array(memory.buffer, aead + AEAD_AREA, AEAD_AREA);
  }

  static create(): WasmKernels {
    const { exports, memory, base } = instantiate(2 * MAX_BLOCK + WINDOW + 2 * AEAD_AREA);
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

  /**
   * ChaCha20-Poly1305 (RFC 8439, no associated data): seals `plain` under the 32-byte `key` and 12-byte
   * `nonce` into `out` at `at` (ciphertext, then the 16-byte tag). Up to AEAD_MAX_INPUT - 16 bytes.
   */
  seal(key: Uint8Array, nonce: Uint8Array, plain: Uint8Array, out: Uint8Array, at: number): void {
    if (plain.length + 16 > AEAD_AREA) throw new RangeError("wasm kernels: chunk too large to seal");
    this.setParams(key, nonce);
    this.aeadIn.set(plain);
    this.exports.aead_seal(this.aeadIn.byteOffset, plain.length, this.aeadOut.byteOffset);
    out.set(this.aeadOut.subarray(0, plain.length + 16), at);
  }

  /**
   * Opens `sealed` (ciphertext, then tag) into `out` at `at`; false when the tag does not match, and then
   * nothing is written.
   */
  open(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, out: Uint8Array, at: number): boolean {
    if (sealed.length > AEAD_AREA) throw new RangeError("wasm kernels: chunk too large to open");
    this.setParams(key, nonce);
    this.aeadIn.set(sealed);
    if (this.exports.aead_open(this.aeadIn.byteOffset, sealed.length, this.aeadOut.byteOffset) !== 0)
      return false;
    out.set(this.aeadOut.subarray(0, sealed.length - 16), at);
    return true;
  }

  private setParams(key: Uint8Array, nonce: Uint8Array): void {
    if (key.length !== 32 || nonce.length !== 12) throw new RangeError("wasm kernels: bad key or nonce size");
    this.aeadParams.set(key);
    this.aeadParams.set(nonce, 32);
  }
}

let compiled: WebAssembly.Module | undefined;

/** A new instance of the kernels with `heapBytes` of linear memory above their own data. */
function instantiate(heapBytes: number): { exports: Exports; memory: WebAssembly.Memory; base: number } {
  compiled ??= new WebAssembly.Module(Uint8Array.from(atob(WASM_KERNELS_BASE64), (c) => c.charCodeAt(0)));
  const memory = new WebAssembly.Memory({ initial: Math.ceil((RESERVED + heapBytes) / PAGE) });
  const instance = new WebAssembly.Instance(compiled, { env: { memory } });
  const exports = instance.exports as unknown as Exports;
  const base = exports.lz4_heap_base();
  if (base > RESERVED)
    throw new Error(`wasm kernels: heap base ${base} above the reserved ${RESERVED} bytes`);
  return { exports, memory, base };
}

/** The compressor's worst-case output for one 4 MiB block (compressBound is 4 MiB + 16,465 bytes). */
const COMPRESS_OUTPUT = MAX_BLOCK + PAGE;
/** Its hash table: 2^16 32-bit positions. */
const HASH_TABLE_BYTES = 4 << 16;

/**
 * LZ4 block compression in WebAssembly, ~2x the JavaScript compressBlock with the same output. An instance
 * of its own, so that only threads that compress (replicate's main thread) carry its 8 MiB, and so that
 * compressing never touches the decoder's window, which a streaming decode keeps across awaits.
 */
export class WasmLz4Compressor {
  private constructor(
    private readonly exports: Exports,
    private readonly input: Uint8Array,
    private readonly output: Uint8Array,
    private readonly table: number,
  ) {}

  static create(): WasmLz4Compressor {
    const { exports, memory, base } = instantiate(MAX_BLOCK + COMPRESS_OUTPUT + HASH_TABLE_BYTES);
    const input = new Uint8Array(memory.buffer, base, MAX_BLOCK);
    const output = new Uint8Array(memory.buffer, base + MAX_BLOCK, COMPRESS_OUTPUT);
    return new WasmLz4Compressor(exports, input, output, base + MAX_BLOCK + COMPRESS_OUTPUT);
  }

  /**
   * Compresses `src[start, start + length)` (at most 4 MiB) as one independent block: the compressed bytes
   * (a view of linear memory, valid until the next call), or null when they would not be smaller.
   */
  compress(src: Uint8Array, start: number, length: number): Uint8Array | null {
    if (length > MAX_BLOCK) throw new RangeError("wasm kernels: block too large to compress");
    this.input.set(src.subarray(start, start + length));
    const n = this.exports.lz4_compress_block(
      this.input.byteOffset,
      length,
      this.output.byteOffset,
      this.table,
    );
    return n === 0 ? null : this.output.subarray(0, n);
  }
}

/** `create()` once per thread, on first use; null (and not tried again) where it throws: no WebAssembly. */
function oncePerThread<T>(create: () => T): () => T | null {
  let value: T | null | undefined;
  return () => {
    if (value === undefined) {
      try {
        value = create();
      } catch {
        value = null;
      }
    }
    return value;
  };
}

/** This thread's LZ4 compressor; null where WebAssembly is not available. */
export const wasmLz4Compressor = oncePerThread(() => WasmLz4Compressor.create());

/** This thread's kernels; null where WebAssembly is not available. */
export const wasmKernels = oncePerThread(() => WasmKernels.create());
