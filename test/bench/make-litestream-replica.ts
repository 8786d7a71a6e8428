/**
 * The snapshot-dominated replica of the restore benchmark: a large database (1 GiB by default) replicated
 * by the real Litestream 0.3.13, so most of a restore is one big LZ4 snapshot, as on real systems, plus a
 * few WAL segments written after it. Cached under `.bench/` like make-replica.ts's WAL-heavy replica.
 */
import { Database } from "bun:sqlite";
import * as fs from "node:fs";
import * as path from "node:path";
import { FileStore } from "../../src/storage/file.ts";
import { ReplicaClient } from "../../src/storage/replica-client.ts";
import { litestreamBinary, litestreamConfig } from "../helpers/litestream.ts";
import {
  BENCH_DIR,
  contentDigest,
  type EnsureOptions,
  fileSha256,
  type GeneratedReplica,
  type ReplicaMeta,
  seedS3FromDir,
} from "./make-replica.ts";

const VERSION = 2;
/** WAL segments written after the snapshot (the measured replica had 23). */
const WAL_ROUNDS = 24;

/** xorshift32, deterministic rows. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

const WORDS =
  "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore".split(
    " ",
  );

/** Rows of about 1 KiB that compress to about half, as typical application data does. */
function insertRows(db: Database, next: () => number, bytes: number): void {
  const insert = db.prepare(
    "INSERT INTO items (account_id, kind, title, body, tags, amount, created_at, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
  );
  // The database's logical size (pages in the file and in the WAL), not the file's, which lags in WAL mode.
  const size = () => Number(db.query("PRAGMA page_count").values()[0]?.[0]) * 4096;
  const start = size();
  db.run("BEGIN");
  for (let n = 0; ; n++) {
    const words = Array.from({ length: 40 + (next() % 60) }, () => WORDS[next() % WORDS.length]).join(" ");
    const payload = new Uint32Array(64 + (next() % 64)).map(() => next());
    insert.run(
      next() % 10_000,
      `k${next() % 8}`,
      `title ${next()}`,
      words,
      "a,b",
      next() / 1e6,
      new Date(1.7e12 + n).toISOString(),
      payload,
    );
    if (n % 20_000 === 19_999) {
      db.run("COMMIT");
      if (size() - start >= bytes) return;
      db.run("BEGIN");
    }
  }
}

export async function ensureLitestreamReplica(
  sizeMb: number,
  opts: EnsureOptions = {},
): Promise<GeneratedReplica> {
  const say = opts.say ?? ((line: string) => process.stderr.write(`${line}\n`));
  const cacheDir = path.join(BENCH_DIR, `restore-litestream-v${VERSION}-${sizeMb}mb`);
  const replicaDir = path.join(cacheDir, "replica");
  const sourceDb = path.join(cacheDir, "source", "app.db");
  const metaFile = path.join(cacheDir, "meta.json");
  let fromCache = true;
  if (opts.force || !fs.existsSync(metaFile)) {
    fromCache = false;
    await generate(sizeMb, cacheDir, say, opts.deadline ?? Number.POSITIVE_INFINITY);
  }
  const meta = JSON.parse(fs.readFileSync(metaFile, "utf8")) as ReplicaMeta;
  let s3SeedSeconds = 0;
  if (opts.s3) {
    const started = performance.now();
    const n = await seedS3FromDir(replicaDir, opts.s3);
    s3SeedSeconds = (performance.now() - started) / 1000;
    say(`seeded S3 from the directory replica: ${n} objects in ${s3SeedSeconds.toFixed(1)} s`);
  }
  return { cacheDir, replicaDir, sourceDb, meta, fromCache, s3: opts.s3 ? "seeded" : null, s3SeedSeconds };
}

async function generate(sizeMb: number, cacheDir: string, say: (l: string) => void, deadline: number) {
  const ls = litestreamBinary();
  if ("skip" in ls) throw new Error(`cannot build the Litestream replica: ${ls.skip}`);
  const started = performance.now();
  const work = `${cacheDir}.partial`;
  fs.rmSync(work, { recursive: true, force: true });
  fs.rmSync(cacheDir, { recursive: true, force: true });
  fs.mkdirSync(path.join(work, "source"), { recursive: true });
  const dbPath = path.join(work, "source", "app.db");
  const replicaDir = path.join(work, "replica");
  const next = rng(1);

  say(`generating a ~${sizeMb} MiB database for the Litestream replica`);
  const app = new Database(dbPath, { create: true });
  app.run("PRAGMA journal_mode = wal");
  // Litestream takes the write lock for its checkpoints: wait for it instead of failing (SQLITE_BUSY).
  app.run("PRAGMA busy_timeout = 10000");
  app.run(`CREATE TABLE items (id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL, kind TEXT NOT NULL,
    title TEXT NOT NULL, body TEXT NOT NULL, tags TEXT, amount REAL, created_at TEXT NOT NULL,
    updated_at TEXT, payload BLOB)`);
  insertRows(app, next, sizeMb * 1024 * 1024);
  app.run("PRAGMA wal_checkpoint(TRUNCATE)");

  const config = path.join(work, "litestream.yml");
  fs.writeFileSync(config, litestreamConfig(dbPath, [{ dir: replicaDir }]));
  const proc = Bun.spawn([ls.path, "replicate", "-config", config], { stdout: "ignore", stderr: "pipe" });
  const client = new ReplicaClient(new FileStore(replicaDir));
  const until = async (what: string, ok: () => Promise<boolean>) => {
    while (!(await ok())) {
      if (Date.now() > deadline || proc.exitCode !== null)
        throw new Error(`litestream: gave up waiting for ${what}`);
      await Bun.sleep(200);
    }
  };
  const snapshots = async () => {
    const [g] = await client.generations();
    return g ? (await client.snapshots(g)).length : 0;
  };
  try {
    await until("the snapshot", async () => (await snapshots()) > 0);
    for (let i = 0; i < WAL_ROUNDS; i++) {
      insertRows(app, next, 64 * 1024);
      await Bun.sleep(300); // more than the 100 ms sync interval: one segment per round
    }
    await Bun.sleep(1000);
  } finally {
    // Also on a failure: a Litestream left running would go on writing into the next attempt's replica.
    proc.kill("SIGTERM");
    await proc.exited;
  }
  app.run("PRAGMA wal_checkpoint(TRUNCATE)");
  app.close();

  const generations = await client.generations();
  if (generations.length !== 1) {
    throw new Error(
      `litestream wrote ${generations.length} generations instead of one; run again with --regenerate`,
    );
  }
  const [generation] = generations;
  const snaps = await client.snapshots(generation!);
  const segments = await client.walSegments(generation!);
  const { rows, hash } = contentDigest(dbPath);
  const meta: ReplicaMeta = {
    version: VERSION,
    params: { sizeMb, iterations: WAL_ROUNDS, seed: 1, minCheckpointPageCount: 1000 },
    generation: generation!,
    segments: segments.length,
    walIndexes: new Set(segments.map((s) => s.index)).size,
    snapshots: snaps.length,
    snapshotBytes: snaps.reduce((n, s) => n + s.size, 0),
    walCompressedBytes: segments.reduce((n, s) => n + s.size, 0),
    walRawBytes: 0,
    dbBytes: fs.statSync(dbPath).size,
    fileHash: fileSha256(dbPath),
    pageSize: 4096,
    rowCount: rows,
    contentHash: hash,
    generationSeconds: (performance.now() - started) / 1000,
    phases: { appWritesS: 0, captureS: 0, uploadDirS: 0, uploadS3S: 0 },
    createdAt: new Date().toISOString(),
  };
  fs.writeFileSync(path.join(work, "meta.json"), `${JSON.stringify(meta, null, 2)}\n`);
  fs.renameSync(work, cacheDir);
  say(
    `Litestream replica: ${(meta.dbBytes / 2 ** 20).toFixed(0)} MiB database, snapshot ${(meta.snapshotBytes / 2 ** 20).toFixed(0)} MiB, ${meta.segments} WAL segments, in ${meta.generationSeconds.toFixed(0)} s`,
  );
}
