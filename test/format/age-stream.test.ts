/**
 * age's payload and its cipher: both ChaCha20-Poly1305s (the WebAssembly kernel and the host's libcrypto)
 * agree with @noble/ciphers (the one typage uses) on every size around a block and a chunk, at any
 * offset of the output, and the STREAM sealer and opener round-trip any
 * split of any size while refusing every altered, cut or extended payload.
 */
import { describe, expect, test } from "bun:test";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import {
  AGE_CHUNK_BYTES,
  AGE_SEALED_CHUNK_BYTES,
  AgeFormatError,
  AgeStreamOpener,
  agePlainSize,
  ageSealedSize,
  chunkNonce,
  openAgeChunks,
  sealAgePayload,
} from "../../src/format/age-stream.ts";
import { concatBytes } from "../../src/format/bytes.ts";
import { wasmKernels } from "../../src/format/wasm-kernels.ts";
import { libcryptoAead } from "../../src/runtime/libcrypto-aead.ts";
import { pseudoRandomBytes } from "../helpers/pseudo-random.ts";

const kernels = wasmKernels()!;
const key = pseudoRandomBytes(32, 7);

const native = libcryptoAead();
if (!native && !process.env.CI)
  console.warn(
    "SKIPPED: the libcrypto cipher checks need OpenSSL 3 (libcrypto.so.3). Try: apt-get install -y libssl3",
  );

for (const [name, cipher] of [
  ["WebAssembly kernel", kernels],
  ["libcrypto through FFI", native],
] as const) {
  describe.skipIf(!cipher && !process.env.CI)(`ChaCha20-Poly1305: ${name}`, () => {
    const kernels = cipher!;
    const sizes = [...Array.from({ length: 130 }, (_, i) => i), 1000, 4095, 4096, 65_535, AGE_CHUNK_BYTES];
    test("seals as @noble/ciphers does, and opens what it seals", () => {
      for (const size of sizes) {
        const nonce = pseudoRandomBytes(12, size + 1);
        const plain = pseudoRandomBytes(size, size + 2);
        const expected = chacha20poly1305(key, nonce).encrypt(plain);
        const sealed = new Uint8Array(size + 16);
        kernels.seal(key, nonce, plain, sealed, 0);
        expect({ size, same: Buffer.compare(sealed, expected) }).toEqual({ size, same: 0 });
        const opened = new Uint8Array(size);
        expect(kernels.open(key, nonce, expected, opened, 0)).toBe(true);
        expect(Buffer.compare(opened, plain)).toBe(0);
        // Views into larger buffers, at odd offsets, as the payload code passes them.
        const wide = new Uint8Array(size + 16 + 7);
        kernels.seal(key, nonce, plain, wide, 7);
        expect(Buffer.compare(wide.subarray(7), expected)).toBe(0);
        const within = new Uint8Array(size + 16 + 3);
        within.set(expected, 3);
        const at5 = new Uint8Array(size + 5);
        expect(kernels.open(key, nonce, within.subarray(3), at5, 5)).toBe(true);
        expect(Buffer.compare(at5.subarray(5), plain)).toBe(0);
      }
    });

    test("refuses every single flipped bit, and a wrong key or nonce", () => {
      const nonce = pseudoRandomBytes(12, 3);
      const plain = pseudoRandomBytes(200, 4);
      const sealed = chacha20poly1305(key, nonce).encrypt(plain);
      const out = new Uint8Array(200).fill(0xee);
      for (let bit = 0; bit < sealed.length * 8; bit++) {
        const bad = sealed.slice();
        bad[bit >> 3]! ^= 1 << (bit & 7);
        expect(kernels.open(key, nonce, bad, out, 0)).toBe(false);
      }
      // Nothing is released from a chunk that does not authenticate.
      expect(out.every((b) => b === 0xee)).toBe(true);
      expect(kernels.open(pseudoRandomBytes(32, 9), nonce, sealed, out, 0)).toBe(false);
      expect(kernels.open(key, chunkNonce(0, true), sealed, out, 0)).toBe(false);
    });
  });
}

describe("age STREAM", () => {
  const open = (payload: Uint8Array, pieces: number[] = [payload.length]): Uint8Array => {
    const opener = new AgeStreamOpener(kernels, key);
    const out: Uint8Array[] = [];
    const keep = (p: Uint8Array) => out.push(p.slice());
    let at = 0;
    for (const n of pieces) {
      opener.push(payload.subarray(at, at + n), keep);
      at += n;
    }
    opener.push(payload.subarray(at), keep);
    opener.finish(keep);
    return concatBytes(out);
  };

  test("round-trips every size around the chunk boundaries, in any split", () => {
    let seed = 11;
    for (const size of [
      0,
      1,
      100,
      AGE_CHUNK_BYTES - 1,
      AGE_CHUNK_BYTES,
      AGE_CHUNK_BYTES + 1,
      3 * AGE_CHUNK_BYTES,
    ]) {
      const plain = pseudoRandomBytes(size, seed++);
      const payload = sealAgePayload(kernels, key, plain);
      expect(payload.length).toBe(ageSealedSize(size));
      const splits = pseudoRandomBytes(8, seed++).map((b) => b * 97);
      expect(Buffer.compare(open(payload), plain)).toBe(0);
      expect(Buffer.compare(open(payload, [...splits]), plain)).toBe(0);
    }
  });

  test("any run of chunks opens on its own, and the plaintext size follows from the sealed size", () => {
    for (const size of [1, AGE_CHUNK_BYTES, 5 * AGE_CHUNK_BYTES + 7]) {
      const plain = pseudoRandomBytes(size, size);
      const payload = sealAgePayload(kernels, key, plain);
      expect(agePlainSize(payload.length)).toBe(size);
      const chunks = Math.ceil(size / AGE_CHUNK_BYTES);
      const out = new Uint8Array(size);
      // Open it back to front, two chunks at a time, as workers may.
      for (let first = Math.floor((chunks - 1) / 2) * 2; first >= 0; first -= 2) {
        const last = Math.min(chunks, first + 2);
        const sealed = payload.subarray(first * AGE_SEALED_CHUNK_BYTES, last * AGE_SEALED_CHUNK_BYTES);
        const n = openAgeChunks(
          kernels,
          key,
          sealed,
          first,
          last === chunks,
          out.subarray(first * AGE_CHUNK_BYTES),
        );
        expect(n).toBe(Math.min(size, last * AGE_CHUNK_BYTES) - first * AGE_CHUNK_BYTES);
      }
      expect(Buffer.compare(out, plain)).toBe(0);
      // The final chunk opened as if more followed, or an inner one as the last: both refused.
      expect(() => openAgeChunks(kernels, key, payload, 0, false, new Uint8Array(size))).toThrow(
        AgeFormatError,
      );
    }
    expect([0, 15, AGE_SEALED_CHUNK_BYTES + 16, AGE_SEALED_CHUNK_BYTES + 3].map(agePlainSize)).toEqual([
      null,
      null,
      null,
      null,
    ]);
    expect(agePlainSize(16)).toBe(0);
  });

  test("nonces: an 11-byte big-endian counter, then the last-chunk flag", () => {
    expect([...chunkNonce(0, false)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect([...chunkNonce(258, true)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 1]);
  });

  test("a payload cut at a chunk boundary, cut inside a chunk, extended, reordered or emptied is refused", () => {
    const plain = pseudoRandomBytes(2 * AGE_CHUNK_BYTES + 500, 5);
    const payload = sealAgePayload(kernels, key, plain);
    const first = payload.subarray(0, AGE_SEALED_CHUNK_BYTES);
    const second = payload.subarray(AGE_SEALED_CHUNK_BYTES, 2 * AGE_SEALED_CHUNK_BYTES);
    const third = payload.subarray(2 * AGE_SEALED_CHUNK_BYTES);
    const cases: [string, Uint8Array][] = [
      ["cut at a chunk boundary", payload.subarray(0, 2 * AGE_SEALED_CHUNK_BYTES)],
      ["cut inside a chunk", payload.subarray(0, payload.length - 1)],
      ["cut inside a tag", payload.subarray(0, 2 * AGE_SEALED_CHUNK_BYTES + 7)],
      ["extended", concatBytes([payload, new Uint8Array(1)])],
      ["chunks swapped", concatBytes([second, first, third])],
      ["a chunk repeated", concatBytes([first, first, second, third])],
      ["emptied", new Uint8Array(0)],
      [
        "an empty chunk after full ones",
        concatBytes([first, second, sealAgePayload(kernels, key, new Uint8Array(0))]),
      ],
    ];
    for (const [what, bad] of cases) {
      expect({ what, error: errorOf(() => open(bad)) }).toEqual({ what, error: "AgeFormatError" });
    }
  });
});

function errorOf(fn: () => unknown): string {
  try {
    fn();
    return "none";
  } catch (err) {
    return err instanceof AgeFormatError ? err.name : String(err);
  }
}
