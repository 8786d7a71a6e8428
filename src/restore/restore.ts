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
import { type PointInTime, type PointInTimeSummary, replayAfter } from "./point-in-time.ts";
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

/**
 * Restores `plan` into `opts.output`: the snapshot, the WAL segments, those up to a timestamp, then a
 * verified file put in place. The temporary files go whatever happens.
 */
export async function executeRestore(plan: RestorePlan, opts: RestoreOptions): Promise<RestoreResult> {
  const started = Date.now();
  const output = path.resolve(opts.output);
  checkRestorable(plan, output, opts.force);
  const files = new RestoreFiles(output);
  const tally = new RestoreTally(plan, opts.onProgress);
  let applier: WalApplier | undefined;
  // Workers load while the snapshot is downloaded.
  const poolStarting = DecodePool.start();
  const fetcher = new SegmentFetcher(plan.replica.client, plan.generation, files.dir, poolStarting);
  try {
    const { pageSize, size } = await writeSnapshot(plan, files.fd, files.dir, poolStarting);
    const pool = await poolStarting;
    opts.log.debug("decoded the snapshot", { worker_threads: pool.size });
    tally.done(size);

    applier = new WalApplier(files.fd, pageSize, files.spill);
    const wal: WalReplay = { replay: segmentReplay(plan, applier), fetcher, pool, tally };
    await replaySegments(wal, plan.segments, opts.parallelism ?? DEFAULT_PARALLELISM);
    const pointInTime = await replayToTimestamp(wal, plan, opts.log);
    wal.replay.finish(pointInTime?.stoppedInsideIndex ?? false);

    await syncAndVerify(files.fd, files.tmp, opts.verify ?? "quick", wal.replay.lastKey);
    files.closeDatabase();
    putInPlace(files, output, opts.force);
    return {
      output,
      replica: plan.replica.name,
      generation: plan.generation,
      snapshotIndex: plan.snapshot.index,
      segments: plan.segments.length,
      bytesDownloaded: tally.bytesDownloaded,
      commits: wal.replay.commits,
      ...(pointInTime ? { pointInTime: pointInTime.summary } : {}),
      elapsedMs: Date.now() - started,
    };
  } finally {
    fetcher.releaseAll();
    applier?.close();
    (await poolStarting).close();
    files.remove();
  }
}

/** Refuses, before anything is downloaded, a plan with a gap or an output that exists (without force). */
function checkRestorable(plan: RestorePlan, output: string, force: boolean | undefined): void {
  const gap = plan.gaps[0];
  if (gap) throw new ReplicaGapError(`Cannot restore: ${gap.message} (expected ${gap.key})`, gap.key);
  if (!force && fs.existsSync(output)) {
    throw new OutputExistsError(`Cannot restore to ${output}: the file already exists`);
  }
}

/**
 * The restore's temporary files: the database being written (open as `fd`), its compressed form and the
 * WAL applier's spill file. They sit beside the output, under a random name, so that the finished file
 * can be linked or renamed into place on the same file system.
 */
class RestoreFiles {
  readonly dir: string;
  readonly tmp: string;
  readonly compressedTmp: string;
  readonly spill: string;
  readonly fd: number;
  private open = true;

  constructor(output: string) {
    this.dir = path.dirname(output);
    fs.mkdirSync(this.dir, { recursive: true });
    const base = path.join(this.dir, `.${path.basename(output)}.walship-${randomBytes(4).toString("hex")}`);
    this.tmp = `${base}.tmp`;
    this.compressedTmp = `${base}.ctmp`;
    this.spill = `${base}.spill`;
    this.fd = fs.openSync(this.tmp, "wx+", 0o600);
  }

  /** The database is complete and verified. */
  closeDatabase(): void {
    fs.closeSync(this.fd);
    this.open = false;
  }

  /**
   * Closes and deletes them, after success or failure: a finished output is a link to one of them or
   * was renamed from it, so none is needed any more. (The applier deletes its own spill file.)
   */
  remove(): void {
    if (this.open) fs.closeSync(this.fd);
    fs.rmSync(this.tmp, { force: true });
    fs.rmSync(this.compressedTmp, { force: true });
  }
}

/** Bytes downloaded, and the progress reported after each object. */
class RestoreTally {
  bytesDownloaded = 0;
  private readonly progress: RestoreProgress;

  constructor(
    plan: RestorePlan,
    private readonly onProgress: ((p: RestoreProgress) => void) | undefined,
  ) {
    this.progress = {
      bytesDone: 0,
      bytesTotal: plan.bytes,
      objectsDone: 0,
      objectsTotal: 1 + plan.segments.length,
    };
  }

  /** One of the plan's objects (the snapshot or a segment) is done. */
  done(bytes: number): void {
    this.bytesDownloaded += bytes;
    this.progress.bytesDone += bytes;
    this.progress.objectsDone++;
    this.onProgress?.({ ...this.progress });
  }

  /** An object the plan did not count (read past a timestamp) is done. */
  doneBeyondPlan(bytes: number): void {
    this.progress.bytesTotal += bytes;
    this.progress.objectsTotal++;
    this.done(bytes);
  }
}

/** What the WAL steps share: the replay they feed, where segments come from, the decode workers, the tally. */
interface WalReplay {
  replay: SegmentReplay;
  fetcher: SegmentFetcher;
  pool: DecodePool;
  tally: RestoreTally;
}

/**
 * The replay of the plan's WAL onto the snapshot. WAL indexes below that of the first segment uploaded
 * after the timestamp (`plan.after`) are read to their end or the restore fails, so their pages may be
 * written before their commit arrives.
 */
function segmentReplay(plan: RestorePlan, applier: WalApplier): SegmentReplay {
  const { generation, snapshot } = plan;
  return new SegmentReplay(
    applier,
    generation,
    snapshot.index,
    snapshotPath("", generation, snapshot.index),
    plan.after[0]?.index ?? Number.POSITIVE_INFINITY,
  );
}

/** Applies `segments` in order, decoding each on the workers while the next ones download. */
async function replaySegments(
  wal: WalReplay,
  segments: WalSegmentInfo[],
  parallelism: number,
): Promise<void> {
  const limits = {
    parallelism,
    budgetBytes: DOWNLOAD_BUDGET_BYTES,
    sizeOf: (s: WalSegmentInfo) => s.size,
  };
  async function* jobs(): AsyncGenerator<FrameJob> {
    for await (const [seg, fetched] of fetchAhead(segments, limits, (s) => wal.fetcher.fetch(s))) {
      yield wal.replay.job(seg, fetched.source, undefined, () => {
        fetched.release();
        wal.tally.done(fetched.size);
      });
    }
  }
  await decodeFramesInOrder(wal.pool, jobs());
}

/**
 * With a timestamp, applies the segments uploaded after it up to the last commit at or before it
 * (point-in-time.ts decides where to stop); null without one.
 */
async function replayToTimestamp(
  wal: WalReplay,
  plan: RestorePlan,
  log: Logger,
): Promise<PointInTime | null> {
  const wholeOrUpTo = async (seg: WalSegmentInfo, bytes: Uint8Array, limit: number) => {
    let length = 0;
    const job = wal.replay.job(seg, arraySource(bytes), limit, (n) => {
      length = n;
    });
    await decodeFramesInOrder(wal.pool, [job]);
    return length;
  };
  const source = { bytes: (seg: WalSegmentInfo) => wal.fetcher.bytes(seg), apply: wholeOrUpTo };
  return replayAfter(plan, wal.replay, source, log, (n) => wal.tally.doneBeyondPlan(n));
}

/** Puts the verified database at `output`, compressed first when the name asks for it (`.gz`, `.zip`). */
function putInPlace(files: RestoreFiles, output: string, force: boolean | undefined): void {
  const compression = compressionFor(output);
  if (compression)
    compressFile(files.tmp, files.compressedTmp, compression, entryNameFor(output, compression));
  const ready = compression ? files.compressedTmp : files.tmp;
  if (force) replaceOutput(ready, output, !compression);
  else linkOutput(ready, output);
  syncDir(path.dirname(output));
}

/** --force: rename() swaps the new file in atomically. */
function replaceOutput(ready: string, output: string, isDatabase: boolean): void {
  // The old database's WAL must not be replayed onto the new file: remove it before the swap.
  if (isDatabase) {
    fs.rmSync(`${output}-wal`, { force: true });
    fs.rmSync(`${output}-shm`, { force: true });
  }
  fs.renameSync(ready, output);
}

/** link() refuses to replace an existing file, so a file created meanwhile is never clobbered. */
function linkOutput(ready: string, output: string): void {
  try {
    fs.linkSync(ready, output);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") {
      throw new OutputExistsError(`Cannot restore to ${output}: the file already exists`);
    }
    throw err;
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
