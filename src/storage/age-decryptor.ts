/**
 * Reading objects of an age-encrypted replica (Litestream 0.3.13's `age`: every object is
 * `age(lz4 frame)`, names unchanged): in memory for small objects, file to file, streamed, for large
 * ones, so memory does not grow with a snapshot. An object that is not an age file passes through as it
 * is; one that is, read without identities, fails with what to configure instead of "corrupt".
 * typage (age's own TypeScript) unwraps the file key from the header and checks its MAC; the payload is
 * opened by format/age-stream.ts with the WebAssembly ChaCha20-Poly1305, ~3x typage's speed, and for a
 * restore on the decode pool's workers (age-decrypted-source.ts).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Decrypter } from "age-encryption";
import { AGE_HEADER_LIMIT, ageHeaderEnd, isAgeFile } from "../format/age.ts";
import {
  AGE_PAYLOAD_NONCE_BYTES,
  AgeFormatError,
  AgeStreamOpener,
  agePlainSize,
} from "../format/age-stream.ts";
import { concatBytes } from "../format/bytes.ts";
import { arraySource } from "../format/lz4-frame-format.ts";
import { readFileAt, writeAt } from "../io/file-io.ts";
import { aead, payloadKey } from "./age-cipher.ts";
import {
  type AgeChunkOpener,
  bytesCipherInput,
  ChunkMemory,
  type CipherInput,
  DecryptedSource,
  fileCipherInput,
} from "./age-decrypted-source.ts";
import { fileObjectSource, type ObjectSource } from "./object-source.ts";
import { type LocalObject, StorageError } from "./object-store.ts";

/** Enough of the start of an object to recognise an age file. */
const INTRO_BYTES = 32;
/** Ciphertext read at a time from a file: a whole number of sealed chunks' worth, about. */
const READ_BYTES = 1024 * 1024;
/**
 * Objects up to this size are opened on the calling thread: one chunk, where a worker's round trip buys
 * nothing. (At 1 MiB, a restore of 1,201 segments of ~430 KB spent 1.5 s opening them on this thread.)
 */
const ON_THIS_THREAD_MAX_BYTES = 64 * 1024;

/** Numbers decrypted files within the process. */
let decrypted = 0;

export class AgeDecryptor {
  private decrypter: Promise<Decrypter> | undefined;
  /** Whether these identities opened an object already: then one they cannot open is damaged. */
  private opened = false;
  /** Job memory of objects opened on workers, passed from one to the next. */
  private readonly memory = new ChunkMemory();

  /** `identities`: X25519 secret keys, already checked (see format/age-keys.ts); none: read plain only. */
  constructor(private readonly identities: readonly string[]) {}

  get hasIdentities(): boolean {
    return this.identities.length > 0;
  }

  /** The plaintext of `bytes`, the object `key`. */
  async bytes(key: string, bytes: Uint8Array): Promise<Uint8Array> {
    if (!isAgeFile(bytes)) return bytes;
    const d = await this.open(key);
    try {
      const { opener, payloadStart } = await this.payload(d, bytes);
      const pieces: Uint8Array[] = [];
      const keep = (plain: Uint8Array) => pieces.push(plain.slice());
      opener.push(bytes.subarray(payloadStart), keep);
      opener.finish(keep);
      return concatBytes(pieces);
    } catch (err) {
      throw this.failure(key, err);
    }
  }

  /**
   * The plaintext of the object `key`, fetched as `local`, in a file of its own in `tempDir` (never
   * beside the object: a directory replica's file is the object itself); `local` is released.
   */
  async file(key: string, local: LocalObject, tempDir: string): Promise<LocalObject> {
    const opened = await this.openFile(key, local);
    return opened ? this.plainFile(key, local, tempDir, opened) : local;
  }

  /** The payload of `local`, opened here into a file in `tempDir`; `local` is released. */
  private async plainFile(
    key: string,
    local: LocalObject,
    tempDir: string,
    opened: { opener: AgeStreamOpener; payloadStart: number },
  ): Promise<LocalObject> {
    const plain = path.join(tempDir, `.walship-decrypted-${process.pid}-${(decrypted++).toString(36)}`);
    try {
      const out = fs.openSync(plain, "wx", 0o600);
      let size = 0;
      const sink = (piece: Uint8Array) => {
        writeAt(out, piece, size);
        size += piece.length;
      };
      try {
        await local.ready?.(local.size);
        for (let at = opened.payloadStart; at < local.size; at += READ_BYTES)
          opened.opener.push(readFileAt(local.path, at, Math.min(READ_BYTES, local.size - at)), sink);
        opened.opener.finish(sink);
      } catch (err) {
        throw this.failure(key, err);
      } finally {
        fs.closeSync(out);
      }
      return { path: plain, size, release: () => fs.rmSync(plain, { force: true }) };
    } catch (err) {
      fs.rmSync(plain, { force: true });
      throw err;
    } finally {
      local.release();
    }
  }

  /**
   * The object `key`, fetched as `local`, ready to decode: its plaintext opened on `workers` as the
   * download arrives and read from memory (see DecryptedSource) when it is large; otherwise the file,
   * decrypted first if it is encrypted. `local` is released with the result.
   */
  async source(
    key: string,
    local: LocalObject,
    tempDir: string,
    workers: Promise<AgeChunkOpener>,
  ): Promise<ObjectSource> {
    const opened = await this.openFile(key, local);
    const pool = opened && opened.plainSize > ON_THIS_THREAD_MAX_BYTES ? await workers : undefined;
    if (!opened) return fileObjectSource(local);
    if (!pool || pool.size === 0) return fileObjectSource(await this.plainFile(key, local, tempDir, opened));
    return this.onWorkers(key, fileCipherInput(local), opened, pool);
  }

  /** The object `key`, whole in memory as `stored`, ready to decode: as source, without a file. */
  async bytesSource(
    key: string,
    stored: Uint8Array,
    workers: Promise<AgeChunkOpener>,
  ): Promise<ObjectSource> {
    const release = () => {};
    if (!isAgeFile(stored)) return { size: stored.length, source: arraySource(stored), release };
    const d = await this.open(key);
    let opened: Awaited<ReturnType<AgeDecryptor["payload"]>> & { plainSize: number };
    try {
      opened = await this.payloadOf(d, stored, stored.length);
    } catch (err) {
      throw this.failure(key, err);
    }
    const pool = opened.plainSize > ON_THIS_THREAD_MAX_BYTES ? await workers : undefined;
    if (!pool || pool.size === 0) {
      const plain = await this.bytes(key, stored);
      return { size: plain.length, source: arraySource(plain), release };
    }
    return this.onWorkers(key, bytesCipherInput(stored), opened, pool);
  }

  private onWorkers(
    key: string,
    input: CipherInput,
    opened: { payloadKey: Uint8Array; payloadStart: number; plainSize: number },
    pool: AgeChunkOpener,
  ): ObjectSource {
    const source = new DecryptedSource(input, opened, opened.plainSize, pool, this.memory, (err) =>
      this.failure(key, err),
    );
    return { size: opened.plainSize, source, release: () => source.release() };
  }

  /**
   * The payload of `local` when it is an age file (null when not): the file key unwrapped by an
   * identity, the header's MAC checked, and the plaintext's size, which the payload's length must give.
   * On failure `local` is released.
   */
  private async openFile(
    key: string,
    local: LocalObject,
  ): Promise<(Awaited<ReturnType<AgeDecryptor["payload"]>> & { plainSize: number }) | null> {
    try {
      await local.ready?.(Math.min(INTRO_BYTES, local.size));
      if (!isAgeFile(readFileAt(local.path, 0, Math.min(INTRO_BYTES, local.size)))) return null;
      const d = await this.open(key);
      // A download that fails meanwhile is reported as such, not as damage.
      await local.ready?.(Math.min(AGE_HEADER_LIMIT, local.size));
      const start = readFileAt(local.path, 0, Math.min(AGE_HEADER_LIMIT, local.size));
      try {
        return await this.payloadOf(d, start, local.size);
      } catch (err) {
        throw this.failure(key, err);
      }
    } catch (err) {
      local.release();
      throw err;
    }
  }

  /** payload(), and the plaintext's size, which the payload's length (of an object of `size`) must give. */
  private async payloadOf(
    d: Decrypter,
    start: Uint8Array,
    size: number,
  ): Promise<Awaited<ReturnType<AgeDecryptor["payload"]>> & { plainSize: number }> {
    const opened = await this.payload(d, start);
    const plainSize = agePlainSize(size - opened.payloadStart);
    if (plainSize === null)
      throw new AgeFormatError("its length is not that of an age payload (cut short or extended)");
    return { ...opened, plainSize };
  }

  /**
   * The payload's opener, from the start of the file (its header, at least): the file key unwrapped by
   * an identity, the MAC checked, the payload key derived from the nonce after the header.
   */
  private async payload(
    d: Decrypter,
    start: Uint8Array,
  ): Promise<{ opener: AgeStreamOpener; payloadKey: Uint8Array; payloadStart: number }> {
    const headerEnd = ageHeaderEnd(start);
    if (headerEnd === null || start.length < headerEnd + AGE_PAYLOAD_NONCE_BYTES)
      throw new AgeFormatError("its header is cut short or unreadable");
    const fileKey = await d.decryptHeader(start.subarray(0, headerEnd));
    this.opened = true;
    const nonce = start.subarray(headerEnd, headerEnd + AGE_PAYLOAD_NONCE_BYTES);
    const key = payloadKey(fileKey, nonce);
    return {
      opener: new AgeStreamOpener(aead(), key),
      payloadKey: key,
      payloadStart: headerEnd + AGE_PAYLOAD_NONCE_BYTES,
    };
  }

  private open(key: string): Promise<Decrypter> {
    if (this.identities.length === 0) {
      return Promise.reject(
        new StorageError(
          `Cannot read ${key}: it is encrypted (age), and no identity is configured for this replica`,
          "decrypt",
          key,
          "pass the replica's secret key in a file, -age-identity-file FILE, or in the config: age: { identities: [AGE-SECRET-KEY-1…] }",
          { code: "no-identity" },
        ),
      );
    }
    this.decrypter ??= (async () => {
      const { Decrypter } = await import("age-encryption");
      const d = new Decrypter();
      for (const identity of this.identities) d.addIdentity(identity);
      return d;
    })();
    return this.decrypter;
  }

  /**
   * What a failed decryption means. age cannot tell a file for other keys from one whose header was
   * damaged (both fail to unwrap the file key); if these identities opened another object, it is damage.
   */
  private failure(key: string, err: unknown): StorageError {
    const why = err instanceof Error ? err.message : String(err);
    // typage throws plain Errors: its wording is the only way to tell "no key opened it" from the rest.
    if (/no identity matched/.test(why) && !this.opened) {
      const n = this.identities.length;
      return new StorageError(
        `Cannot read ${key}: none of the ${n} configured ${n === 1 ? "identity opens" : "identities open"} it: it is encrypted for other keys, or its header is damaged`,
        "decrypt",
        key,
        "configure the identity whose recipient (age1…) the replica was written with (age-keygen -y KEYFILE prints a key's recipient)",
        { cause: err, code: "wrong-identity" },
      );
    }
    return new StorageError(
      `Cannot read ${key}: it is damaged (its age encryption does not check out: ${why})`,
      "decrypt",
      key,
      "restore from another generation or replica, or to an earlier point in time (-timestamp)",
      { cause: err, code: "object-damaged" },
    );
  }
}
