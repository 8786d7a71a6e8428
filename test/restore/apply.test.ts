/**
 * Property test of the WAL applier: whatever the transactions, however their bytes are cut into segments
 * and pushes, and whether an index is promised to be read to its end (so its pages are written before
 * their commit) or not, the file ends up as a checkpoint would leave it: every committed transaction's
 * pages in order, nothing of a transaction that did not commit, cut to the last commit's size. And a
 * restore that stops inside an index on purpose never keeps a page of the transaction it left open.
 *
 * Then one case per rule, by name: where pages land and the file's size, when an open transaction's pages
 * are written, what is refused and with which message, and SQLite's own WAL applied as its checkpoint
 * would.
 */
import { afterAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { RestoreIntegrityError, WalApplier } from "../../src/restore/apply.ts";
import { openDatabase } from "../../src/runtime/sqlite.ts";
import {
  frameCommitSize,
  frameSize,
  scanWal,
  WAL_FRAME_HEADER_SIZE,
  WAL_HEADER_SIZE,
  walSize,
} from "../../src/sqlite/wal.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";
import { buildWal, type FrameSpec } from "../helpers/wal-builder.ts";

const PAGE = 512;
const CASES = 300;

/** A small deterministic generator (mulberry32), so a failure names the case that reproduces it. */
function rng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) % n) | 0;
  };
}

function pageBytes(id: number): Uint8Array {
  const p = new Uint8Array(PAGE);
  new DataView(p.buffer).setUint32(0, id);
  p.fill(id & 0xff, 4);
  return p;
}

interface IndexCase {
  frames: FrameSpec[];
  /** Frames of the last committed transaction's end (everything after is an open transaction). */
  committedFrames: number;
}

/** Random transactions over pages 1..60: runs of consecutive pages, repeats, and now and then a long run. */
function randomIndex(r: (n: number) => number, nextId: () => number): IndexCase {
  const frames: FrameSpec[] = [];
  let committedFrames = 0;
  const txs = 1 + r(6);
  for (let t = 0; t < txs; t++) {
    const pages: number[] = [];
    const pieces = 1 + r(4);
    for (let k = 0; k < pieces; k++) {
      const start = 1 + r(60);
      const len = r(40) === 0 ? 1100 : 1 + r(12); // a run longer than one write's buffer limit
      for (let i = 0; i < len; i++) pages.push(start + i);
    }
    const size = Math.max(...pages) + r(3);
    for (const [i, pgno] of pages.entries()) {
      frames.push({ pgno, page: pageBytes(nextId()), commitSize: i === pages.length - 1 ? size : 0 });
    }
    committedFrames = frames.length;
  }
  // Sometimes an open transaction after the last commit.
  const open = r(3) === 0 ? 1 + r(20) : 0;
  for (let i = 0; i < open; i++) frames.push({ pgno: 1 + r(70), page: pageBytes(nextId()) });
  return { frames, committedFrames };
}

/** The file a checkpoint leaves: `initial`, then every committed frame in order, cut to the last commit. */
function expected(initial: Uint8Array, indexes: IndexCase[]): Uint8Array {
  let file = initial.slice();
  for (const ix of indexes) {
    let size = -1;
    for (const f of ix.frames.slice(0, ix.committedFrames)) {
      const end = f.pgno * PAGE;
      if (file.length < end) {
        const grown = new Uint8Array(end);
        grown.set(file);
        file = grown;
      }
      file.set(f.page!, (f.pgno - 1) * PAGE);
      if (f.commitSize) size = f.commitSize;
    }
    if (size >= 0) {
      const cut = new Uint8Array(size * PAGE);
      cut.set(file.subarray(0, Math.min(file.length, cut.length)));
      file = cut;
    }
  }
  return file;
}

/** Cuts `bytes` into 1..5 pieces at random places (not on frame boundaries). */
function cuts(r: (n: number) => number, bytes: Uint8Array): Uint8Array[] {
  const points = Array.from({ length: r(5) }, () => r(bytes.length)).sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let at = 0;
  for (const p of [...points, bytes.length]) {
    out.push(bytes.subarray(at, p));
    at = p;
  }
  return out;
}

test(`the applied file equals a checkpoint's, however the WAL is cut and written (${CASES} random cases)`, () => {
  const dir = makeTempDir();
  try {
    for (let seed = 1; seed <= CASES; seed++) {
      const r = rng(seed);
      let id = 0;
      const nextId = () => ++id;
      const initial = new Uint8Array((1 + r(40)) * PAGE).map((_, i) => (i * 31 + seed) & 0xff);
      const indexes = Array.from({ length: 1 + r(3) }, () => randomIndex(r, nextId));
      // A point in time may stop inside the last index (so it keeps its open transaction back); earlier
      // indexes must be whole, as the restore plan guarantees.
      const stopInside = r(2) === 0;
      const file = path.join(dir, `db-${seed}`);
      fs.writeFileSync(file, initial);
      const fd = fs.openSync(file, "r+");
      const applier = new WalApplier(fd, PAGE, `${file}.spill`, r(2) === 0 ? 4 * PAGE : undefined);
      let outcome: "ok" | "open transaction" = "ok";
      try {
        indexes.forEach((ix, n) => {
          const last = n === indexes.length - 1;
          const toTheEnd = last && stopInside ? false : r(2) === 0;
          applier.begin(toTheEnd);
          const wal = buildWal(PAGE, ix.frames, { salt1: seed, salt2: n });
          for (const piece of cuts(r, wal)) for (const push of cuts(r, piece)) applier.push(push, `ix${n}`);
          const openTx = ix.committedFrames < ix.frames.length;
          if (openTx && !(last && stopInside)) {
            expect(() => applier.end(`ix${n}`)).toThrow(RestoreIntegrityError);
            outcome = "open transaction";
            throw outcome;
          }
          applier.end(`ix${n}`, last && stopInside);
        });
      } catch (err) {
        if (err !== "open transaction") throw err;
      } finally {
        applier.close();
        fs.closeSync(fd);
      }
      if (outcome === "ok") {
        const got = new Uint8Array(fs.readFileSync(file));
        const want = expected(initial, indexes);
        if (!Buffer.from(got).equals(Buffer.from(want))) throw new Error(`case ${seed}: the file differs`);
      }
      expect(fs.existsSync(`${file}.spill`)).toBe(false);
      fs.rmSync(file);
    }
  } finally {
    removeDir(dir);
  }
});

test("an index promised to be read to its end cannot then be left inside an open transaction", () => {
  const dir = makeTempDir();
  try {
    const file = path.join(dir, "db");
    fs.writeFileSync(file, new Uint8Array(4 * PAGE));
    const fd = fs.openSync(file, "r+");
    const applier = new WalApplier(fd, PAGE, `${file}.spill`);
    applier.begin(true);
    applier.push(buildWal(PAGE, [{ pgno: 1, commitSize: 4 }, { pgno: 2 }]), "ix");
    // Its open transaction's page is on disk already: stopping here on purpose is a caller's bug.
    expect(() => applier.end("ix", true)).toThrow(/after writing an open transaction/);
    applier.close();
    fs.closeSync(fd);
  } finally {
    removeDir(dir);
  }
});

describe("WalApplier, case by case", () => {
  const dir = makeTempDir();
  afterAll(() => removeDir(dir));
  let made = 0;

  /** Writes `initial` to a file, runs `use` with an applier on it, and returns the file's bytes after. */
  function applied(
    initial: Uint8Array,
    use: (applier: WalApplier, file: string) => void,
    pageSize = PAGE,
  ): Uint8Array {
    const file = path.join(dir, `db-${++made}`);
    fs.writeFileSync(file, initial);
    const fd = fs.openSync(file, "r+");
    const applier = new WalApplier(fd, pageSize, `${file}.spill`, 4 * pageSize);
    try {
      use(applier, file);
    } finally {
      applier.close();
      fs.closeSync(fd);
    }
    expect(fs.existsSync(`${file}.spill`)).toBe(false);
    return new Uint8Array(fs.readFileSync(file));
  }

  /** Pages filled with one byte each: `fills[i]` is page i + 1's. */
  function pages(...fills: number[]): Uint8Array {
    const out = new Uint8Array(fills.length * PAGE);
    fills.forEach((f, i) => {
      out.fill(f, i * PAGE, (i + 1) * PAGE);
    });
    return out;
  }

  function integrityError(run: () => void): RestoreIntegrityError {
    try {
      run();
    } catch (err) {
      expect(err).toBeInstanceOf(RestoreIntegrityError);
      return err as RestoreIntegrityError;
    }
    throw new Error("expected a RestoreIntegrityError");
  }

  test("pages land at (pgno - 1) * pageSize and the file takes each last commit's size, up or down", () => {
    let commits = 0;
    const ends: number[] = [];
    const file = applied(pages(0x11, 0x11, 0x11), (applier) => {
      applier.begin(false);
      // Pages 2 and 5 of a database that grows to 5 pages (page 4 is a hole, as a checkpoint leaves it).
      applier.push(
        buildWal(
          PAGE,
          [
            { pgno: 2, fill: 0x22 },
            { pgno: 5, fill: 0x55, commitSize: 5 },
          ],
          { salt1: 1 },
        ),
        "index-1",
      );
      ends.push(applier.end("index-1"));
      // The next WAL index: a transaction that rewrites page 1 and leaves 2 pages.
      applier.begin(true);
      applier.push(buildWal(PAGE, [{ pgno: 1, fill: 0x77, commitSize: 2 }], { salt1: 2 }), "index-2");
      ends.push(applier.end("index-2"));
      commits = applier.commits;
    });
    expect(file).toEqual(pages(0x77, 0x22));
    expect(ends).toEqual([walSize(PAGE, 2), walSize(PAGE, 1)]);
    expect(commits).toBe(2);

    const grown = applied(pages(0x11, 0x11, 0x11), (applier) => {
      applier.begin(false);
      applier.push(
        buildWal(PAGE, [
          { pgno: 2, fill: 0x22 },
          { pgno: 5, fill: 0x55, commitSize: 5 },
        ]),
        "ix",
      );
      applier.end("ix");
    });
    expect(grown).toEqual(pages(0x11, 0x22, 0x11, 0x00, 0x55));
  });

  test("an open transaction's pages reach the file only with its commit frame, unless read to the end", () => {
    const wal = buildWal(PAGE, [
      { pgno: 1, fill: 0xa1 },
      { pgno: 2, fill: 0xa2 },
      { pgno: 3, fill: 0xa3, commitSize: 3 },
    ]);
    const beforeCommit = walSize(PAGE, 2);
    for (const toTheEnd of [false, true]) {
      let early: Uint8Array = new Uint8Array(0);
      const final = applied(pages(0x11, 0x11, 0x11), (applier, file) => {
        applier.begin(toTheEnd);
        applier.push(wal.subarray(0, beforeCommit), "ix");
        early = new Uint8Array(fs.readFileSync(file));
        applier.push(wal.subarray(beforeCommit), "ix");
        applier.end("ix");
      });
      // begin(true) promises the index is read to its end, so its pages are written as they arrive.
      expect({ toTheEnd, early }).toEqual({
        toTheEnd,
        early: toTheEnd ? pages(0xa1, 0xa2, 0x11) : pages(0x11, 0x11, 0x11),
      });
      expect(final).toEqual(pages(0xa1, 0xa2, 0xa3));
    }
  });

  test("a restore that stops inside an index on purpose keeps none of the open transaction", () => {
    const wal = buildWal(PAGE, [
      { pgno: 1, fill: 0xb1, commitSize: 2 },
      { pgno: 2, fill: 0xb2 },
      { pgno: 3, fill: 0xb3 },
    ]);
    let consumed = 0;
    const file = applied(pages(0x11, 0x11), (applier) => {
      applier.begin(false);
      applier.push(wal, "ix");
      consumed = applier.end("ix", true);
    });
    expect(file).toEqual(pages(0xb1, 0x11));
    expect(consumed).toBe(walSize(PAGE, 3));
  });

  test("an index that ends inside a transaction is refused, naming the object and what to do", () => {
    const wal = buildWal(PAGE, [{ pgno: 1, commitSize: 2 }, { pgno: 2 }, { pgno: 1 }]);
    applied(pages(0x11, 0x11), (applier) => {
      applier.begin(false);
      applier.push(wal, "generations/g/wal/00000001_00000000.wal.lz4");
      const err = integrityError(() => applier.end("generations/g/wal/00000001_00000000.wal.lz4"));
      expect(err.message).toBe(
        "Cannot restore: generations/g/wal/00000001_00000000.wal.lz4 ends inside a transaction (2 frame(s) after the last commit of its WAL index), so the replica is missing data after that commit",
      );
      expect(err.key).toBe("generations/g/wal/00000001_00000000.wal.lz4");
      expect(err.hint).toContain("restore an earlier point in time");
    });
  });

  test("a WAL header of another page size, or failing its checksum, is refused with the object's key", () => {
    applied(pages(0x11), (applier) => {
      applier.begin(false);
      const err = integrityError(() => applier.push(buildWal(1024, [{ pgno: 1, commitSize: 1 }]), "k1"));
      expect(err.message).toBe("WAL page size 1024 does not match the snapshot's 512 in k1");
      expect(err.key).toBe("k1");
    });
    applied(pages(0x11), (applier) => {
      applier.begin(false);
      const wal = buildWal(PAGE, [{ pgno: 1, commitSize: 1 }]);
      wal[12]! ^= 1;
      // The header arrives in two pieces; the check waits for the whole of it.
      applier.push(wal.subarray(0, 20), "k2");
      const err = integrityError(() => applier.push(wal.subarray(20), "k2"));
      expect(err.message).toBe("Cannot read WAL header: header checksum mismatch in k2");
      expect(err.key).toBe("k2");
    });
  });

  test("a frame with a broken checksum or another session's salts is refused at its offset", () => {
    const good = buildWal(
      PAGE,
      [
        { pgno: 1, commitSize: 1 },
        { pgno: 2, commitSize: 2 },
      ],
      { salt1: 5 },
    );
    const broken = good.slice();
    broken[walSize(PAGE, 1) + WAL_FRAME_HEADER_SIZE + 7]! ^= 0x80;
    const foreign = good.slice();
    foreign.set(
      buildWal(PAGE, [{ pgno: 1 }, { pgno: 2, commitSize: 2 }], { salt1: 6 }).subarray(walSize(PAGE, 1)),
      walSize(PAGE, 1),
    );
    for (const [name, wal] of [
      ["broken checksum", broken],
      ["foreign salts", foreign],
    ] as const) {
      applied(pages(0x11), (applier) => {
        applier.begin(false);
        const err = integrityError(() => applier.push(wal, "k"));
        expect({ name, message: err.message }).toEqual({
          name,
          message: `WAL frame at offset ${walSize(PAGE, 1)} fails its salt or checksum check in k`,
        });
      });
    }
  });

  test("data that ends inside a frame or inside the header is refused", () => {
    const wal = buildWal(PAGE, [
      { pgno: 1, commitSize: 1 },
      { pgno: 2, commitSize: 2 },
    ]);
    for (const cut of [20, walSize(PAGE, 1) + 10]) {
      applied(pages(0x11), (applier) => {
        applier.begin(false);
        applier.push(wal.subarray(0, cut), "k");
        expect(() => applier.end("k")).toThrow("WAL data ends with a partial frame in k");
      });
    }
  });

  test("SQLite's own WAL applied to the database as it was gives the file SQLite's checkpoint gives", () => {
    const file = path.join(dir, "sqlite.db");
    let db = openDatabase(file, { create: true });
    db.run("PRAGMA journal_mode = wal");
    db.run("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)");
    db.run("BEGIN");
    for (let i = 0; i < 200; i++) db.run("INSERT INTO t (v) VALUES (randomblob(300))");
    db.run("COMMIT");
    db.close(); // the last connection checkpoints and removes the WAL
    const before = new Uint8Array(fs.readFileSync(file));

    db = openDatabase(file);
    db.run("PRAGMA wal_autocheckpoint = 0");
    for (let tx = 0; tx < 20; tx++) {
      db.run("BEGIN");
      for (let i = 0; i < 100; i++) db.run("INSERT INTO t (v) VALUES (randomblob(500))");
      db.run("COMMIT");
    }
    db.run("UPDATE t SET v = randomblob(100) WHERE id % 7 = 0");
    db.run("DELETE FROM t WHERE id > 300");
    db.run("VACUUM"); // the database shrinks: the last commit's size is below the largest
    const wal = new Uint8Array(fs.readFileSync(`${file}-wal`));
    db.run("PRAGMA wal_checkpoint(TRUNCATE)");
    db.close();
    const after = new Uint8Array(fs.readFileSync(file));

    const pageSize = scanWal(wal).header.pageSize;
    let largest = 0;
    for (let off = WAL_HEADER_SIZE; off < wal.length; off += frameSize(pageSize)) {
      largest = Math.max(largest, frameCommitSize(wal, off));
    }
    expect(after.length).toBeLessThan(largest * pageSize);
    for (const toTheEnd of [true, false]) {
      const got = applied(
        before,
        (applier) => {
          applier.begin(toTheEnd);
          for (let at = 0; at < wal.length; at += 65_536) applier.push(wal.subarray(at, at + 65_536), "wal");
          expect(applier.end("wal")).toBe(wal.length);
        },
        pageSize,
      );
      expect({ toTheEnd, same: Buffer.from(got).equals(after) }).toEqual({ toTheEnd, same: true });
    }
  });
});
