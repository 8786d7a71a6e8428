/**
 * One walship process, 100 databases, each with one replica (a directory, then S3), default intervals
 * (monitor 1 s, sync 1 s). A separate writer process commits to every database once a second; the test
 * watches the replica storage itself (the directories, or s3rver's files on disk) and measures, for
 * every commit, how long it took to be there.
 */
import { afterAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseWalSegmentName } from "../../src/format/layout.ts";
import { decodeLz4Frame } from "../../src/format/lz4-frame.ts";
import { createDatabase } from "../helpers/app-db.ts";
import { runCli, startCli, waitFor } from "../helpers/cli.ts";
import { readDatabase } from "../helpers/db-content.ts";
import type { Commit } from "../helpers/many-db-writer.ts";
import { cpuMark, cpuPercent, metricSample, rssKiB } from "../helpers/proc-usage.ts";
import { type S3Server, startS3Server } from "../helpers/s3-server.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

const DATABASES = 100;
/** Writer rounds: one commit per database per second, so 8 s of writing and 800 commits. */
const ROUNDS = 8;
const SYNC_INTERVAL_MS = 1_000;
/**
 * Acceptance: a commit is in its replica within two sync intervals. walship captures a commit when the
 * `-wal` changes (at the latest on the next monitor tick, < 1 s, where there are no change events); the
 * replica loop then uploads at once if it was idle, or at the end of its 1 s sleep after the previous
 * upload: < 2 s in all, before processing time. With one commit a second per database, most uploads
 * wait for that sleep, so the lags spread over 0..1 s plus processing.
 */
const MAX_LAG_MS = 2 * SYNC_INTERVAL_MS;
/**
 * How often the test looks at the replica directories. A commit counts as replicated when a look
 * finds it, so each measured lag is an upper bound that overstates the real one by at most this
 * (plus the time one look over 100 directories takes, a few ms): the measurement errs against walship.
 */
const POLL_MS = 100;
const WRITER = path.join(import.meta.dirname, "../helpers/many-db-writer.ts");

interface Segment {
  offset: number;
  /** Offset just past the segment's WAL bytes. */
  end: number;
  /**
   * The segment file's mtime: when it was written (for a directory, by walship before its rename made
   * it visible; for S3, by s3rver). The kernel stamps it from a coarse clock, a few ms behind Date.now().
   */
  mtimeMs: number;
  /** Date.now() of the look that first found it. */
  seenAt: number;
}

/** What the test has seen of one replica. */
interface ReplicaView {
  /** The directory holding the replica's `generations` directory. */
  root: string;
  /** What the storage appends to an object's name on disk: "" for a directory replica. */
  suffix: string;
  generation?: string;
  /** WAL segments of WAL index 0 by file name; other indexes are counted in `otherIndexes`. */
  segments: Map<string, Segment>;
  otherIndexes: number;
}

/** One look at a replica's files: records the generation and any new WAL segments. */
function look(view: ReplicaView): void {
  if (view.generation === undefined) {
    let gens: string[];
    try {
      gens = fs.readdirSync(path.join(view.root, "generations"));
    } catch {
      return;
    }
    if (gens.length === 0) return;
    view.generation = gens.sort()[0];
  }
  const walDir = path.join(view.root, "generations", view.generation!, "wal");
  let names: string[];
  try {
    names = fs.readdirSync(walDir);
  } catch {
    return;
  }
  for (const name of names) {
    if (view.segments.has(name) || !name.endsWith(view.suffix)) continue;
    const parsed = parseWalSegmentName(name.slice(0, name.length - view.suffix.length));
    if (!parsed) continue;
    if (parsed.index !== 0) {
      view.otherIndexes++;
      view.segments.set(name, { offset: -1, end: -1, mtimeMs: 0, seenAt: 0 });
      continue;
    }
    const file = path.join(walDir, name);
    const seenAt = Date.now();
    let wal: Uint8Array;
    try {
      wal = decodeLz4Frame(new Uint8Array(fs.readFileSync(file)));
    } catch {
      // s3rver writes objects in place: a half-written one is looked at again next time.
      continue;
    }
    view.segments.set(name, {
      offset: parsed.offset,
      end: parsed.offset + wal.length,
      mtimeMs: fs.statSync(file).mtimeMs,
      seenAt,
    });
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

interface Distribution {
  min: number;
  p50: number;
  p99: number;
  max: number;
}

function summary(values: number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    min: sorted[0]!,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1]!,
  };
}

interface Target {
  /** "file" or "s3", for messages. */
  kind: string;
  /** The replica URL of database i. */
  url(i: number): string;
  /** Where the test finds database i's replica files (see ReplicaView). */
  view(i: number): ReplicaView;
  /** Environment for walship (credentials). */
  env: Record<string, string>;
}

/**
 * Replicates DATABASES databases to `target` in one walship process while the writer runs, measures
 * every commit's lag to the replica storage, then restores three databases and compares them.
 */
async function replicateMany(dir: string, target: Target): Promise<void> {
  const dbs = Array.from({ length: DATABASES }, (_, i) => path.join(dir, `db-${i}.db`));
  for (const db of dbs) createDatabase(db);
  const config = path.join(dir, "walship.yml");
  // Default monitor-interval and sync-interval (1 s each).
  fs.writeFileSync(
    config,
    [
      'addr: "127.0.0.1:0"',
      "dbs:",
      ...dbs.flatMap((db, i) => [`  - path: ${db}`, "    replicas:", `      - url: ${target.url(i)}`]),
      "",
    ].join("\n"),
  );

  const walship = startCli(["replicate", "-config", config], { env: target.env });
  const views = dbs.map((_, i) => target.view(i));
  let polling = true;
  let poller: Promise<void> = Promise.resolve();
  let rssMaxKiB = 0;
  try {
    await waitFor(
      () => (walship.stderr().match(/snapshot written/g) ?? []).length >= DATABASES,
      40_000,
      `${DATABASES} first snapshots`,
    );
    const rssStartKiB = rssKiB(walship.pid);
    const metricsUrl = /msg="serving metrics" url=(\S+)/.exec(walship.stderr())![1]!;
    /** Total time walship spent capturing into shadow WALs (synchronous on its event loop). */
    const captureSeconds = async () => {
      const text = await (await fetch(metricsUrl)).text();
      return dbs.reduce((sum, db) => sum + metricSample(text, "walship_sync_seconds_total", { db }), 0);
    };

    // Watch the replicas and walship's memory from now until every commit is seen (bounded below).
    poller = (async () => {
      let nextRss = 0;
      while (polling) {
        for (const v of views) look(v);
        if (Date.now() >= nextRss) {
          try {
            rssMaxKiB = Math.max(rssMaxKiB, rssKiB(walship.pid));
          } catch {
            // walship exited (the test is failing); its exit code tells why.
          }
          nextRss = Date.now() + 500;
        }
        await Bun.sleep(POLL_MS);
      }
    })();

    const captureStart = await captureSeconds();
    const cpuStart = cpuMark(walship.pid);
    const writer = Bun.spawn([process.execPath, WRITER, String(ROUNDS), ...dbs], {
      stdout: "pipe",
      stderr: "pipe",
    });
    const killWriter = setTimeout(() => writer.kill("SIGKILL"), ROUNDS * 1_000 + 20_000);
    const [out, err, code] = await Promise.all([
      new Response(writer.stdout).text(),
      new Response(writer.stderr).text(),
      writer.exited,
    ]);
    clearTimeout(killWriter);
    const cpuEnd = cpuMark(walship.pid);
    const capture = (await captureSeconds()) - captureStart;
    if (code !== 0) throw new Error(`writer failed (${code}): ${err}`);
    const commits = JSON.parse(out) as Commit[];
    expect(commits.length).toBe(DATABASES * ROUNDS);

    const covering = (c: Commit): Segment[] =>
      [...views[c.db]!.segments.values()].filter((s) => s.offset >= 0 && s.end >= c.walEnd);
    await waitFor(
      () => commits.every((c) => covering(c).length > 0),
      10_000,
      "every commit to be seen in its replica",
    ).finally(() => {
      polling = false;
    });
    await poller;

    // Seen by the test (upper bound) and written to storage (file mtime), per commit.
    const seenLags = commits.map((c) => Math.min(...covering(c).map((s) => s.seenAt)) - c.at);
    const writtenLags = commits.map((c) => Math.round(Math.min(...covering(c).map((s) => s.mtimeMs)) - c.at));
    const seen = summary(seenLags);
    const written = summary(writtenLags);
    const cpu = cpuPercent(cpuStart, cpuEnd);
    const writingSeconds = (cpuEnd.atMs - cpuStart.atMs) / 1000;
    const rssEndKiB = rssKiB(walship.pid);
    const mib = (k: number) => (k / 1024).toFixed(1);
    const fmt = (s: Distribution) => `min ${s.min} ms, p50 ${s.p50} ms, p99 ${s.p99} ms, max ${s.max} ms`;
    console.log(
      `${DATABASES} databases to ${target.kind}, ${commits.length} commits over ${ROUNDS} s\n` +
        `  lag commit -> seen in replica storage (poll ${POLL_MS} ms, upper bound): ${fmt(seen)}\n` +
        `  lag commit -> segment file written (mtime):                           ${fmt(written)}\n` +
        `  walship CPU while writing: ${cpu.toFixed(1)}% of one core; RSS ${mib(rssStartKiB)} MiB after startup, ` +
        `max ${mib(rssMaxKiB)} MiB while writing, ${mib(rssEndKiB)} MiB at the end\n` +
        `  capture into the shadow WALs (ticks and WAL change events): ${((capture / writingSeconds) * 1000).toFixed(0)} ms ` +
        `per second for all ${DATABASES} databases`,
    );

    // Offsets compare only within one WAL session of one generation: nothing restarted either.
    for (const v of views) {
      expect(fs.readdirSync(path.join(v.root, "generations"))).toEqual([v.generation!]);
      expect(v.otherIndexes).toBe(0);
    }
    expect(seen.max).toBeLessThanOrEqual(MAX_LAG_MS);

    const stopped = await walship.stop();
    expect(stopped.code).toBe(0);

    // Three databases picked at random restore to exactly their source rows.
    const picks = new Set<number>();
    while (picks.size < 3) picks.add(Math.floor(Math.random() * DATABASES));
    for (const i of picks) {
      const restoredPath = path.join(dir, `restored-${i}.db`);
      const restore = await runCli(["restore", "-o", restoredPath, target.url(i)], { env: target.env });
      expect(restore.code, `restore of database ${i} from ${target.kind}: ${restore.stderr}`).toBe(0);
      const source = readDatabase(dbs[i]!);
      const restored = readDatabase(restoredPath);
      expect(restored.integrity).toBe("ok");
      expect(source.rows.length).toBe(ROUNDS);
      expect(restored.rows).toEqual(source.rows);
    }
  } finally {
    polling = false;
    await poller;
    await walship.stop("SIGKILL", 5_000);
  }
}

describe("many databases in one process", () => {
  const dirs: string[] = [];
  let s3: S3Server | undefined;
  afterAll(async () => {
    await s3?.stop();
    for (const d of dirs) removeDir(d);
  });

  test("100 databases to directories: every commit is in its replica within 2 sync intervals", async () => {
    const dir = makeTempDir("walship-many-file-");
    dirs.push(dir);
    await replicateMany(dir, {
      kind: "file",
      url: (i) => `file://${path.join(dir, `replica-${i}`)}`,
      view: (i) => ({
        root: path.join(dir, `replica-${i}`),
        suffix: "",
        segments: new Map(),
        otherIndexes: 0,
      }),
      env: {},
    });
  }, 90_000);

  test("100 databases to S3: every commit is in its replica within 2 sync intervals", async () => {
    const dir = makeTempDir("walship-many-s3-");
    dirs.push(dir);
    const bucket = "many";
    s3 = await startS3Server({ buckets: [bucket] });
    const server = s3;
    await replicateMany(dir, {
      kind: "s3",
      url: (i) => `${server.endpoint}/${bucket}/db-${i}`,
      // s3rver's FilesystemStore keeps an object KEY as DIR/BUCKET/KEY._S3rver_object.
      view: (i) => ({
        root: path.join(server.dir, bucket, `db-${i}`),
        suffix: "._S3rver_object",
        segments: new Map(),
        otherIndexes: 0,
      }),
      env: {
        LITESTREAM_ACCESS_KEY_ID: server.accessKeyId,
        LITESTREAM_SECRET_ACCESS_KEY: server.secretAccessKey,
      },
    });
  }, 90_000);
});
