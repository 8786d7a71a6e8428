/**
 * Worker threads that decode LZ4 blocks, so a restore decodes on every core (parallel-decode.ts hands
 * them the blocks, in memory shared with them). Decoding was most of a restore's time on one thread.
 *
 * Where workers cannot start (one core, or a runtime without them) the pool is empty and frames are
 * decoded on the calling thread, as before.
 */

import * as os from "node:os";
import { AgeFormatError } from "../format/age-stream.ts";
import { Lz4FormatError } from "../format/lz4-frame.ts";
import { startWorker } from "../runtime/worker-thread.ts";

/** One independent block of a frame, or consecutive sealed chunks of an age payload (kind "age"). */
export type DecodeRequest = BlockRequest | AgeChunksRequest;

export interface BlockRequest {
  kind: "lz4";
  id: number;
  /** The compressed block in `input[0, length)`; decoded into `output`, both shared with the worker. */
  input: SharedArrayBuffer;
  length: number;
  output: SharedArrayBuffer;
  stored: boolean;
  blockMaxSize: number;
}

/** Sealed chunks in `input[0, length)`, opened into `output` (see format/age-stream.ts openAgeChunks). */
export interface AgeChunksRequest {
  kind: "age";
  id: number;
  input: SharedArrayBuffer;
  length: number;
  output: SharedArrayBuffer;
  payloadKey: Uint8Array;
  firstChunk: number;
  final: boolean;
}

export type DecodeReply =
  /** The block decoded into its request's `output`. */
  | { id: number; length: number }
  /** `offset`: where in the block an Lz4FormatError found the problem, which is `error` without its framing. */
  | { id: number; error: string; offset?: number }
  /** An age chunk did not open: `error` is the AgeFormatError's message. */
  | { id: number; ageError: string };

/** Each worker holds a runtime of its own; on the 2-core benchmark machine a third gained nothing. */
const MAX_WORKERS = 4;

/** Memory shared with the workers for one block in flight: its compressed bytes and its content. */
export interface BlockSlot {
  input: SharedArrayBuffer;
  output: SharedArrayBuffer;
}

function blockSlot(blockMaxSize: number): BlockSlot {
  return { input: new SharedArrayBuffer(blockMaxSize), output: new SharedArrayBuffer(blockMaxSize) };
}

interface Job {
  resolve: (length: number) => void;
  reject: (err: Error) => void;
}

interface PoolWorker {
  worker: Worker;
  jobs: Map<number, Job>;
}

export class DecodePool {
  private readonly workers: PoolWorker[] = [];
  private nextId = 0;
  /** Block slots given back by the last frame decoded, for the next: a restore decodes many large frames. */
  private spareSlots: BlockSlot[] = [];

  private constructor() {}

  /** Starts `size` workers (default: one per core up to MAX_WORKERS, none on a single core). */
  static async start(size = defaultSize()): Promise<DecodePool> {
    const pool = new DecodePool();
    const started = await Promise.all(
      Array.from({ length: size }, () =>
        startWorker(new URL("./decode-worker.ts", import.meta.url), "./restore/decode-worker.ts"),
      ),
    );
    for (const worker of started) {
      if (!worker) continue;
      const entry: PoolWorker = { worker, jobs: new Map() };
      worker.onmessage = (event: MessageEvent<DecodeReply>) => pool.settle(entry, event.data);
      worker.onerror = () => pool.fail(entry);
      pool.workers.push(entry);
    }
    return pool;
  }

  /** Worker threads in use (0: decoding on the calling thread). */
  get size(): number {
    return this.workers.length;
  }

  /**
   * Decodes the independent LZ4 block in `slot.input[0, length)` into `slot.output` on a worker and
   * returns its length. The slot's memory is shared, not copied: the caller must not touch it until this
   * settles. Rejects with an Lz4FormatError whose offset is within the block. Needs worker threads.
   */
  async decodeBlock(slot: BlockSlot, length: number, stored: boolean, blockMaxSize: number): Promise<number> {
    return this.send({
      kind: "lz4",
      id: this.nextId++,
      input: slot.input,
      length,
      output: slot.output,
      stored,
      blockMaxSize,
    });
  }

  /**
   * Opens the sealed age chunks in `slot.input[0, length)` into `slot.output` on a worker (see
   * AgeChunkOpener); rejects with an AgeFormatError. Needs worker threads.
   */
  async openAgeChunks(
    slot: BlockSlot,
    length: number,
    payloadKey: Uint8Array,
    firstChunk: number,
    final: boolean,
  ): Promise<number> {
    return this.send({
      kind: "age",
      id: this.nextId++,
      input: slot.input,
      length,
      output: slot.output,
      payloadKey,
      firstChunk,
      final,
    });
  }

  /**
   * `count` slots for blocks of up to `blockMaxSize` bytes, for one caller's use until it gives them back
   * with returnBlockSlots (or drops them, when a worker may still be writing into one).
   */
  takeBlockSlots(count: number, blockMaxSize: number): BlockSlot[] {
    const fit = this.spareSlots.filter((s) => s.input.byteLength >= blockMaxSize);
    this.spareSlots = [];
    const slots = fit.slice(0, count);
    while (slots.length < count) slots.push(blockSlot(blockMaxSize));
    return slots;
  }

  returnBlockSlots(slots: BlockSlot[]): void {
    this.spareSlots = slots;
  }

  private send(request: DecodeRequest): Promise<number> {
    const target = this.leastBusy()!;
    return new Promise((resolve, reject) => {
      target.jobs.set(request.id, { resolve, reject });
      target.worker.postMessage(request);
    });
  }

  close(): void {
    for (const { worker } of this.workers) worker.terminate();
    this.workers.length = 0;
  }

  private leastBusy(): PoolWorker | undefined {
    let best: PoolWorker | undefined;
    for (const w of this.workers) if (!best || w.jobs.size < best.jobs.size) best = w;
    return best;
  }

  private settle(entry: PoolWorker, reply: DecodeReply): void {
    const job = entry.jobs.get(reply.id);
    if (!job) return;
    entry.jobs.delete(reply.id);
    if ("ageError" in reply) job.reject(new AgeFormatError(reply.ageError));
    else if ("error" in reply)
      job.reject(
        reply.offset === undefined ? new Error(reply.error) : new Lz4FormatError(reply.error, reply.offset),
      );
    else job.resolve(reply.length);
  }

  /** A worker died: the frames it held went with it, so their decodes fail; later ones go elsewhere. */
  private fail(entry: PoolWorker): void {
    entry.worker.terminate();
    const i = this.workers.indexOf(entry);
    if (i >= 0) this.workers.splice(i, 1);
    for (const job of entry.jobs.values()) job.reject(new Error("the decode worker thread failed"));
    entry.jobs.clear();
  }
}

function defaultSize(): number {
  const cores = os.availableParallelism();
  return cores < 2 ? 0 : Math.min(MAX_WORKERS, cores);
}
