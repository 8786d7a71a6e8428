/**
 * Restoring from a hostile replica, built by hand (layout names from src/format/layout.ts, frames from
 * encodeLz4Frame or hand-assembled) in a directory, on the S3 test server (s3rver), and on a scripted S3
 * server whose listings lie. The real CLI runs each restore, under a memory meter (VmRSS polled every 20 ms).
 *
 * (a) Keys with `..`, absolute keys and names outside the layout are ignored or rejected, are never
 *     fetched, and nothing is written outside the output path.
 * (b) An LZ4 decompression bomb (a valid 8 MiB frame of 2 GiB of zeros) as a WAL segment or a snapshot.
 * (c) Declared sizes far beyond the data: a frame whose content size says 100 GB, a sparse 100 GB file, a
 *     listing and a Content-Length that claim terabytes.
 * (d) A snapshot that is not an SQLite file, or has a garbage page size, or is empty.
 * (e) A WAL segment whose page size differs from the snapshot's.
 *
 * Each failure must exit 1 with one error line naming the object key and the reason, leave no output file
 * and no temporary file, keep the process's peak RSS under 600 MB, and write under 64 MiB beside the
 * output while it runs (a bomb must not fill the disk instead of the memory).
 */
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { snapshotPath, walSegmentPath } from "../../src/format/layout.ts";
import { encodeLz4Frame } from "../../src/format/lz4-frame.ts";
import { scanWal } from "../../src/sqlite/wal.ts";
import { readDatabase } from "../helpers/db-content.ts";
import {
  type HostileObject,
  lz4FrameDeclaring,
  lz4ZeroBomb,
  type MeteredRun,
  runCliMetered,
  startHostileS3,
  treeChanges,
  treeSnapshot,
} from "../helpers/hostile-replica.ts";
import { s3Keys } from "../helpers/replicate-setup.ts";
import { type S3Server, startS3Server } from "../helpers/s3-server.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";
import { buildWal } from "../helpers/wal-builder.ts";

const GEN = "0123456789abcdef";
const SNAP_KEY = snapshotPath("", GEN, 0);
const SEG_KEY = walSegmentPath("", GEN, 0, 0);
const BUCKET = "hostile";
const MiB = 1024 * 1024;
/** The bound a restore's peak RSS must stay under, whatever the replica holds. */
const MAX_RSS_MIB = 600;
/** The bound on what a failing restore may write beside its output (the real data here is under 1 MiB). */
const MAX_TEMP_MIB = 64;
/** Past this the process is killed, so a bomb that works cannot take the machine down with the test. */
const KILL_RSS_KIB = 1536 * 1024;
const BOMB_BYTES = 2 * 1024 * MiB;
const TB = 1_000_000_000_000;

interface Source {
  /** The database file at the start of WAL index 0. */
  snapshot: Uint8Array;
  /** WAL index 0, up to its last commit. */
  wal: Uint8Array;
  /** Rows in the database once the WAL is applied. */
  rows: unknown[];
}

/** A small WAL-mode database (4096-byte pages): its checkpointed file, then 20 transactions in its WAL. */
function makeSource(dir: string): Source {
  const file = path.join(dir, "source.db");
  const db = new Database(file);
  try {
    db.run("PRAGMA page_size = 4096");
    db.run("PRAGMA journal_mode = wal");
    db.run("PRAGMA wal_autocheckpoint = 0");
    db.run("CREATE TABLE items (id INTEGER PRIMARY KEY, v TEXT)");
    db.run("INSERT INTO items (v) VALUES ('before the snapshot')");
    db.run("PRAGMA wal_checkpoint(TRUNCATE)");
    const snapshot = new Uint8Array(fs.readFileSync(file));
    const insert = db.prepare("INSERT INTO items (v) VALUES (?)");
    for (let i = 0; i < 20; i++) insert.run(`row ${i} ${"x".repeat(i * 50)}`);
    const walFile = new Uint8Array(fs.readFileSync(`${file}-wal`));
    const wal = walFile.slice(0, scanWal(walFile).scan.lastCommitEnd);
    const rows = db.query("SELECT * FROM items ORDER BY rowid").all();
    return { snapshot, wal, rows };
  } finally {
    // close(true): release the connection now; a lingering one would checkpoint and remove the -wal
    // later, in the middle of a test that checks nothing outside the output changed.
    db.close(true);
  }
}

function escapeRe(s: string): RegExp {
  return new RegExp(s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
}

describe("restoring from a hostile replica", () => {
  const root = makeTempDir("walship-hostile-");
  let source: Source;
  let s3: S3Server;
  let snapLz4: Uint8Array;
  let segLz4: Uint8Array;
  const s3Env = () => s3Keys(s3);

  beforeAll(async () => {
    source = makeSource(root);
    snapLz4 = encodeLz4Frame(source.snapshot);
    segLz4 = encodeLz4Frame(source.wal);
    s3 = await startS3Server({ buckets: [BUCKET] });
  }, 60_000);
  afterAll(async () => {
    await s3?.stop();
    removeDir(root);
  });

  /** A directory replica holding `objects` (replica-relative keys), nested deep inside the temp tree. */
  function fileReplica(name: string, objects: Record<string, Uint8Array>): string {
    const dir = path.join(root, "replicas", name, "d1", "d2", "d3", "replica");
    for (const [key, bytes] of Object.entries(objects)) {
      fs.mkdirSync(path.dirname(path.join(dir, key)), { recursive: true });
      fs.writeFileSync(path.join(dir, key), bytes);
    }
    fs.mkdirSync(dir, { recursive: true });
    return dir;
  }

  /** An s3rver replica under PATH `name` holding `objects`; returns its URL. */
  async function s3Replica(name: string, objects: Record<string, Uint8Array>): Promise<string> {
    const store = s3.store(BUCKET, name);
    for (const [key, bytes] of Object.entries(objects)) await store.put(key, bytes);
    return `${s3.endpoint}/${BUCKET}/${name}`;
  }

  /** A fresh, empty output directory for one case. */
  function outputFor(name: string): { dir: string; file: string } {
    const dir = path.join(root, "out", name);
    fs.mkdirSync(dir, { recursive: true });
    return { dir, file: path.join(dir, "restored.db") };
  }

  function describeRun(r: MeteredRun): string {
    const text = `exit ${r.code}, peak RSS ${Math.round(r.peakRssKiB / 1024)} MiB${r.killedForMemory ? " (killed: still growing)" : ""}, peak temp files ${Math.round(r.peakDirBytes / MiB)} MiB, ${Math.round(r.elapsedMs)} ms, stderr: ${r.stderr.trim()}`;
    if (process.env.WALSHIP_TEST_LOG === "1") console.error(text);
    return text;
  }

  /**
   * Runs a restore that must fail: exit 1, one line naming `key` with `reason`, memory and temporary disk
   * use bounded, nothing left behind.
   */
  async function expectRejected(
    name: string,
    url: string,
    key: string,
    reason: RegExp,
    env: Record<string, string> = {},
  ): Promise<MeteredRun> {
    const out = outputFor(name);
    const before = treeSnapshot(root);
    const r = await runCliMetered(["restore", "-o", out.file, url], {
      env,
      killAboveKiB: KILL_RSS_KIB,
      watchDir: out.dir,
    });
    const after = treeSnapshot(root);
    const what = describeRun(r);
    expect(r.peakRssKiB / 1024, what).toBeLessThan(MAX_RSS_MIB);
    // Junk is rejected before much of it reaches the disk (a bomb must not fill the disk instead).
    expect(r.peakDirBytes / MiB, what).toBeLessThan(MAX_TEMP_MIB);
    expect(r.code, what).toBe(1);
    expect(treeChanges(before, after), what).toEqual([]);
    const lines = r.stderr.trim().split("\n");
    expect(lines, what).toHaveLength(1);
    expect(lines[0], what).toMatch(/^walship: /);
    expect(lines[0], what).toMatch(escapeRe(key));
    expect(lines[0], what).toMatch(reason);
    expect(fs.readdirSync(out.dir), what).toEqual([]);
    return r;
  }

  /** Runs a restore that must succeed with the source's rows, writing nothing but the output file. */
  async function expectRestored(name: string, url: string, env: Record<string, string> = {}): Promise<void> {
    const out = outputFor(name);
    const before = treeSnapshot(root);
    const r = await runCliMetered(["restore", "-o", out.file, url], { env, killAboveKiB: KILL_RSS_KIB });
    const what = describeRun(r);
    expect(r.code, what).toBe(0);
    expect(treeChanges(before, treeSnapshot(root)), what).toEqual([`+ ${out.file}`]);
    expect(r.peakRssKiB / 1024, what).toBeLessThan(MAX_RSS_MIB);
    const restored = readDatabase(out.file);
    expect(restored.integrity).toBe("ok");
    expect(restored.rows).toEqual(source.rows);
  }

  test("the hand-built replica restores, from a directory and from S3 (baseline for every case below)", async () => {
    await expectRestored(
      "baseline-file",
      `file://${fileReplica("baseline", { [SNAP_KEY]: snapLz4, [SEG_KEY]: segLz4 })}`,
    );
    const url = await s3Replica("baseline", { [SNAP_KEY]: snapLz4, [SEG_KEY]: segLz4 });
    await expectRestored("baseline-s3", url, s3Env());
  }, 60_000);

  describe("(a) names outside the layout", () => {
    test("a directory replica with junk names, symlinks out of the replica and a FIFO: all ignored", async () => {
      const outside = path.join(root, "replicas", "junk-outside");
      fs.mkdirSync(outside, { recursive: true });
      // Anything read from here would break the restore: a bomb and garbage.
      fs.writeFileSync(path.join(outside, "bomb.lz4"), lz4ZeroBomb(64 * MiB));
      const garbage = encodeLz4Frame(new Uint8Array(5000).fill(0x5a));
      const dir = fileReplica("junk", {
        [SNAP_KEY]: snapLz4,
        [SEG_KEY]: segLz4,
        // Names that are almost the layout.
        [`generations/${GEN}/snapshots/00000001.snapshot.lz4.bak`]: garbage,
        [`generations/${GEN}/snapshots/0000000A.snapshot.lz4`]: garbage,
        [`generations/${GEN}/snapshots/00000001.snapshot.lz4.tmp`]: garbage,
        [`generations/${GEN}/snapshots/ 00000002.snapshot.lz4`]: garbage,
        [`generations/${GEN}/wal/00000001_00000000.WAL.LZ4`]: garbage,
        [`generations/${GEN}/wal/0000001_00000000.wal.lz4`]: garbage,
        [`generations/${GEN}/wal/00000001_00000000.wal.lz4.tmp`]: garbage,
        [`generations/${GEN}/wal/nested/00000001_00000000.wal.lz4`]: garbage,
        [`generations/${GEN}/wal/00000001_00000000.wal`]: garbage,
        [`generations/${GEN}/00000001.snapshot.lz4`]: garbage,
        // Generations that are not generation names, with newer-looking content.
        "generations/FFFFFFFFFFFFFFFF/snapshots/00000009.snapshot.lz4": garbage,
        "generations/fffffffffffffff/snapshots/00000009.snapshot.lz4": garbage,
        "generations/..ffffffffffffff/snapshots/00000009.snapshot.lz4": garbage,
        "generations/ffffffffffffffff.tmp/snapshots/00000009.snapshot.lz4": garbage,
        "00000000.snapshot.lz4": garbage,
      });
      const wal = path.join(dir, "generations", GEN, "wal");
      // Symlinks out of the replica, named like the layout: a segment, a snapshot, a whole generation.
      fs.symlinkSync(path.join(outside, "bomb.lz4"), path.join(wal, "00000001_00000000.wal.lz4"));
      fs.symlinkSync(
        path.join(outside, "bomb.lz4"),
        path.join(dir, "generations", GEN, "snapshots", "00000005.snapshot.lz4"),
      );
      fs.mkdirSync(path.join(outside, "gen", "snapshots"), { recursive: true });
      fs.copyFileSync(
        path.join(outside, "bomb.lz4"),
        path.join(outside, "gen", "snapshots", "00000009.snapshot.lz4"),
      );
      fs.symlinkSync(path.join(outside, "gen"), path.join(dir, "generations", "fedcba9876543210"));
      // A FIFO named like the next segment: reading it would block the restore forever.
      expect(Bun.spawnSync(["mkfifo", path.join(wal, "00000002_00000000.wal.lz4")]).exitCode).toBe(0);
      // A directory named like a segment.
      fs.mkdirSync(path.join(wal, "00000003_00000000.wal.lz4"));
      await expectRestored("junk", `file://${dir}`);
    }, 60_000);

    test("an S3 listing with `..` keys, absolute keys and escaping prefixes: never fetched, nothing written outside the output", async () => {
      const prefix = "db";
      const garbage = encodeLz4Frame(new Uint8Array(5000).fill(0x5a));
      const objects: HostileObject[] = [
        { key: `${prefix}/${SNAP_KEY}`, body: snapLz4 },
        { key: `${prefix}/${SEG_KEY}`, body: segLz4 },
        // Keys whose last part is a layout name, but which climb out of the replica.
        { key: `${prefix}/generations/${GEN}/wal/../../../../etc/00000001_00000000.wal.lz4`, body: garbage },
        {
          key: `${prefix}/generations/${GEN}/snapshots/../../../../../tmp/00000007.snapshot.lz4`,
          body: garbage,
        },
        { key: `/etc/${GEN}/00000002_00000000.wal.lz4`, body: garbage, alwaysListed: true },
        { key: "/etc/passwd", body: garbage, alwaysListed: true },
        {
          key: `../../../../../../../../../tmp/walship-escape/${GEN}/wal/00000000_00000000.wal.lz4`,
          body: garbage,
          alwaysListed: true,
        },
        { key: `${prefix}/generations/${GEN}/wal/../../../../${GEN}`, body: garbage },
        { key: `${prefix}/generations/${GEN}/wal/..`, body: garbage },
      ];
      const hostile = await startHostileS3("bkt", objects, (asked) =>
        asked === `${prefix}/generations/`
          ? [
              `${prefix}/generations/../../../../../../tmp/fedcba9876543210/`,
              `${prefix}/generations/../../../${GEN}/`,
              "/absolute/fedcba9876543210/",
              `${prefix}/generations/${GEN}/`,
            ]
          : [],
      );
      try {
        const out = outputFor("s3-dotdot");
        const before = treeSnapshot(root);
        const r = await runCliMetered(["restore", "-o", out.file, `${hostile.endpoint}/bkt/${prefix}`], {
          env: { LITESTREAM_ACCESS_KEY_ID: "k", LITESTREAM_SECRET_ACCESS_KEY: "s" },
          killAboveKiB: KILL_RSS_KIB,
        });
        const what = `${describeRun(r)}; GETs: ${hostile.gets.join(", ")}`;
        // Only keys of the layout under the replica root were ever fetched.
        const canonical = new RegExp(
          `^${prefix}/generations/[0-9a-f]{16}/(snapshots/[0-9a-f]{8}\\.snapshot\\.lz4|wal/[0-9a-f]{8}_[0-9a-f]{8}\\.wal\\.lz4)$`,
        );
        for (const key of hostile.gets) expect(key, what).toMatch(canonical);
        expect(
          hostile.requests.filter((q) => q.includes("..") || q.includes("%2E%2E")),
          what,
        ).toEqual([]);
        expect(r.peakRssKiB / 1024, what).toBeLessThan(MAX_RSS_MIB);
        const changes = treeChanges(before, treeSnapshot(root));
        if (r.code === 0) {
          // Ignored: the restore used the real objects only.
          expect(changes, what).toEqual([`+ ${out.file}`]);
          expect(readDatabase(out.file).rows).toEqual(source.rows);
        } else {
          // Rejected: one line naming an object, and nothing left behind.
          expect(r.code, what).toBe(1);
          expect(r.stderr.trim().split("\n"), what).toHaveLength(1);
          expect(r.stderr, what).toMatch(/generations\//);
          expect(changes, what).toEqual([]);
        }
        expect(fs.existsSync("/tmp/walship-escape")).toBe(false);
      } finally {
        await hostile.stop();
      }
    }, 60_000);
  });

  describe("(b) an LZ4 decompression bomb (2 GiB of zeros in an 8 MiB frame)", () => {
    test("as a WAL segment in a directory replica", async () => {
      const dir = fileReplica("bomb-wal", { [SNAP_KEY]: snapLz4, [SEG_KEY]: lz4ZeroBomb(BOMB_BYTES) });
      await expectRejected(
        "bomb-wal",
        `file://${dir}`,
        SEG_KEY,
        /corrupt|WAL header|exceeds|limit|too large/i,
      );
    }, 120_000);

    test("as a snapshot in a directory replica", async () => {
      const dir = fileReplica("bomb-snapshot", { [SNAP_KEY]: lz4ZeroBomb(BOMB_BYTES), [SEG_KEY]: segLz4 });
      await expectRejected(
        "bomb-snapshot",
        `file://${dir}`,
        SNAP_KEY,
        /corrupt|not an SQLite database|exceeds|limit|too large/i,
      );
    }, 120_000);

    test("as seven 512 MiB segments after a valid first one (the parallel download window)", async () => {
      const each = 512 * MiB;
      const bomb = lz4ZeroBomb(each);
      const objects: Record<string, Uint8Array> = {
        [SNAP_KEY]: encodeLz4Frame(source.snapshot),
        // WAL index 0 begins with a header-only segment, so later segments are read as frames.
        [SEG_KEY]: encodeLz4Frame(buildWal(4096, [])),
      };
      for (let i = 0; i < 7; i++) objects[walSegmentPath("", GEN, 0, 32 + i * each)] = bomb;
      const dir = fileReplica("bomb-window", objects);
      await expectRejected(
        "bomb-window",
        `file://${dir}`,
        walSegmentPath("", GEN, 0, 32),
        /corrupt|checksum|exceeds|limit|too large/i,
      );
    }, 120_000);

    test("as a WAL segment on S3", async () => {
      const url = await s3Replica("bomb-wal", { [SNAP_KEY]: snapLz4, [SEG_KEY]: lz4ZeroBomb(BOMB_BYTES) });
      await expectRejected(
        "bomb-wal-s3",
        url,
        SEG_KEY,
        /corrupt|WAL header|exceeds|limit|too large/i,
        s3Env(),
      );
    }, 120_000);
  });

  describe("(c) declared sizes far beyond the data", () => {
    test("a snapshot frame whose content size says 100 GB", async () => {
      const dir = fileReplica("declared-snapshot", {
        [SNAP_KEY]: lz4FrameDeclaring(source.snapshot, 100_000_000_000),
        [SEG_KEY]: segLz4,
      });
      await expectRejected("declared-snapshot", `file://${dir}`, SNAP_KEY, /content size/);
    }, 60_000);

    test("a WAL segment frame whose content size says 100 GB, on S3", async () => {
      const url = await s3Replica("declared-wal", {
        [SNAP_KEY]: snapLz4,
        [SEG_KEY]: lz4FrameDeclaring(source.wal, 100_000_000_000),
      });
      await expectRejected("declared-wal-s3", url, SEG_KEY, /content size/, s3Env());
    }, 60_000);

    /** A directory replica whose snapshot is a sparse file of `size` bytes (no disk used). */
    function sparseSnapshotReplica(name: string, size: number): string {
      const dir = fileReplica(name, { [SEG_KEY]: segLz4 });
      const file = path.join(dir, SNAP_KEY);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      const fd = fs.openSync(file, "w");
      fs.ftruncateSync(fd, size);
      fs.closeSync(fd);
      return dir;
    }

    test("a sparse 100 GB snapshot file in a directory replica", async () => {
      const dir = sparseSnapshotReplica("sparse-100g", 100_000_000_000);
      // Read in pieces, it is rejected at its first bytes (not an LZ4 frame), without reading 100 GB.
      await expectRejected(
        "sparse-100g",
        `file://${dir}`,
        SNAP_KEY,
        /corrupt|bad magic|too large|larger than|limit/i,
      );
    }, 60_000);

    test("a sparse 1.5 GB snapshot file in a directory replica (listed size far beyond any real snapshot's frame)", async () => {
      const dir = sparseSnapshotReplica("sparse-1g5", 1_500_000_000);
      await expectRejected(
        "sparse-1g5",
        `file://${dir}`,
        SNAP_KEY,
        /corrupt|bad magic|too large|larger than|limit/i,
      );
    }, 120_000);

    test("an S3 listing that claims petabytes and downloads that claim 100 GB but send a few KB", async () => {
      const prefix = "db";
      const hostile = await startHostileS3("bkt", [
        {
          key: `${prefix}/${SNAP_KEY}`,
          body: snapLz4,
          listedSize: 1000 * TB,
          claimedLength: 100_000_000_000,
        },
        { key: `${prefix}/${SEG_KEY}`, body: segLz4, listedSize: 1000 * TB },
      ]);
      try {
        await expectRejected(
          "claimed-length",
          `${hostile.endpoint}/bkt/${prefix}`,
          SNAP_KEY,
          /get|download|read|body|short|abort|closed|socket/i,
          {
            LITESTREAM_ACCESS_KEY_ID: "k",
            LITESTREAM_SECRET_ACCESS_KEY: "s",
          },
        );
      } finally {
        await hostile.stop();
      }
    }, 120_000);

    test("an S3 listing that claims petabytes for objects whose downloads are small and valid", async () => {
      const prefix = "db";
      const hostile = await startHostileS3("bkt", [
        { key: `${prefix}/${SNAP_KEY}`, body: snapLz4, listedSize: 1000 * TB },
        { key: `${prefix}/${SEG_KEY}`, body: segLz4, listedSize: 1000 * TB },
      ]);
      try {
        const out = outputFor("listed-size");
        const before = treeSnapshot(root);
        const r = await runCliMetered(["restore", "-o", out.file, `${hostile.endpoint}/bkt/${prefix}`], {
          env: { LITESTREAM_ACCESS_KEY_ID: "k", LITESTREAM_SECRET_ACCESS_KEY: "s" },
          killAboveKiB: KILL_RSS_KIB,
        });
        const what = describeRun(r);
        expect(r.peakRssKiB / 1024, what).toBeLessThan(MAX_RSS_MIB);
        const changes = treeChanges(before, treeSnapshot(root));
        if (r.code === 0) {
          // The listing's size is only a progress estimate: the data itself is verified.
          expect(changes, what).toEqual([`+ ${out.file}`]);
          expect(readDatabase(out.file).rows).toEqual(source.rows);
        } else {
          expect(r.code, what).toBe(1);
          expect(r.stderr.trim().split("\n"), what).toHaveLength(1);
          expect(r.stderr, what).toMatch(/generations\//);
          expect(changes, what).toEqual([]);
        }
      } finally {
        await hostile.stop();
      }
    }, 60_000);
  });

  describe("(d) a snapshot that is not a usable SQLite file", () => {
    test("random bytes", async () => {
      const random = crypto.getRandomValues(new Uint8Array(8192));
      const dir = fileReplica("not-sqlite", { [SNAP_KEY]: encodeLz4Frame(random), [SEG_KEY]: segLz4 });
      await expectRejected("not-sqlite", `file://${dir}`, SNAP_KEY, /not an SQLite database/);
    }, 60_000);

    test("a garbage page size, on S3", async () => {
      const bad = source.snapshot.slice();
      bad[16] = 0x03; // 1000: not a power of two
      bad[17] = 0xe8;
      const url = await s3Replica("page-size", { [SNAP_KEY]: encodeLz4Frame(bad), [SEG_KEY]: segLz4 });
      await expectRejected("page-size-s3", url, SNAP_KEY, /invalid page size/, s3Env());
    }, 60_000);

    test("an empty snapshot", async () => {
      const dir = fileReplica("empty", { [SNAP_KEY]: encodeLz4Frame(new Uint8Array(0)), [SEG_KEY]: segLz4 });
      await expectRejected("empty", `file://${dir}`, SNAP_KEY, /need 100 bytes|empty|database header/);
    }, 60_000);
    test("a valid header over garbage pages (a snapshot-only replica, so the snapshot is the culprit)", async () => {
      const bad = source.snapshot.slice();
      bad.set(crypto.getRandomValues(new Uint8Array(bad.length - 100)), 100);
      const dir = fileReplica("garbage-pages", { [SNAP_KEY]: encodeLz4Frame(bad) });
      await expectRejected("garbage-pages", `file://${dir}`, SNAP_KEY, /quick_check|malformed|corrupt/);
    }, 60_000);
  });

  describe("(e) a WAL segment whose page size differs from the snapshot's", () => {
    const walOf1024 = () =>
      encodeLz4Frame(
        buildWal(1024, [
          { pgno: 1, commitSize: 2 },
          { pgno: 2, commitSize: 2 },
        ]),
      );

    test("in a directory replica", async () => {
      const dir = fileReplica("page-mismatch", { [SNAP_KEY]: snapLz4, [SEG_KEY]: walOf1024() });
      await expectRejected(
        "page-mismatch",
        `file://${dir}`,
        SEG_KEY,
        /page size 1024 does not match the snapshot's 4096/,
      );
    }, 60_000);

    test("on S3", async () => {
      const url = await s3Replica("page-mismatch", { [SNAP_KEY]: snapLz4, [SEG_KEY]: walOf1024() });
      await expectRejected(
        "page-mismatch-s3",
        url,
        SEG_KEY,
        /page size 1024 does not match the snapshot's 4096/,
        s3Env(),
      );
    }, 60_000);
  });
});
