/**
 * The plaintext of a large age-encrypted object (an LZ4 frame), opened on the decode pool's workers as
 * its ciphertext arrives and read by the restore's decoder straight from memory: no plaintext file is
 * written and read back (that cost a restore of 860 MB of ciphertext about a second of disk time).
 * Memory stays bounded: runs of chunks are opened at most AHEAD_BYTES beyond what the decoder asked for,
 * and dropped LOOK_BEHIND_BYTES after it read past them.
 */
import * as fs from "node:fs";
import { AGE_CHUNK_BYTES, AGE_SEALED_CHUNK_BYTES, AgeFormatError } from "../format/age-stream.ts";
import type { FrameSource } from "../format/lz4-frame-format.ts";
import { readInto } from "../io/file-io.ts";
import { DownloadedPrefix } from "./downloaded-prefix.ts";
import type { LocalObject } from "./object-store.ts";

/** Chunks (64 KiB each) a worker opens per job: 2 MiB, few messages, little memory. */
export const WORKER_JOB_CHUNKS = 32;
const BATCH_BYTES = WORKER_JOB_CHUNKS * AGE_CHUNK_BYTES;
/** How far beyond the decoder's last request chunks are opened: work for every worker meanwhile. */
const AHEAD_BYTES = 16 * 1024 * 1024;
/** How long opened chunks are kept after the decoder read past them (it re-reads block headers). */
const LOOK_BEHIND_BYTES = 4 * 1024 * 1024;

/** Where the ciphertext comes from: a file (perhaps still downloading), or bytes in memory. */
export interface CipherInput {
  readonly size: number;
  /** Resolves once bytes [0, end) can be read. */
  ready?(end: number): Promise<void>;
  /** Fills `target` from `position`; returns how many bytes were there. */
  read(position: number, target: Uint8Array): number;
  /** No read comes after this. */
  close(): void;
  /** The object is no longer needed (its download can go). */
  release(): void;
}

/** A local object as ciphertext input, read through a descriptor of its own. */
export function fileCipherInput(local: LocalObject): CipherInput {
  const fd = fs.openSync(local.path, "r");
  return {
    size: local.size,
    ...(local.ready ? { ready: (end: number) => local.ready!(end) } : {}),
    read: (position, target) => readInto(fd, target, position).length,
    close: () => fs.closeSync(fd),
    release: () => local.release(),
  };
}

/** Bytes in memory as ciphertext input. */
export function bytesCipherInput(bytes: Uint8Array): CipherInput {
  return {
    size: bytes.length,
    read: (position, target) => {
      const piece = bytes.subarray(position, position + target.length);
      target.set(piece);
      return piece.length;
    },
    close: () => {},
    release: () => {},
  };
}

/** Memory shared with a worker for one job: sealed chunks in, plaintext out. */
export interface ChunkSlot {
  input: SharedArrayBuffer;
  output: SharedArrayBuffer;
}

/** Opens runs of sealed age chunks on other threads: the restore's decode pool. */
export interface AgeChunkOpener {
  /** Worker threads (0: none). */
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

/**
 * Job memory kept from one object to the next: a restore opens many encrypted segments, and memory a
 * source dropped would stay allocated until the collector ran (measured: 280 MB of it over 22 segments).
 */
export class ChunkMemory {
  private readonly inputs: SharedArrayBuffer[] = [];
  private readonly outputs: SharedArrayBuffer[] = [];

  input(): SharedArrayBuffer {
    return this.inputs.pop() ?? new SharedArrayBuffer(WORKER_JOB_CHUNKS * AGE_SEALED_CHUNK_BYTES);
  }

  output(): SharedArrayBuffer {
    return this.outputs.pop() ?? new SharedArrayBuffer(BATCH_BYTES);
  }

  giveInput(buffer: SharedArrayBuffer): void {
    this.inputs.push(buffer);
  }

  giveOutput(buffer: SharedArrayBuffer): void {
    this.outputs.push(buffer);
  }
}

export class DecryptedSource implements FrameSource {
  /** Opened runs of chunks by number (BATCH_BYTES of plaintext each, the last shorter). */
  private readonly batches = new Map<number, Uint8Array<SharedArrayBuffer>>();
  private readonly opened = new DownloadedPrefix();
  /** The furthest plaintext byte the decoder asked for or read. */
  private wanted = 0;
  /** Batches below this number are dropped. */
  private kept = 0;
  private wakeProducer: (() => void) | null = null;
  private stopped = false;
  private scratch = new Uint8Array(0);

  /**
   * Starts opening `input` (ciphertext, still downloading perhaps) with `payloadKey`, its payload
   * (after the header and nonce) starting at `payloadStart`; `failure` turns an error into what the
   * decoder reports. Job memory comes from, and goes back to, `memory`.
   */
  constructor(
    private readonly input: CipherInput,
    private readonly payload: { payloadKey: Uint8Array; payloadStart: number },
    readonly length: number,
    private readonly pool: AgeChunkOpener,
    private readonly memory: ChunkMemory,
    failure: (err: unknown) => Error,
  ) {
    this.run()
      .catch((err: unknown) => this.opened.fail(failure(err)))
      .finally(() => input.close());
  }

  ready(end: number): Promise<void> {
    this.want(end);
    return this.opened.ready(Math.min(end, this.length));
  }

  bytes(start: number, end: number): Uint8Array {
    const last = Math.min(end, this.length);
    this.readAt(start);
    const b = Math.floor(start / BATCH_BYTES);
    if (last <= (b + 1) * BATCH_BYTES)
      return this.batch(b).subarray(start - b * BATCH_BYTES, last - b * BATCH_BYTES);
    if (this.scratch.length < last - start)
      this.scratch = new Uint8Array(Math.max(last - start, 2 * this.scratch.length));
    const out = this.scratch.subarray(0, last - start);
    this.copyTo(start, out);
    return out;
  }

  copyTo(start: number, target: Uint8Array): void {
    this.readAt(start);
    for (let done = 0; done < target.length; ) {
      const at = start + done;
      const b = Math.floor(at / BATCH_BYTES);
      const piece = this.batch(b).subarray(at - b * BATCH_BYTES);
      const n = Math.min(piece.length, target.length - done);
      if (n === 0) throw new RangeError("read past the end of the decrypted object");
      target.set(piece.subarray(0, n), done);
      done += n;
    }
  }

  /** Stops opening (jobs under way finish into nothing) and releases the ciphertext. */
  release(): void {
    this.stopped = true;
    for (const bytes of this.batches.values()) this.memory.giveOutput(bytes.buffer);
    this.batches.clear();
    this.wake();
    this.input.release();
  }

  private batch(b: number): Uint8Array<SharedArrayBuffer> {
    const bytes = this.batches.get(b);
    if (!bytes) throw new RangeError(`decrypted bytes at ${b * BATCH_BYTES} read before they were ready`);
    return bytes;
  }

  /** The decoder reads at `start`: batches well behind it go. */
  private readAt(start: number): void {
    this.want(start);
    for (; (this.kept + 1) * BATCH_BYTES + LOOK_BEHIND_BYTES <= start; this.kept++) {
      const bytes = this.batches.get(this.kept);
      if (!bytes) continue;
      this.batches.delete(this.kept);
      this.memory.giveOutput(bytes.buffer);
    }
  }

  private want(end: number): void {
    if (end <= this.wanted) return;
    this.wanted = end;
    this.wake();
  }

  private wake(): void {
    this.wakeProducer?.();
    this.wakeProducer = null;
  }

  /** Opens the payload a run of chunks per job, two jobs per worker, never far ahead of the decoder. */
  private async run(): Promise<void> {
    const chunks = Math.max(1, Math.ceil(this.length / AGE_CHUNK_BYTES));
    let idle = this.pool.size * 2;
    const inflight = new Set<Promise<void>>();
    let failure: { err: unknown } | null = null;
    // Nothing is opened before the decoder first asks: a restore fetches segments ahead of their turn,
    // and each would otherwise hold its window of plaintext meanwhile (measured: opening the first 2 MiB
    // of each ahead of time gained nothing and cost 40 MB more).
    while (this.wanted === 0 && !this.stopped)
      await new Promise<void>((resolve) => (this.wakeProducer = resolve));
    for (let b = 0; b * WORKER_JOB_CHUNKS < chunks && !this.stopped && !failure; b++) {
      while (b * BATCH_BYTES >= this.wanted + AHEAD_BYTES && !this.stopped)
        await new Promise<void>((resolve) => (this.wakeProducer = resolve));
      while (idle === 0 && !failure) await Promise.race(inflight);
      if (this.stopped || failure) break;
      idle--;
      const job: Promise<void> = this.open(b, chunks)
        .then(
          () => {
            idle++;
          },
          (err: unknown) => {
            failure ??= { err };
          },
        )
        .finally(() => inflight.delete(job));
      inflight.add(job);
    }
    // Every job settles before the descriptor closes.
    await Promise.all(inflight);
    if (failure) throw (failure as { err: unknown }).err;
  }

  /** Opens run `b`; its memory goes back once the worker is done with it, whatever happened. */
  private async open(b: number, chunks: number): Promise<void> {
    const first = b * WORKER_JOB_CHUNKS;
    const count = Math.min(WORKER_JOB_CHUNKS, chunks - first);
    const from = this.payload.payloadStart + first * AGE_SEALED_CHUNK_BYTES;
    const to = Math.min(from + count * AGE_SEALED_CHUNK_BYTES, this.input.size);
    await this.input.ready?.(to);
    if (this.stopped) return;
    const slot = { input: this.memory.input(), output: this.memory.output() };
    let kept = false;
    try {
      if (this.input.read(from, new Uint8Array(slot.input, 0, to - from)) !== to - from)
        throw new AgeFormatError("the object is shorter than its listing says");
      const n = await this.pool.openAgeChunks(
        slot,
        to - from,
        this.payload.payloadKey,
        first,
        first + count === chunks,
      );
      if (this.stopped) return;
      this.batches.set(b, new Uint8Array(slot.output, 0, n));
      this.opened.add(b * BATCH_BYTES, b * BATCH_BYTES + n);
      kept = true;
    } finally {
      // A worker replies only once it is done with the memory (the pool rejects only then, or when the
      // worker died).
      this.memory.giveInput(slot.input);
      if (!kept) this.memory.giveOutput(slot.output);
    }
  }
}
