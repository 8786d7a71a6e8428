/**
 * Builds a large walship-written replica for the restore benchmark: a database that grows to about
 * `sizeMb` through `iterations` rounds of application writes, replicated by the real engine
 * (ReplicatedDatabase + Replica) driven in-process without timers. Every round writes a few
 * transactions, captures them (`db.sync()`) and uploads them (`replica.sync()`), so each round ships at
 * least one WAL segment; the snapshot is taken by the first sync, while the database is still small, so
 * a restore has to replay nearly all of the data from WAL segments.
 *
 * The result is cached under `.bench/` in the repository root, keyed by the parameters, so repeated
 * benchmark runs skip generation. Standalone: `bun test/bench/make-replica.ts [--size-mb 256]
 * [--iterations 1200] [--seed 1] [--min-checkpoint-pages 1000] [--force]`.
 */

import { Database } from "bun:sqlite";
import * as fs from "node:fs";
import * as path from "node:path";
import { decodeLz4Frame } from "../../src/format/lz4-frame.ts";
import { Logger } from "../../src/observe/log.ts";
import { DEFAULT_TRUNCATE_PAGE_COUNT, ReplicatedDatabase } from "../../src/replicate/database.ts";
import { Replica } from "../../src/replicate/replica.ts";
import { replicaFloor } from "../../src/replicate/replica-floor.ts";
import { FileStore } from "../../src/storage/file.ts";
import type { Listing, LocalObject, ObjectStore } from "../../src/storage/object-store.ts";
import { ReplicaClient } from "../../src/storage/replica-client.ts";
import { S3Store } from "../../src/storage/s3.ts";
import { REPO_ROOT } from "./bench-process.ts";
import { itemsDigest } from "./content-digest.ts";

export { REPO_ROOT };

/** Bump when the workload or the cache layout changes, so old caches are not reused. */
const GENERATOR_VERSION = 2;

export const BENCH_DIR = path.join(REPO_ROOT, ".bench");

export interface ReplicaParams {
  /** Target size of the final database file, in MiB. */
  sizeMb: number;
  /** Write/capture/upload rounds; each uploads at least one WAL segment. */
  iterations: number;
  /** PRNG seed of the workload. */
  seed: number;
  /** The engine's PASSIVE checkpoint threshold in pages (Litestream's default is 1000). */
  minCheckpointPageCount: number;
}

export const DEFAULT_PARAMS: ReplicaParams = {
  sizeMb: 256,
  iterations: 1200,
  seed: 1,
  minCheckpointPageCount: 1000,
};

/** Where an S3 copy of the replica goes (the test S3 server, path-style). */
export interface S3Target {
  endpoint: string;
  bucket: string;
  /** Key prefix of the replica root, no leading or trailing slash. */
  prefix: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export interface PhaseTimes {
  /** Application transactions through bun:sqlite. */
  appWritesS: number;
  /** `db.sync()`: copying committed frames to the shadow WAL, checkpoints. */
  captureS: number;
  /** `replica.sync()` of the directory replica: LZ4 encoding, file writes with fsync. */
  uploadDirS: number;
  /** `replica.sync()` of the S3 replica (0 when it was not written by the engine). */
  uploadS3S: number;
}

export interface ReplicaMeta {
  version: number;
  params: ReplicaParams;
  generation: string;
  /** WAL segment objects in the replica. */
  segments: number;
  /** Distinct WAL indexes (WAL sessions, one per checkpoint that restarted the WAL). */
  walIndexes: number;
  snapshots: number;
  snapshotBytes: number;
  /** Compressed bytes of all WAL segments. */
  walCompressedBytes: number;
  /** Decompressed bytes of all WAL segments. */
  walRawBytes: number;
  /** Size of the final source database file (checkpointed: no WAL beside it). */
  dbBytes: number;
  /** sha256 of the whole checkpointed source file; a restore that reproduces every page matches it. */
  fileHash: string;
  pageSize: number;
  rowCount: number;
  /** sha256 over every row of `items` ordered by id (see contentDigest). */
  contentHash: string;
  generationSeconds: number;
  phases: PhaseTimes;
  createdAt: string;
}

export interface GeneratedReplica {
  /** Cache directory of this parameter set. */
  cacheDir: string;
  /** The directory replica (what `file://` URLs point at). */
  replicaDir: string;
  /** The source database as the application left it, checkpointed. */
  sourceDb: string;
  meta: ReplicaMeta;
  fromCache: boolean;
  /** How the S3 copy was produced: by the engine, uploaded from the cached directory replica, or not at all. */
  s3: "engine" | "seeded" | null;
  /** Seconds spent seeding S3 from the cache (0 otherwise). */
  s3SeedSeconds: number;
}

export interface EnsureOptions {
  /** Also put the replica on this S3 target. */
  s3?: S3Target | undefined;
  /** Regenerate even if a cache exists. */
  force?: boolean;
  /** Progress lines go here (default stderr). */
  say?: (line: string) => void;
  /** Absolute time (ms since epoch) after which generation gives up. */
  deadline?: number;
}

export function cacheKey(p: ReplicaParams): string {
  return `restore-v${GENERATOR_VERSION}-${p.sizeMb}mb-${p.iterations}it-seed${p.seed}-ckpt${p.minCheckpointPageCount}`;
}

/** Returns the cached replica for `params`, generating it first if needed; puts it on S3 when asked. */
export async function ensureReplica(
  params: ReplicaParams,
  opts: EnsureOptions = {},
): Promise<GeneratedReplica> {
  const say = opts.say ?? ((line: string) => process.stderr.write(`${line}\n`));
  const cacheDir = path.join(BENCH_DIR, cacheKey(params));
  const metaFile = path.join(cacheDir, "meta.json");
  const replicaDir = path.join(cacheDir, "replica");
  const sourceDb = path.join(cacheDir, "source", "app.db");

  if (!opts.force && fs.existsSync(metaFile)) {
    const meta = JSON.parse(fs.readFileSync(metaFile, "utf8")) as ReplicaMeta;
    say(
      `replica cache hit: ${path.relative(REPO_ROOT, cacheDir)} (generated in ${meta.generationSeconds.toFixed(1)} s on ${meta.createdAt})`,
    );
    let s3SeedSeconds = 0;
    if (opts.s3) {
      const started = performance.now();
      const n = await seedS3FromDir(replicaDir, opts.s3);
      s3SeedSeconds = (performance.now() - started) / 1000;
      say(`seeded S3 from the cached directory replica: ${n} objects in ${s3SeedSeconds.toFixed(1)} s`);
      await checkSameListing(replicaDir, opts.s3);
    }
    return {
      cacheDir,
      replicaDir,
      sourceDb,
      meta,
      fromCache: true,
      s3: opts.s3 ? "seeded" : null,
      s3SeedSeconds,
    };
  }

  // Build beside the final place and rename at the end: an interrupted run never looks like a cache.
  const work = `${cacheDir}.partial`;
  fs.rmSync(work, { recursive: true, force: true });
  fs.rmSync(cacheDir, { recursive: true, force: true });
  fs.mkdirSync(path.join(work, "source"), { recursive: true });
  const meta = await generate(params, {
    dbPath: path.join(work, "source", "app.db"),
    replicaDir: path.join(work, "replica"),
    s3: opts.s3,
    say,
    deadline: opts.deadline ?? Number.POSITIVE_INFINITY,
  });
  fs.writeFileSync(path.join(work, "meta.json"), `${JSON.stringify(meta, null, 2)}\n`);
  fs.renameSync(work, cacheDir);
  if (opts.s3) await checkSameListing(replicaDir, opts.s3);
  return {
    cacheDir,
    replicaDir,
    sourceDb,
    meta,
    fromCache: false,
    s3: opts.s3 ? "engine" : null,
    s3SeedSeconds: 0,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Generation
// ---------------------------------------------------------------------------------------------------------

interface GenerateOptions {
  dbPath: string;
  replicaDir: string;
  s3: S3Target | undefined;
  say: (line: string) => void;
  deadline: number;
}

/** Counts what the engine uploads; decodes WAL segments to learn their raw size (timed separately). */
class CountingStore implements ObjectStore {
  readonly type: ObjectStore["type"];
  readonly location: string;
  walSegments = 0;
  walCompressedBytes = 0;
  walRawBytes = 0;
  snapshots = 0;
  snapshotBytes = 0;
  bookkeepingMs = 0;

  constructor(
    private readonly inner: ObjectStore,
    private readonly measureRaw: boolean,
  ) {
    this.type = inner.type;
    this.location = inner.location;
  }

  list(prefix: string, opts: { delimiter: boolean }): Promise<Listing> {
    return this.inner.list(prefix, opts);
  }

  async put(key: string, data: Uint8Array): Promise<{ createdAt: Date }> {
    const out = await this.inner.put(key, data);
    const started = performance.now();
    if (key.endsWith(".wal.lz4")) {
      this.walSegments++;
      this.walCompressedBytes += data.length;
      if (this.measureRaw) this.walRawBytes += decodeLz4Frame(data).length;
    } else if (key.endsWith(".snapshot.lz4")) {
      this.snapshots++;
      this.snapshotBytes += data.length;
    }
    this.bookkeepingMs += performance.now() - started;
    return out;
  }

  get(key: string): Promise<Uint8Array | null> {
    return this.inner.get(key);
  }

  async putStream(
    key: string,
    pieces: AsyncIterable<Uint8Array>,
  ): Promise<{ createdAt: Date; size: number }> {
    const out = await this.inner.putStream(key, pieces);
    if (key.endsWith(".snapshot.lz4")) {
      this.snapshots++;
      this.snapshotBytes += out.size;
    }
    return out;
  }

  getFile(key: string, tempDir: string): Promise<LocalObject | null> {
    return this.inner.getFile(key, tempDir);
  }

  delete(keys: string[]): Promise<void> {
    return this.inner.delete(keys);
  }
}

async function generate(params: ReplicaParams, o: GenerateOptions): Promise<ReplicaMeta> {
  const started = performance.now();
  const targetBytes = params.sizeMb * 1024 * 1024;
  const quiet = new Logger({ level: "warn", format: "logfmt", write: (line) => o.say(`  engine: ${line}`) });

  const app = new Database(o.dbPath, { create: true, readwrite: true });
  app.run("PRAGMA journal_mode = wal");
  app.run("PRAGMA busy_timeout = 5000");
  const workload = new Workload(app, params.seed);

  const db = new ReplicatedDatabase({
    path: o.dbPath,
    checkpointIntervalMs: 0,
    minCheckpointPageCount: params.minCheckpointPageCount,
    maxCheckpointPageCount: 10_000,
    truncatePageCount: DEFAULT_TRUNCATE_PAGE_COUNT,
    maxWalBytes: 0,
    log: quiet,
  });
  const dirStore = new CountingStore(new FileStore(o.replicaDir), true);
  const dirReplica = new Replica(db, {
    name: "file",
    client: new ReplicaClient(dirStore),
    syncIntervalMs: 0,
    log: quiet,
  });
  const s3Store = o.s3 ? new CountingStore(s3StoreFor(o.s3), false) : null;
  const s3Replica = s3Store
    ? new Replica(db, { name: "s3", client: new ReplicaClient(s3Store), syncIntervalMs: 0, log: quiet })
    : null;
  const replicas = s3Replica ? [dirReplica, s3Replica] : [dirReplica];
  // As the Replicator does: shadow WAL files below the slowest replica's index may be deleted.

  const phases: PhaseTimes = { appWritesS: 0, captureS: 0, uploadDirS: 0, uploadS3S: 0 };
  const timed = async (key: keyof PhaseTimes, fn: () => unknown): Promise<void> => {
    const t = performance.now();
    await fn();
    phases[key] += (performance.now() - t) / 1000;
  };
  const syncAll = async (): Promise<void> => {
    await timed("captureS", () => db.sync(replicaFloor({ db, replicas })));
    await timed("uploadDirS", () => dirReplica.sync());
    if (s3Replica) await timed("uploadS3S", () => s3Replica.sync());
  };

  o.say(
    `generating replica: ~${params.sizeMb} MiB database, ${params.iterations} rounds, checkpoint at ${params.minCheckpointPageCount} pages${o.s3 ? ", directory + S3" : ", directory only"}`,
  );
  try {
    // Round 0: a few rows, then the first sync snapshots the still small database.
    await timed("appWritesS", () => workload.round(64 * 1024));
    await syncAll();
    const initialBytes = workload.dbBytes();
    let lastReport = performance.now();
    for (let i = 1; i <= params.iterations; i++) {
      if (Date.now() > o.deadline) throw new Error(`replica generation passed its deadline at round ${i}`);
      // Spread the remaining growth over the remaining rounds; the workload learns how row bytes turn
      // into file bytes (page fill, indexes, overflow pages) as it goes.
      const left = params.iterations - i + 1;
      const grow = Math.max(0, targetBytes - workload.dbBytes()) / left;
      await timed("appWritesS", () => workload.round(grow));
      await syncAll();
      if (performance.now() - lastReport > 10_000 || i === params.iterations) {
        lastReport = performance.now();
        const elapsed = (performance.now() - started) / 1000;
        o.say(
          `  round ${i}/${params.iterations}: db ${(workload.dbBytes() / 2 ** 20).toFixed(0)} MiB, ${dirStore.walSegments} segments, ${elapsed.toFixed(0)} s`,
        );
      }
    }
    if (workload.dbBytes() < initialBytes) throw new Error("database shrank during generation");
  } finally {
    // Replication connections first (they keep the WAL), then the application.
    db.close();
    workload.close();
    app.close(true);
  }
  checkpointSource(o.dbPath);

  const generation = fs.readdirSync(path.join(o.replicaDir, "generations"));
  if (generation.length !== 1 || !generation[0]) {
    throw new Error(`expected one generation in ${o.replicaDir}, found ${generation.length}`);
  }
  const walRoot = path.join(o.replicaDir, "generations", generation[0], "wal");
  // Segment names are <index>_<offset>.wal.lz4, all in one directory.
  const walIndexes = new Set(fs.readdirSync(walRoot).map((n) => n.slice(0, n.indexOf("_")))).size;
  const digest = contentDigest(o.dbPath);
  // Shadow WAL leftovers are no use to anyone.
  fs.rmSync(path.join(path.dirname(o.dbPath), `.${path.basename(o.dbPath)}-litestream`), {
    recursive: true,
    force: true,
  });
  const totalS = (performance.now() - started) / 1000;
  const meta: ReplicaMeta = {
    version: GENERATOR_VERSION,
    params,
    generation: generation[0],
    segments: dirStore.walSegments,
    walIndexes,
    snapshots: dirStore.snapshots,
    snapshotBytes: dirStore.snapshotBytes,
    walCompressedBytes: dirStore.walCompressedBytes,
    walRawBytes: dirStore.walRawBytes,
    dbBytes: fs.statSync(o.dbPath).size,
    fileHash: fileSha256(o.dbPath),
    pageSize: db.pageSize,
    rowCount: digest.rows,
    contentHash: digest.hash,
    generationSeconds: totalS,
    phases,
    createdAt: new Date().toISOString(),
  };
  const accounted = phases.appWritesS + phases.captureS + phases.uploadDirS + phases.uploadS3S;
  o.say(
    [
      `generated in ${totalS.toFixed(1)} s: db ${(meta.dbBytes / 2 ** 20).toFixed(1)} MiB, ${meta.rowCount} rows,`,
      `${meta.segments} WAL segments in ${walIndexes} WAL indexes, snapshot ${(meta.snapshotBytes / 1024).toFixed(0)} KiB,`,
      `WAL ${(meta.walRawBytes / 2 ** 20).toFixed(0)} MiB raw -> ${(meta.walCompressedBytes / 2 ** 20).toFixed(0)} MiB LZ4`,
      `(ratio ${(meta.walRawBytes / Math.max(1, meta.walCompressedBytes)).toFixed(2)})`,
    ].join(" "),
  );
  o.say(
    `  time: app writes ${phases.appWritesS.toFixed(1)} s, capture (db.sync) ${phases.captureS.toFixed(1)} s, ` +
      `dir upload ${phases.uploadDirS.toFixed(1)} s (of which our size accounting ${(dirStore.bookkeepingMs / 1000).toFixed(1)} s), ` +
      `S3 upload ${phases.uploadS3S.toFixed(1)} s, other ${(totalS - accounted).toFixed(1)} s (final digest, cleanup)`,
  );
  return meta;
}

export function s3StoreFor(t: S3Target): S3Store {
  return new S3Store({
    bucket: t.bucket,
    prefix: t.prefix,
    endpoint: t.endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    skipVerify: false,
    accessKeyId: t.accessKeyId,
    secretAccessKey: t.secretAccessKey,
  });
}

/** Uploads every object of a directory replica to S3 under the same keys. Returns the object count. */
export async function seedS3FromDir(dir: string, target: S3Target, parallelism = 8): Promise<number> {
  const store = s3StoreFor(target);
  const keys: string[] = [];
  const walk = (d: string, rel: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name), `${rel}${e.name}/`);
      else if (e.isFile() && !e.name.endsWith(".tmp")) keys.push(`${rel}${e.name}`);
    }
  };
  walk(dir, "");
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < keys.length) {
      const key = keys[next++]!;
      await store.put(key, new Uint8Array(fs.readFileSync(path.join(dir, key))));
    }
  };
  await Promise.all(Array.from({ length: parallelism }, worker));
  return keys.length;
}

/** Fails unless the S3 copy lists the same generations, snapshots and segments (with sizes) as the directory. */
async function checkSameListing(dir: string, target: S3Target): Promise<void> {
  const a = new ReplicaClient(new FileStore(dir));
  const b = new ReplicaClient(s3StoreFor(target));
  const describe = async (c: ReplicaClient): Promise<string> => {
    const parts: string[] = [];
    for (const g of await c.generations()) {
      for (const s of await c.snapshots(g)) parts.push(`${g}/s/${s.index}/${s.size}`);
      for (const w of await c.walSegments(g)) parts.push(`${g}/w/${w.index}/${w.offset}/${w.size}`);
    }
    return parts.join("\n");
  };
  const [da, db] = await Promise.all([describe(a), describe(b)]);
  if (da !== db || da === "")
    throw new Error("the S3 copy of the replica does not match the directory replica");
}

// ---------------------------------------------------------------------------------------------------------
// Content digest: what "the same database" means for the benchmark
// ---------------------------------------------------------------------------------------------------------

/**
 * Moves every committed page of the source into the main file (TRUNCATE checkpoint), so the file alone
 * is the database and its size and bytes can be compared with a restore's.
 */
function checkpointSource(file: string): void {
  const db = new Database(file, { readwrite: true, create: false });
  try {
    const row = db.query("PRAGMA wal_checkpoint(TRUNCATE)").values()[0];
    if (Number(row?.[0]) !== 0) throw new Error(`cannot checkpoint ${file}: busy`);
  } finally {
    db.close(true);
  }
  const wal = fs.statSync(`${file}-wal`, { throwIfNoEntry: false });
  if (wal && wal.size > 0) throw new Error(`${file}-wal still holds ${wal.size} bytes after the checkpoint`);
}

/** sha256 of a whole file, read in 8 MiB chunks. */
export function fileSha256(file: string): string {
  const hasher = new Bun.CryptoHasher("sha256");
  const fd = fs.openSync(file, "r");
  try {
    const buf = new Uint8Array(8 * 1024 * 1024);
    for (let pos = 0; ; ) {
      const n = fs.readSync(fd, buf, 0, buf.length, pos);
      if (n === 0) break;
      hasher.update(buf.subarray(0, n));
      pos += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return hasher.digest("hex");
}

const COLUMNS = "id, account_id, kind, title, body, tags, amount, created_at, updated_at, payload";

/** Row count and sha256 of the benchmark's `items` table (see content-digest.ts). */
export function contentDigest(file: string): { rows: number; hash: string } {
  return itemsDigest(file, COLUMNS);
}

// ---------------------------------------------------------------------------------------------------------
// Workload: an application writing realistic rows
// ---------------------------------------------------------------------------------------------------------

/** xorshift32: small, fast, deterministic; statistical quality is irrelevant here. */
class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  int(n: number): number {
    return this.next() % n;
  }
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.next() / 0x1_0000_0000 < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}

const KINDS = ["order", "invoice", "note", "event", "message", "ticket"] as const;
// biome-ignore format: a table
const SYLLABLES = [
  "ka", "lo", "mi", "ne", "ru", "sa", "te", "vi", "po", "da", "fe", "gi", "ha", "jo", "ku", "le",
  "ma", "no", "pe", "qu", "ri", "so", "tu", "va", "we", "xi", "yo", "ze", "an", "el", "in", "or",
];

class Workload {
  private readonly rng: Rng;
  private readonly words: string[];
  private readonly insert;
  private readonly update;
  private readonly remove;
  private nextId = 1;
  private clock = Date.UTC(2024, 0, 1);
  /** File bytes gained per row byte inserted, learned as the database grows. */
  private growthFactor = 1.5;
  private rowBytesInserted = 0;
  private readonly startBytes: number;

  constructor(
    private readonly app: Database,
    seed: number,
  ) {
    this.rng = new Rng(seed);
    this.words = Array.from({ length: 2000 }, () => {
      let w = "";
      for (let n = this.rng.range(1, 4); n > 0; n--) w += this.rng.pick(SYLLABLES);
      return w;
    });
    app.run(`CREATE TABLE IF NOT EXISTS items (
      id INTEGER PRIMARY KEY,
      account_id INTEGER NOT NULL,
      kind TEXT NOT NULL,
      title TEXT NOT NULL,
      body TEXT NOT NULL,
      tags TEXT,
      amount REAL,
      created_at TEXT NOT NULL,
      updated_at TEXT,
      payload BLOB
    )`);
    app.run("CREATE INDEX IF NOT EXISTS items_account ON items (account_id, created_at)");
    this.insert = app.prepare(
      `INSERT INTO items (${COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, NULL, ?9)`,
    );
    this.update = app.prepare("UPDATE items SET body = ?2, amount = ?3, updated_at = ?4 WHERE id = ?1");
    this.remove = app.prepare("DELETE FROM items WHERE id = ?1");
    this.startBytes = this.dbBytes();
  }

  /** Finalizes our statements, so closing the connection really closes it (and checkpoints). */
  close(): void {
    this.insert.finalize();
    this.update.finalize();
    this.remove.finalize();
  }

  /** Logical database size (page_count x page_size), WAL included. */
  dbBytes(): number {
    const row = this.app.query("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()");
    return Number(row.values()[0]?.[0] ?? 0);
  }

  private sentence(minWords: number, maxWords: number): string {
    const n = this.rng.range(minWords, maxWords);
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(this.rng.pick(this.words));
    return out.join(" ");
  }

  /** 1-12 KiB: half a structured record that repeats, half random bytes (an image thumbnail, a token). */
  private blob(): Uint8Array {
    const size = this.rng.range(1024, 12 * 1024);
    const out = new Uint8Array(size);
    const half = size >> 1;
    const record = new TextEncoder().encode(
      `{"sensor":${this.rng.int(500)},"unit":"${this.rng.pick(this.words)}","reading":`,
    );
    for (let i = 0; i < half; i++) out[i] = record[i % record.length]!;
    for (let i = half; i < size; i += 4) {
      const r = this.rng.next();
      out[i] = r & 0xff;
      out[i + 1] = (r >>> 8) & 0xff;
      out[i + 2] = (r >>> 16) & 0xff;
      out[i + 3] = r >>> 24;
    }
    return out;
  }

  private timestamp(): string {
    this.clock += this.rng.range(1, 4000);
    return new Date(this.clock).toISOString();
  }

  /** Writes 1-4 transactions of inserts, updates and a few deletes, aiming to grow the file by `growBytes`. */
  round(growBytes: number): void {
    let rowBudget = growBytes / this.growthFactor;
    const txCount = this.rng.range(1, 4);
    let inserted = 0;
    for (let t = 0; t < txCount; t++) {
      const share = t === txCount - 1 ? rowBudget : rowBudget / (txCount - t);
      this.app.transaction(() => {
        let spent = 0;
        // At least one insert per transaction, so every round changes something.
        do {
          spent += this.insertRow();
        } while (spent < share);
        rowBudget -= spent;
        inserted += spent;
        const existing = this.nextId - 1;
        for (let u = this.rng.range(2, 12); u > 0 && existing > 0; u--) {
          this.update.run(
            1 + this.rng.int(existing),
            this.sentence(30, 200),
            this.amount(),
            this.timestamp(),
          );
        }
        if (existing > 100 && this.rng.chance(0.3)) this.remove.run(1 + this.rng.int(existing));
      })();
    }
    this.rowBytesInserted += inserted;
    const grown = this.dbBytes() - this.startBytes;
    if (this.rowBytesInserted > 1024 * 1024 && grown > 0) this.growthFactor = grown / this.rowBytesInserted;
  }

  private amount(): number {
    return Math.round(this.rng.next() / 4295) / 100;
  }

  /** Inserts one row; returns its approximate size in bytes. */
  private insertRow(): number {
    const title = this.sentence(3, 9);
    const body = this.sentence(30, 200);
    const tags = this.rng.chance(0.6) ? this.sentence(1, 5).replaceAll(" ", ",") : null;
    const payload = this.rng.chance(0.15) ? this.blob() : null;
    this.insert.run(
      this.nextId++,
      this.rng.int(5000),
      this.rng.pick(KINDS),
      title,
      body,
      tags,
      this.amount(),
      this.timestamp(),
      payload,
    );
    return 48 + title.length + body.length + (tags?.length ?? 0) + (payload?.length ?? 0);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Standalone use
// ---------------------------------------------------------------------------------------------------------

export function parseIntFlag(argv: string[], name: string, fallback: number): number {
  const i = argv.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(argv[i + 1]);
  if (!Number.isInteger(v) || v <= 0)
    throw new Error(`${name} needs a positive whole number, got ${argv[i + 1]}`);
  return v;
}

if (import.meta.main) {
  const argv = process.argv.slice(2);
  const params: ReplicaParams = {
    sizeMb: parseIntFlag(argv, "--size-mb", DEFAULT_PARAMS.sizeMb),
    iterations: parseIntFlag(argv, "--iterations", DEFAULT_PARAMS.iterations),
    seed: parseIntFlag(argv, "--seed", DEFAULT_PARAMS.seed),
    minCheckpointPageCount: parseIntFlag(
      argv,
      "--min-checkpoint-pages",
      DEFAULT_PARAMS.minCheckpointPageCount,
    ),
  };
  const r = await ensureReplica(params, { force: argv.includes("--force") });
  console.log(JSON.stringify({ replicaDir: r.replicaDir, fromCache: r.fromCache, ...r.meta }));
}
