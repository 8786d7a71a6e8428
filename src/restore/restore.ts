/**
 * Executes a restore plan: downloads the snapshot and WAL segments (in parallel, bounded), applies them
 * in order into a temporary file beside the output, verifies it, and links it into place. The output
 * path never exists half-written, and an existing file there is never replaced.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { WalshipError } from "../errors/walship-error.ts";
import { concatBytes } from "../format/bytes.ts";
import { snapshotPath } from "../format/layout.ts";
import { arraySource } from "../format/lz4-frame-format.ts";
import { syncDir, writeAt } from "../io/file-io.ts";
import type { Logger } from "../observe/log.ts";
import { DB_HEADER_SIZE, decodeDbHeader } from "../sqlite/db-header.ts";
import type { WalSegmentInfo } from "../storage/replica-client.ts";
import { RestoreIntegrityError, WalApplier } from "./apply.ts";
import { compressFile, compressionFor, entryNameFor } from "./compress.ts";
import { DecodePool } from "./decode-pool.ts";
import { decodeFrameParallel, decodeFramesInOrder, type FrameJob } from "./parallel-decode.ts";
import { ReplicaGapError, type RestorePlan } from "./plan.ts";
import { type PointInTimeSummary, replayAfter } from "./point-in-time.ts";
import { SegmentFetcher } from "./segment-fetcher.ts";
import { SegmentReplay } from "./segment-replay.ts";
import { syncAndVerify, type VerifyMode } from "./verify.ts";

export const DEFAULT_PARALLELISM = 8;
/** Largest decompressed snapshot we accept: far beyond any SQLite file we expect, far below a bomb. */
const MAX_SNAPSHOT_BYTES = 1024 * 1024 * 1024 * 1024;
/**
 * Compressed WAL segments fetched ahead of the one being applied, at most (one is always allowed): in
 * memory when small, else downloads into files, each of which holds up to six ranges in transit.
 */
const DOWNLOAD_BUDGET_BYTES = 32 * 1024 * 1024;

export interface RestoreOptions {
  /** Output path; a name ending in `.gz` or `.zip` gets the database compressed. */
  output: string;
  parallelism?: number;
  verify?: VerifyMode;
  /** Replace an existing output atomically (and remove its stale `-wal` and `-shm`). */
  force?: boolean;
  log: Logger;
  /** Called after each downloaded object is applied. */
  onProgress?: (p: RestoreProgress) => void;
}

export interface RestoreProgress {
  bytesDone: number;
  bytesTotal: number;
  objectsDone: number;
  objectsTotal: number;
}

export interface RestoreResult {
  output: string;
  replica: string;
  generation: string;
  snapshotIndex: number;
  segments: number;
  bytesDownloaded: number;
  commits: number;
  /** With a timestamp: what decided where the restore stopped. */
  pointInTime?: PointInTimeSummary;
  elapsedMs: number;
}

/** The output path exists; restore never overwrites. */
export class OutputExistsError extends WalshipError<"output-exists"> {
  override name = "OutputExistsError";
  constructor(message: string) {
    super(message, { code: "output-exists", operation: "restore" });
  }
}

export async function executeRestore(plan: RestorePlan, opts: RestoreOptions): Promise<RestoreResult> {
  const started = Date.now();
  const output = path.resolve(opts.output);
  const gap = plan.gaps[0];
  if (gap) throw new ReplicaGapError(`Cannot restore: ${gap.message} (expected ${gap.key})`, gap.key);
  if (!opts.force && fs.existsSync(output)) {
    throw new OutputExistsError(`Cannot restore to ${output}: the file already exists`);
  }
  fs.mkdirSync(path.dirname(output), { recursive: true });
  const tmpBase = path.join(
    path.dirname(output),
    `.${path.basename(output)}.walship-${randomBytes(4).toString("hex")}`,
  );
  const tmp = `${tmpBase}.tmp`;
  const compressedTmp = `${tmpBase}.ctmp`;
  const fd = fs.openSync(tmp, "wx+", 0o600);
  let closed = false;
  const progress: RestoreProgress = {
    bytesDone: 0,
    bytesTotal: plan.bytes,
    objectsDone: 0,
    objectsTotal: 1 + plan.segments.length,
  };
  const advance = (bytes: number) => {
    progress.bytesDone += bytes;
    progress.objectsDone++;
    opts.onProgress?.({ ...progress });
  };
  let applier: WalApplier | undefined;
  // Workers load while the snapshot is downloaded.
  const decodePoolStarting = DecodePool.start();
  const fetcher = new SegmentFetcher(
    plan.replica.client,
    plan.generation,
    path.dirname(output),
    decodePoolStarting,
  );
  try {
    const { generation, snapshot } = plan;
    const snapKey = snapshotPath("", generation, snapshot.index);
    const { pageSize, size: snapshotBytes } = await writeSnapshot(
      plan,
      fd,
      path.dirname(output),
      decodePoolStarting,
    );
    const decodePool = await decodePoolStarting;
    opts.log.debug("decoded the snapshot", { worker_threads: decodePool.size });
    let bytesDownloaded = snapshotBytes;
    advance(snapshotBytes);

    applier = new WalApplier(fd, pageSize, `${tmpBase}.spill`);
    const replay = new SegmentReplay(
      applier,
      generation,
      snapshot.index,
      snapKey,
      plan.after[0]?.index ?? Number.POSITIVE_INFINITY,
    );
    const limits = {
      parallelism: opts.parallelism ?? DEFAULT_PARALLELISM,
      budgetBytes: DOWNLOAD_BUDGET_BYTES,
      sizeOf: (s: WalSegmentInfo) => s.size,
    };
    async function* jobs(): AsyncGenerator<FrameJob> {
      for await (const [seg, fetched] of fetchAhead(plan.segments, limits, (s) => fetcher.fetch(s))) {
        yield replay.job(seg, fetched.source, undefined, () => {
          fetched.release();
          bytesDownloaded += fetched.size;
          advance(fetched.size);
        });
      }
    }
    await decodeFramesInOrder(decodePool, jobs());
    const wholeOrUpTo = async (seg: WalSegmentInfo, bytes: Uint8Array, limit: number) => {
      let length = 0;
      const job = replay.job(seg, arraySource(bytes), limit, (n) => {
        length = n;
      });
      await decodeFramesInOrder(decodePool, [job]);
      return length;
    };
    const source = { bytes: (seg: WalSegmentInfo) => fetcher.bytes(seg), apply: wholeOrUpTo };
    const pointInTime = await replayAfter(plan, replay, source, opts.log, (n) => {
      bytesDownloaded += n;
      progress.bytesTotal += n;
      progress.objectsTotal++;
      advance(n);
    });
    replay.finish(pointInTime?.stoppedInsideIndex ?? false);
    await syncAndVerify(fd, tmp, opts.verify ?? "quick", replay.lastKey);
    fs.closeSync(fd);
    closed = true;

    let ready = tmp;
    const compression = compressionFor(output);
    if (compression) {
      compressFile(tmp, compressedTmp, compression, entryNameFor(output, compression));
      ready = compressedTmp;
    }
    if (opts.force) {
      // The old database's WAL must not be replayed onto the new file: remove it before the swap.
      if (!compression) {
        fs.rmSync(`${output}-wal`, { force: true });
        fs.rmSync(`${output}-shm`, { force: true });
      }
      fs.renameSync(ready, output);
    } else {
      // link() refuses to replace an existing file, so a file created meanwhile is never clobbered.
      try {
        fs.linkSync(ready, output);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "EEXIST") {
          throw new OutputExistsError(`Cannot restore to ${output}: the file already exists`);
        }
        throw err;
      }
    }
    syncDir(path.dirname(output));
    return {
      output,
      replica: plan.replica.name,
      generation,
      snapshotIndex: snapshot.index,
      segments: plan.segments.length,
      bytesDownloaded,
      commits: replay.commits,
      ...(pointInTime ? { pointInTime: pointInTime.summary } : {}),
      elapsedMs: Date.now() - started,
    };
  } finally {
    fetcher.releaseAll();
    applier?.close();
    (await decodePoolStarting).close();
    if (!closed) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    fs.rmSync(compressedTmp, { force: true });
  }
}

/**
 * Writes the plan's snapshot into `fd` and returns the database's page size and the snapshot's
 * compressed size. The compressed snapshot is read from a local file (the replica's own, or a download
 * into `tempDir` that it follows as the ranges arrive) and decoded block by block on the worker threads:
 * memory stays at a few blocks whatever the database's size.
 */
async function writeSnapshot(
  plan: RestorePlan,
  fd: number,
  tempDir: string,
  poolStarting: Promise<DecodePool>,
): Promise<{ pageSize: number; size: number }> {
  const { generation, snapshot } = plan;
  const key = snapshotPath("", generation, snapshot.index);
  const object = await plan.replica.client.snapshotSource(
    generation,
    snapshot.index,
    tempDir,
    snapshot.size,
    poolStarting,
  );
  if (!object) throw new RestoreIntegrityError(`Cannot restore: snapshot ${key} disappeared`, key);
  let head: Uint8Array = new Uint8Array(0);
  let pageSize = 0;
  try {
    // The workers loaded while the download started.
    const pool = await poolStarting;
    await decodeFrameParallel(object.source, key, MAX_SNAPSHOT_BYTES, pool, (chunk, at) => {
      // Check the database header as soon as it is there, before writing gigabytes of garbage.
      if (pageSize === 0) {
        head = concatBytes([head, chunk.subarray(0, DB_HEADER_SIZE - head.length)]);
        if (head.length >= DB_HEADER_SIZE) {
          try {
            pageSize = decodeDbHeader(head).pageSize;
          } catch (err) {
            throw new RestoreIntegrityError(`Cannot restore: ${(err as Error).message} in ${key}`, key);
          }
        }
      }
      writeAt(fd, chunk, at);
    });
  } finally {
    object.release();
  }
  if (pageSize === 0) {
    throw new RestoreIntegrityError(
      `Cannot restore: ${key} is empty or too short to hold a database header`,
      key,
    );
  }
  return { pageSize, size: snapshot.size };
}

/**
 * Yields `items` in order with their fetched results, fetching ahead of the one taken: at most
 * `parallelism` at once and, beyond the next, no more than `budgetBytes` of them by `sizeOf` (Litestream
 * writes WAL segments of tens of MB after a burst, and eight of those in flight would hold hundreds of
 * MB).
 */
async function* fetchAhead<T, R>(
  items: T[],
  limits: { parallelism: number; budgetBytes: number; sizeOf: (item: T) => number },
  fetch: (item: T) => Promise<R>,
): AsyncGenerator<[T, R]> {
  const window = Math.max(1, limits.parallelism);
  const inflight: Promise<R>[] = [];
  let next = 0;
  let bytes = 0;
  for (let i = 0; i < items.length; i++) {
    while (
      next < items.length &&
      next < i + window &&
      (next === i || bytes + limits.sizeOf(items[next]!) <= limits.budgetBytes)
    ) {
      bytes += limits.sizeOf(items[next]!);
      const p = fetch(items[next]!);
      // Avoid unhandled-rejection noise for results we never await after an earlier failure.
      p.catch(() => {});
      inflight[next++] = p;
    }
    const result = await inflight[i]!;
    delete inflight[i];
    bytes -= limits.sizeOf(items[i]!);
    yield [items[i]!, result];
  }
}
