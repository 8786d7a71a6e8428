/**
 * Property test of the WAL applier: whatever the transactions, however their bytes are cut into segments
 * and pushes, and whether an index is promised to be read to its end (so its pages are written before
 * their commit) or not, the file ends up as a checkpoint would leave it: every committed transaction's
 * pages in order, nothing of a transaction that did not commit, cut to the last commit's size. And a
 * restore that stops inside an index on purpose never keeps a page of the transaction it left open.
 */
import { expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { RestoreIntegrityError, WalApplier } from "../../src/restore/apply.ts";
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
