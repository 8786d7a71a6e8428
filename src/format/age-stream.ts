/**
 * age v1's payload (age-encryption.org/v1, "Payload"): after the header, a 16-byte nonce, then the
 * plaintext in 64 KiB chunks, each sealed with ChaCha20-Poly1305 under the payload key, the chunk's
 * nonce being its 11-byte big-endian counter and a last-chunk flag. Only the final chunk may be short, it
 * is empty only when the whole plaintext is, and its flag is what proves the file was not cut short.
 * Pure: the cipher is passed in (the WebAssembly kernel), the keys are derived by the caller.
 */
import { concatBytes } from "./bytes.ts";

export const AGE_CHUNK_BYTES = 64 * 1024;
export const AGE_TAG_BYTES = 16;
export const AGE_SEALED_CHUNK_BYTES = AGE_CHUNK_BYTES + AGE_TAG_BYTES;
/** The payload's own nonce, the salt of the payload key. */
export const AGE_PAYLOAD_NONCE_BYTES = 16;

/** ChaCha20-Poly1305 with no associated data, writing into the caller's buffer. */
export interface Aead {
  seal(key: Uint8Array, nonce: Uint8Array, plain: Uint8Array, out: Uint8Array, at: number): void;
  /** false when the tag does not match (nothing written). */
  open(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, out: Uint8Array, at: number): boolean;
}

/** The payload is not what age writes: cut short, extended, or altered. */
export class AgeFormatError extends Error {
  override name = "AgeFormatError";
  /** Stable, as walship's other errors have one (errors/walship-error.ts, which this pure module may not import). */
  readonly code = "age-payload-invalid";
}

/** The nonce of chunk `counter`. */
export function chunkNonce(counter: number, last: boolean): Uint8Array {
  const nonce = new Uint8Array(12);
  // 2^53 chunks is far beyond any object; the top bytes stay zero.
  let c = counter;
  for (let i = 10; i >= 0 && c > 0; i--) {
    nonce[i] = c % 256;
    c = Math.floor(c / 256);
  }
  nonce[11] = last ? 1 : 0;
  return nonce;
}

/** The size of the sealed chunks of `plainSize` bytes (without the payload nonce). */
export function ageSealedSize(plainSize: number): number {
  const chunks = Math.max(1, Math.ceil(plainSize / AGE_CHUNK_BYTES));
  return plainSize + chunks * AGE_TAG_BYTES;
}

/**
 * Seals a plaintext given piece by piece. A full chunk is sealed only once more plaintext follows it,
 * since whether it is the last decides its nonce.
 */
export class AgeStreamSealer {
  private readonly pending = new Uint8Array(AGE_CHUNK_BYTES);
  private filled = 0;
  private counter = 0;

  constructor(
    private readonly aead: Aead,
    private readonly payloadKey: Uint8Array,
  ) {}

  /** Sealed chunks completed by `data` (none while the current chunk is not yet known not to be last). */
  push(data: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let at = 0; at < data.length; ) {
      if (this.filled === AGE_CHUNK_BYTES) out.push(this.seal(false));
      const n = Math.min(AGE_CHUNK_BYTES - this.filled, data.length - at);
      this.pending.set(data.subarray(at, at + n), this.filled);
      this.filled += n;
      at += n;
    }
    return out;
  }

  /** The final chunk. */
  finish(): Uint8Array {
    return this.seal(true);
  }

  private seal(last: boolean): Uint8Array {
    const sealed = new Uint8Array(this.filled + AGE_TAG_BYTES);
    this.aead.seal(
      this.payloadKey,
      chunkNonce(this.counter++, last),
      this.pending.subarray(0, this.filled),
      sealed,
      0,
    );
    this.filled = 0;
    return sealed;
  }
}

/** Seals a whole plaintext: the chunks, without the payload nonce. */
export function sealAgePayload(aead: Aead, payloadKey: Uint8Array, plain: Uint8Array): Uint8Array {
  const sealer = new AgeStreamSealer(aead, payloadKey);
  return concatBytes([...sealer.push(plain), sealer.finish()]);
}

/**
 * Opens sealed chunks given piece by piece (the payload after its nonce). A chunk is opened once it is
 * known whether more follows; `finish` opens the last and fails unless it carries the last-chunk flag.
 */
export class AgeStreamOpener {
  private readonly pending = new Uint8Array(AGE_SEALED_CHUNK_BYTES);
  private filled = 0;
  private counter = 0;
  private readonly plain = new Uint8Array(AGE_CHUNK_BYTES);

  constructor(
    private readonly aead: Aead,
    private readonly payloadKey: Uint8Array,
  ) {}

  /**
   * Calls `sink` with each chunk's plaintext opened thanks to `data` (valid only during the call, the
   * buffer is reused).
   */
  push(data: Uint8Array, sink: (plain: Uint8Array) => void): void {
    for (let at = 0; at < data.length; ) {
      if (this.filled === AGE_SEALED_CHUNK_BYTES) sink(this.open(false));
      const n = Math.min(AGE_SEALED_CHUNK_BYTES - this.filled, data.length - at);
      this.pending.set(data.subarray(at, at + n), this.filled);
      this.filled += n;
      at += n;
    }
  }

  /** Opens the final chunk. */
  finish(sink: (plain: Uint8Array) => void): void {
    if (this.filled < AGE_TAG_BYTES) {
      throw new AgeFormatError(
        this.counter === 0 && this.filled === 0
          ? "the payload has no chunk"
          : `the payload ends inside chunk ${this.counter} (cut short)`,
      );
    }
    if (this.filled === AGE_TAG_BYTES && this.counter > 0)
      throw new AgeFormatError("the payload ends with an empty chunk after others");
    sink(this.open(true));
  }

  private open(last: boolean): Uint8Array {
    const size = this.filled - AGE_TAG_BYTES;
    const ok = this.aead.open(
      this.payloadKey,
      chunkNonce(this.counter, last),
      this.pending.subarray(0, this.filled),
      this.plain,
      0,
    );
    if (!ok) {
      throw new AgeFormatError(
        last
          ? `chunk ${this.counter} does not authenticate as the last one (altered, or cut short at a chunk boundary)`
          : `chunk ${this.counter} does not authenticate (altered)`,
      );
    }
    this.counter++;
    this.filled = 0;
    return this.plain.subarray(0, size);
  }
}

/** The plaintext size of sealed chunks of `sealedSize` bytes, or null when no payload has that size. */
export function agePlainSize(sealedSize: number): number | null {
  const full = Math.floor(sealedSize / AGE_SEALED_CHUNK_BYTES);
  const rest = sealedSize % AGE_SEALED_CHUNK_BYTES;
  if (rest === 0) return full > 0 ? full * AGE_CHUNK_BYTES : null;
  // A final chunk shorter than its tag, or empty after full ones, is not one age writes.
  if (rest < AGE_TAG_BYTES || (rest === AGE_TAG_BYTES && full > 0)) return null;
  return full * AGE_CHUNK_BYTES + rest - AGE_TAG_BYTES;
}

/**
 * Opens consecutive sealed chunks of a payload, numbered from `firstChunk`, into `out` (a chunk's
 * plaintext at its index times AGE_CHUNK_BYTES); the last of them is the payload's final chunk when
 * `final`. Returns the plaintext's length. Independent of the other chunks, so a payload can be opened
 * in pieces on several threads.
 */
export function openAgeChunks(
  aead: Aead,
  payloadKey: Uint8Array,
  sealed: Uint8Array,
  firstChunk: number,
  final: boolean,
  out: Uint8Array,
): number {
  let written = 0;
  for (let at = 0, chunk = firstChunk; at < sealed.length; at += AGE_SEALED_CHUNK_BYTES, chunk++) {
    const piece = sealed.subarray(at, at + AGE_SEALED_CHUNK_BYTES);
    const last = final && at + AGE_SEALED_CHUNK_BYTES >= sealed.length;
    if (piece.length < AGE_TAG_BYTES || (!last && piece.length < AGE_SEALED_CHUNK_BYTES))
      throw new AgeFormatError(`the payload ends inside chunk ${chunk} (cut short)`);
    if (!aead.open(payloadKey, chunkNonce(chunk, last), piece, out, written)) {
      throw new AgeFormatError(
        last
          ? `chunk ${chunk} does not authenticate as the last one (altered, or cut short at a chunk boundary)`
          : `chunk ${chunk} does not authenticate (altered)`,
      );
    }
    written += piece.length - AGE_TAG_BYTES;
  }
  return written;
}
