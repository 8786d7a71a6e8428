/**
 * ChaCha20-Poly1305 from the host's OpenSSL 3 (`libcrypto.so.3`) through `bun:ffi` (Deno.dlopen under
 * Deno), where there is one: measured 3.5 GB/s per core against 375 MB/s for the WebAssembly kernel (JavaScriptCore's SIMD code is
 * ~2.4x behind native), which made an encrypted restore CPU-bound on the cipher. The executable never
 * needs it: where the library, FFI or Linux is missing, this returns null and callers use the kernel.
 * One cipher context per thread (workers load their own).
 */
import type { Aead } from "../format/age-stream.ts";
import { deno } from "./deno-api.ts";
import { IS_BUN } from "./host.ts";

const TAG_BYTES = 16;
/** EVP_CTRL_AEAD_GET_TAG and EVP_CTRL_AEAD_SET_TAG, from OpenSSL's evp.h. */
const GET_TAG = 0x10;
const SET_TAG = 0x11;

let loaded: Aead | null | undefined;

/** This thread's native AEAD, or null where there is none (set WALSHIP_AEAD=wasm to refuse it). */
export function libcryptoAead(): Aead | null {
  if (loaded === undefined) {
    try {
      loaded = process.env.WALSHIP_AEAD === "wasm" || process.platform !== "linux" ? null : load();
    } catch {
      loaded = null;
    }
  }
  return loaded;
}

/** An opaque native pointer, or a byte array turned into one: a number under Bun, an object under Deno. */
type Ptr = unknown;

/** The libcrypto functions used, as both runtimes' FFI calls them once bound. */
interface Evp {
  EVP_CIPHER_CTX_new(): Ptr;
  EVP_chacha20_poly1305(): Ptr;
  EVP_EncryptInit_ex(ctx: Ptr, cipher: Ptr, engine: null, key: Ptr, iv: Ptr): number;
  EVP_EncryptUpdate(ctx: Ptr, out: Ptr, outl: Ptr, input: Ptr, inl: number): number;
  EVP_EncryptFinal_ex(ctx: Ptr, out: Ptr, outl: Ptr): number;
  EVP_DecryptInit_ex(ctx: Ptr, cipher: Ptr, engine: null, key: Ptr, iv: Ptr): number;
  EVP_DecryptUpdate(ctx: Ptr, out: Ptr, outl: Ptr, input: Ptr, inl: number): number;
  EVP_DecryptFinal_ex(ctx: Ptr, out: Ptr, outl: Ptr): number;
  EVP_CIPHER_CTX_ctrl(ctx: Ptr, type: number, arg: number, ptr: Ptr): number;
}

function load(): Aead | null {
  return IS_BUN ? bindBun() : bindDeno();
}

function bindBun(): Aead | null {
  // Loaded lazily: bun:ffi exists only under Bun.
  const { dlopen, FFIType, ptr } = require("bun:ffi") as typeof import("bun:ffi");
  const { ptr: p, i32 } = FFIType;
  const init = { args: [p, p, p, p, p], returns: i32 } as const;
  const update = { args: [p, p, p, p, i32], returns: i32 } as const;
  const final = { args: [p, p, p], returns: i32 } as const;
  const { symbols } = dlopen("libcrypto.so.3", {
    EVP_CIPHER_CTX_new: { args: [], returns: p },
    EVP_chacha20_poly1305: { args: [], returns: p },
    EVP_EncryptInit_ex: init,
    EVP_EncryptUpdate: update,
    EVP_EncryptFinal_ex: final,
    EVP_DecryptInit_ex: init,
    EVP_DecryptUpdate: update,
    EVP_DecryptFinal_ex: final,
    EVP_CIPHER_CTX_ctrl: { args: [p, i32, i32, p], returns: i32 },
  });
  return aeadOver(symbols as unknown as Evp, ptr);
}

function bindDeno(): Aead | null {
  if (!deno) return null;
  // Byte arrays go in as "buffer" (Deno passes their address); contexts and ciphers as "pointer".
  const init = { parameters: ["pointer", "pointer", "pointer", "buffer", "buffer"], result: "i32" } as const;
  const update = { parameters: ["pointer", "buffer", "buffer", "buffer", "i32"], result: "i32" } as const;
  const final = { parameters: ["pointer", "buffer", "buffer"], result: "i32" } as const;
  const { symbols } = deno.dlopen("libcrypto.so.3", {
    EVP_CIPHER_CTX_new: { parameters: [], result: "pointer" },
    EVP_chacha20_poly1305: { parameters: [], result: "pointer" },
    EVP_EncryptInit_ex: init,
    EVP_EncryptUpdate: update,
    EVP_EncryptFinal_ex: final,
    EVP_DecryptInit_ex: init,
    EVP_DecryptUpdate: update,
    EVP_DecryptFinal_ex: final,
    EVP_CIPHER_CTX_ctrl: { parameters: ["pointer", "i32", "i32", "buffer"], result: "i32" },
  });
  return aeadOver(symbols as unknown as Evp, (bytes) => bytes);
}

/** The AEAD over bound libcrypto functions; `ptr` turns a byte array into a pointer argument. */
function aeadOver(c: Evp, ptr: (bytes: Uint8Array | Int32Array) => Ptr): Aead | null {
  const ctx = c.EVP_CIPHER_CTX_new();
  const cipher = c.EVP_chacha20_poly1305();
  if (!ctx || !cipher) return null;
  const written = new Int32Array(1);
  const tag = new Uint8Array(TAG_BYTES);
  // Plaintext is opened here and copied out only once its tag checks: OpenSSL writes it before.
  let scratch = new Uint8Array(64 * 1024 + TAG_BYTES);
  // A pointer to an empty array is refused; an empty input points here, with a length of 0.
  const spare = new Uint8Array(TAG_BYTES);
  const at = (bytes: Uint8Array) => ptr(bytes.length > 0 ? bytes : spare);
  const ok = (r: number, what: string) => {
    if (r !== 1) throw new Error(`libcrypto ${what} failed`);
  };
  return {
    seal(key, nonce, plain, out, offset) {
      const dst = out.subarray(offset, offset + plain.length + TAG_BYTES);
      ok(c.EVP_EncryptInit_ex(ctx, cipher, null, ptr(key), ptr(nonce)), "EncryptInit");
      ok(c.EVP_EncryptUpdate(ctx, at(dst), ptr(written), at(plain), plain.length), "EncryptUpdate");
      ok(c.EVP_EncryptFinal_ex(ctx, ptr(spare), ptr(written)), "EncryptFinal");
      ok(c.EVP_CIPHER_CTX_ctrl(ctx, GET_TAG, TAG_BYTES, ptr(tag)), "GET_TAG");
      dst.set(tag, plain.length);
    },
    open(key, nonce, sealed, out, offset) {
      if (sealed.length < TAG_BYTES) return false;
      const n = sealed.length - TAG_BYTES;
      if (scratch.length < n) scratch = new Uint8Array(n);
      tag.set(sealed.subarray(n));
      ok(c.EVP_DecryptInit_ex(ctx, cipher, null, ptr(key), ptr(nonce)), "DecryptInit");
      ok(c.EVP_CIPHER_CTX_ctrl(ctx, SET_TAG, TAG_BYTES, ptr(tag)), "SET_TAG");
      ok(c.EVP_DecryptUpdate(ctx, at(scratch), ptr(written), at(sealed), n), "DecryptUpdate");
      if (c.EVP_DecryptFinal_ex(ctx, ptr(spare), ptr(written)) !== 1) return false;
      out.set(scratch.subarray(0, n), offset);
      return true;
    },
  };
}
