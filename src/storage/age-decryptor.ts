/**
 * Reading objects of an age-encrypted replica (Litestream 0.3.13's `age`: every object is
 * `age(lz4 frame)`, names unchanged): in memory for small objects, file to file, streamed, for large
 * ones, so memory does not grow with a snapshot. An object that is not an age file passes through as it
 * is; one that is, read without identities, fails with what to configure instead of "corrupt".
 * typage (age's own TypeScript) unwraps the file key from the header and checks its MAC; the payload is
 * opened by format/age-stream.ts with the WebAssembly ChaCha20-Poly1305, ~3x typage's speed.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Decrypter } from "age-encryption";
import { AGE_HEADER_LIMIT, ageHeaderEnd, isAgeFile } from "../format/age.ts";
import {
  AGE_CHUNK_BYTES,
  AGE_PAYLOAD_NONCE_BYTES,
  AGE_SEALED_CHUNK_BYTES,
  AgeFormatError,
  AgeStreamOpener,
  agePlainSize,
} from "../format/age-stream.ts";
import { concatBytes } from "../format/bytes.ts";
import { readFileAt, readInto, writeAt } from "../io/file-io.ts";
import { aead, payloadKey } from "./age-cipher.ts";
import { DownloadedPrefix } from "./downloaded-prefix.ts";
import { type LocalObject, StorageError } from "./object-store.ts";

/** Enough of the start of an object to recognise an age file. */
const INTRO_BYTES = 32;
/** Ciphertext read at a time from a file: a whole number of sealed chunks' worth, about. */
const READ_BYTES = 1024 * 1024;
/** Objects up to this size are opened on the calling thread (a worker's round trip buys nothing). */
const ON_THIS_THREAD_MAX_BYTES = 1024 * 1024;
/** Chunks (64 KiB each) a worker opens per job: 2 MiB, few messages, little memory. */
const WORKER_JOB_CHUNKS = 32;

/** Memory shared with a worker for one job: sealed chunks in, plaintext out. */
interface ChunkSlot {
  input: SharedArrayBuffer;
  output: SharedArrayBuffer;
}

/** Opens runs of sealed age chunks on other threads: the restore's decode pool. */
export interface AgeChunkOpener {
  /** Worker threads (0: none, open on this thread). */
  readonly size: number;
  /**
   * Opens the sealed chunks in `slot.input[0, length)`, numbered from `firstChunk` (the last of them the
   * payload's final chunk when `final`), into `slot.output`; resolves with the plaintext's length,
   * rejects with an AgeFormatError.
   */
  openAgeChunks(
    slot: ChunkSlot,
    length: number,
    payloadKey: Uint8Array,
    firstChunk: number,
    final: boolean,
  ): Promise<number>;
}

/** Numbers decrypted files within the process. */
let decrypted = 0;

export class AgeDecryptor {
  private decrypter: Promise<Decrypter> | undefined;
  /** Whether these identities opened an object already: then one they cannot open is damaged. */
  private opened = false;
  /** Job memory of objects opened on workers, for the next. */
  private spareSlots: ChunkSlot[] = [];

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
   * beside the object: a directory replica's file is the object itself); `local` is released with it.
   * With `workers`, a large object is opened on them, a run of chunks per job, as the download arrives:
   * the file is returned at once and its `ready` follows the plaintext written (the restore decodes
   * behind it). Otherwise, and for small objects, it is opened here, whole, before returning.
   */
  async file(
    key: string,
    local: LocalObject,
    tempDir: string,
    workers?: Promise<AgeChunkOpener>,
  ): Promise<LocalObject> {
    await local.ready?.(Math.min(INTRO_BYTES, local.size));
    const intro = readFileAt(local.path, 0, Math.min(INTRO_BYTES, local.size));
    if (!isAgeFile(intro)) return local;
    const plain = path.join(tempDir, `.walship-decrypted-${process.pid}-${(decrypted++).toString(36)}`);
    let handedOver = false;
    try {
      const d = await this.open(key);
      await local.ready?.(Math.min(AGE_HEADER_LIMIT, local.size));
      const start = readFileAt(local.path, 0, Math.min(AGE_HEADER_LIMIT, local.size));
      let opened: Awaited<ReturnType<AgeDecryptor["payload"]>>;
      try {
        opened = await this.payload(d, start);
      } catch (err) {
        throw this.failure(key, err);
      }
      const plainSize = agePlainSize(local.size - opened.payloadStart);
      if (plainSize === null)
        throw this.failure(
          key,
          new AgeFormatError("its length is not that of an age payload (cut short or extended)"),
        );
      const pool = plainSize > ON_THIS_THREAD_MAX_BYTES ? await workers : undefined;
      const out = fs.openSync(plain, "wx", 0o600);
      if (pool && pool.size > 0) {
        handedOver = true;
        return this.openOnWorkers(key, local, { path: plain, fd: out, size: plainSize }, opened, pool);
      }
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
      if (!handedOver) local.release();
    }
  }

  /**
   * Opens the payload of `local` into `plain` on `pool`, WORKER_JOB_CHUNKS chunks a job, two jobs per
   * worker in flight, each as soon as its ciphertext is downloaded; returns `plain` at once, its `ready`
   * following the chunks opened (out of order) and failing with the damage if a chunk does not open.
   * Descriptors are closed only once no job can touch them, whenever `release` is called.
   */
  private openOnWorkers(
    key: string,
    local: LocalObject,
    plain: { path: string; fd: number; size: number },
    opened: { payloadKey: Uint8Array; payloadStart: number },
    pool: AgeChunkOpener,
  ): LocalObject {
    const prefix = new DownloadedPrefix();
    const input = fs.openSync(local.path, "r");
    let stopped = false;
    const chunks = Math.max(1, Math.ceil(plain.size / AGE_CHUNK_BYTES));
    const job = async (slot: ChunkSlot, first: number): Promise<void> => {
      const count = Math.min(WORKER_JOB_CHUNKS, chunks - first);
      const from = opened.payloadStart + first * AGE_SEALED_CHUNK_BYTES;
      const to = Math.min(from + count * AGE_SEALED_CHUNK_BYTES, local.size);
      await local.ready?.(to);
      if (stopped) return;
      if (readInto(input, new Uint8Array(slot.input, 0, to - from), from).length !== to - from)
        throw new AgeFormatError("the object is shorter than its listing says");
      const n = await pool.openAgeChunks(slot, to - from, opened.payloadKey, first, first + count === chunks);
      if (stopped) return;
      writeAt(plain.fd, new Uint8Array(slot.output, 0, n), first * AGE_CHUNK_BYTES);
      prefix.add(first * AGE_CHUNK_BYTES, first * AGE_CHUNK_BYTES + n);
    };
    const run = async () => {
      const free = this.takeSlots(pool.size * 2);
      const inflight = new Set<Promise<void>>();
      let failure: { err: unknown } | null = null;
      try {
        for (let first = 0; first < chunks && !stopped && !failure; first += WORKER_JOB_CHUNKS) {
          while (free.length === 0 && !failure) await Promise.race(inflight);
          if (failure) break;
          const slot = free.pop()!;
          const p: Promise<void> = job(slot, first)
            .then(
              () => {
                free.push(slot);
              },
              // The slot may still be in a worker's hands: it is dropped, not reused.
              (err: unknown) => {
                failure ??= { err };
              },
            )
            .finally(() => inflight.delete(p));
          inflight.add(p);
        }
        await Promise.all(inflight);
      } finally {
        // Every job has settled: nothing reads or writes the descriptors any more.
        fs.closeSync(input);
        fs.closeSync(plain.fd);
        this.spareSlots.push(...free);
      }
      if (failure) throw (failure as { err: unknown }).err;
    };
    run().catch((err: unknown) => prefix.fail(this.failure(key, err)));
    return {
      path: plain.path,
      size: plain.size,
      ready: (end) => prefix.ready(Math.min(end, plain.size)),
      release: () => {
        stopped = true;
        fs.rmSync(plain.path, { force: true });
        local.release();
      },
    };
  }

  /** Shared memory for `count` jobs in flight, reused from object to object. */
  private takeSlots(count: number): ChunkSlot[] {
    const slots = this.spareSlots.splice(0, count);
    while (slots.length < count) {
      slots.push({
        input: new SharedArrayBuffer(WORKER_JOB_CHUNKS * AGE_SEALED_CHUNK_BYTES),
        output: new SharedArrayBuffer(WORKER_JOB_CHUNKS * AGE_CHUNK_BYTES),
      });
    }
    return slots;
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
        { cause: err },
      );
    }
    return new StorageError(
      `Cannot read ${key}: it is damaged (its age encryption does not check out: ${why})`,
      "decrypt",
      key,
      "restore from another generation or replica, or to an earlier point in time (-timestamp)",
      { cause: err },
    );
  }
}
