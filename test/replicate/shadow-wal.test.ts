/**
 * The shadow WAL's capture interface (initShadowWal, copyCommittedFrames).
 *
 * Against real SQLite: a transaction that SQLite spills into the WAL before it commits (larger than one
 * read chunk) must never reach the shadow until its commit frame does, whether it then commits or rolls
 * back. The same invariant over random histories is the `capture` fuzz
 * target (test/fuzz/targets/capture.ts).
 *
 * On WALs built frame by frame (test/helpers/wal-builder.ts), one named case each: the committed end,
 * transactions across read chunks, resuming from the shadow's end, a torn shadow tail, foreign salts and
 * broken checksums, and a WAL rewritten while a copy reads it.
 */
import { Database } from "bun:sqlite";
import { afterAll, describe, expect, spyOn, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { concatBytes } from "../../src/format/bytes.ts";
import * as fileIo from "../../src/io/file-io.ts";
import { copyCommittedFrames, initShadowWal } from "../../src/replicate/shadow-wal.ts";
import { frameSize, scanWal, WAL_FRAME_HEADER_SIZE, WAL_HEADER_SIZE, walSize } from "../../src/sqlite/wal.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";
import { buildWal, type FrameSpec } from "../helpers/wal-builder.ts";

/**
 * A child process that begins a transaction, spills ROWS rows of 10 kB into the WAL (cache_size is tiny,
 * so the pages leave the cache long before the commit), says "spilled", then on "commit" or "rollback"
 * on stdin finishes the transaction that way, says "done" and waits to be killed.
 */
const SPILLER = `
import { Database } from "bun:sqlite";
const [file, rows] = process.argv.slice(2);
const db = new Database(file);
db.run("PRAGMA cache_size = 20");
db.run("PRAGMA wal_autocheckpoint = 0");
db.run("BEGIN IMMEDIATE");
const ins = db.prepare("INSERT INTO t (v) VALUES (randomblob(10000))");
for (let i = 0; i < Number(rows); i++) ins.run();
console.log("spilled");
for await (const line of console) {
  db.run(line.trim() === "commit" ? "COMMIT" : "ROLLBACK");
  console.log("done");
}
`;

const NO_FSYNC = { fsync: false };
const dir = makeTempDir("walship-shadow-");
afterAll(() => removeDir(dir));
const spillerScript = path.join(dir, "spiller.ts");
fs.writeFileSync(spillerScript, SPILLER);

/** Compares two byte strings, reporting the length and the first differing offset rather than a dump. */
function expectSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  let differs = -1;
  for (let i = 0; i < Math.min(actual.length, expected.length); i++) {
    if (actual[i] !== expected[i]) {
      differs = i;
      break;
    }
  }
  expect({ length: actual.length, differs }).toEqual({ length: expected.length, differs: -1 });
}

/** What SQLite has committed in the WAL file right now: its bytes up to the last commit frame. */
function committedWal(file: string): Uint8Array {
  const wal = new Uint8Array(fs.readFileSync(`${file}-wal`));
  return wal.subarray(0, scanWal(wal).scan.lastCommitEnd);
}

class Spiller {
  private readonly proc;
  private readonly lines: AsyncIterator<string>;

  constructor(file: string, rows: number) {
    this.proc = Bun.spawn([process.execPath, spillerScript, file, String(rows)], {
      stdin: "pipe",
      stdout: "pipe",
      stderr: "inherit",
    });
    this.lines = lineReader(this.proc.stdout);
  }

  async expect(word: string): Promise<void> {
    const { value } = await this.lines.next();
    if (value !== word) throw new Error(`spiller said ${JSON.stringify(value)}, expected ${word}`);
  }

  async finish(how: "commit" | "rollback"): Promise<void> {
    this.proc.stdin.write(`${how}\n`);
    this.proc.stdin.flush();
    await this.expect("done");
  }

  async kill(): Promise<void> {
    this.proc.kill("SIGKILL");
    await this.proc.exited;
  }
}

async function* lineReader(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let rest = "";
  for await (const chunk of stream) {
    rest += decoder.decode(chunk, { stream: true });
    for (let nl = rest.indexOf("\n"); nl >= 0; nl = rest.indexOf("\n")) {
      yield rest.slice(0, nl);
      rest = rest.slice(nl + 1);
    }
  }
}

/** A database in WAL mode with 1,000 small rows committed, and an application connection. */
function setUp(name: string): { file: string; app: Database; shadow: string } {
  const file = path.join(dir, `${name}.db`);
  const app = new Database(file, { create: true });
  app.run("PRAGMA journal_mode = wal");
  app.run("PRAGMA wal_autocheckpoint = 0");
  app.run("PRAGMA busy_timeout = 5000");
  app.run("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)");
  app.transaction(() => {
    for (let i = 0; i < 1000; i++) app.run("INSERT INTO t (v) VALUES (randomblob(20))");
  })();
  const shadow = path.join(dir, `${name}.shadow`);
  return { file, app, shadow };
}

function commitSmall(app: Database, n: number): void {
  for (let i = 0; i < n; i++) app.run("INSERT INTO t (v) VALUES (randomblob(50))");
}

describe("a transaction spilled into the WAL before it commits", () => {
  // 2,000 rows of 10 kB: about 20 MB of frames, five 4 MiB read chunks and more than one 16 MiB segment.
  const ROWS = 2000;

  test("is not copied while it is open, then is dropped when it rolls back", async () => {
    const { file, app, shadow } = setUp("rollback");
    commitSmall(app, 50);
    initShadowWal(`${file}-wal`, shadow, NO_FSYNC);
    const spiller = new Spiller(file, ROWS);
    try {
      await spiller.expect("spilled");
      const wal = fs.statSync(`${file}-wal`).size;
      expect(wal).toBeGreaterThan(16 * 1024 * 1024);
      expect(copyCommittedFrames(`${file}-wal`, shadow, NO_FSYNC)).toBe(committedWal(file).length);
      expectSameBytes(fs.readFileSync(shadow), committedWal(file));

      await spiller.finish("rollback");
      // Later commits overwrite the rolled-back frames from the last commit on.
      commitSmall(app, 1700);
      const end = copyCommittedFrames(`${file}-wal`, shadow, NO_FSYNC);
      expectSameBytes(fs.readFileSync(shadow), committedWal(file));
      expect(end).toBe(committedWal(file).length);
    } finally {
      await spiller.kill();
      app.close();
    }
  }, 60_000);

  test("is copied whole once its commit frame is in the WAL", async () => {
    const { file, app, shadow } = setUp("commit");
    commitSmall(app, 50);
    initShadowWal(`${file}-wal`, shadow, NO_FSYNC);
    const spiller = new Spiller(file, ROWS);
    try {
      await spiller.expect("spilled");
      const before = copyCommittedFrames(`${file}-wal`, shadow, NO_FSYNC);
      expect(before).toBe(committedWal(file).length);
      await spiller.finish("commit");
      const after = copyCommittedFrames(`${file}-wal`, shadow, NO_FSYNC);
      expect(after - before).toBeGreaterThan(16 * 1024 * 1024);
      expectSameBytes(fs.readFileSync(shadow), committedWal(file));
      commitSmall(app, 10);
      copyCommittedFrames(`${file}-wal`, shadow, NO_FSYNC);
      expectSameBytes(fs.readFileSync(shadow), committedWal(file));
    } finally {
      await spiller.kill();
      app.close();
    }
  }, 60_000);
});

describe("copyCommittedFrames and initShadowWal, on WALs built frame by frame", () => {
  const PAGE = 512;
  const FRAME = frameSize(PAGE);
  const SALTS = { salt1: 0x0badcafe, salt2: 0x12345678 };
  let made = 0;

  /** A WAL file holding `bytes`, and a shadow path in a directory that does not exist yet. */
  function walFile(bytes: Uint8Array): { wal: string; shadow: string } {
    made++;
    const wal = path.join(dir, `built-${made}.db-wal`);
    fs.writeFileSync(wal, bytes);
    return { wal, shadow: path.join(dir, `built-${made}-meta`, "wal", "00000000.wal") };
  }

  /** Frames for transactions given as page lists, each committed on its last page unless `open`. */
  function frames(txs: { pages: number[]; open?: boolean; fill?: number }[]): FrameSpec[] {
    const out: FrameSpec[] = [];
    let size = 0;
    for (const tx of txs) {
      size = Math.max(size, ...tx.pages);
      tx.pages.forEach((pgno, i) => {
        const last = i === tx.pages.length - 1 && !tx.open;
        out.push({ pgno, fill: (tx.fill ?? 0) + pgno + out.length, commitSize: last ? size : 0 });
      });
    }
    return out;
  }

  /** Two committed transactions (frames 1-2 and 3-5), then frames 6-7 of one still open. */
  const HISTORY = frames([{ pages: [1, 2] }, { pages: [3, 4, 5] }, { pages: [6, 7], open: true }]);
  const COMMITTED = walSize(PAGE, 5);

  test("initShadowWal writes the header and the committed frames, not the open transaction", () => {
    const full = buildWal(PAGE, HISTORY, SALTS);
    const { wal, shadow } = walFile(full);
    expect(initShadowWal(wal, shadow, NO_FSYNC)).toBe(COMMITTED);
    expectSameBytes(fs.readFileSync(shadow), full.subarray(0, COMMITTED));
    expect(fs.statSync(shadow).mode & 0o777).toBe(0o600);
  });

  test("initShadowWal refuses a WAL whose header fails its checksum, and writes no shadow", () => {
    const full = buildWal(PAGE, HISTORY, SALTS);
    full[12]! ^= 1; // the checkpoint sequence, covered by the header's checksum
    const { wal, shadow } = walFile(full);
    expect(() => initShadowWal(wal, shadow, NO_FSYNC)).toThrow(/header checksum mismatch/);
    expect(fs.existsSync(shadow)).toBe(false);
  });

  test("as the WAL grows (37 bytes at a time), each copy takes exactly the whole transactions in it", () => {
    const history = frames([
      { pages: [1] },
      { pages: [2, 3, 1] },
      { pages: [4, 5, 6, 7, 2] },
      { pages: [8] },
    ]);
    const full = buildWal(PAGE, history, SALTS);
    const commitEnds = history.flatMap((f, i) => (f.commitSize ? [walSize(PAGE, i + 1)] : []));
    const { wal, shadow } = walFile(full.subarray(0, WAL_HEADER_SIZE));
    expect(initShadowWal(wal, shadow, NO_FSYNC)).toBe(WAL_HEADER_SIZE);
    for (let size = WAL_HEADER_SIZE; size <= full.length; size += 37) {
      fs.writeFileSync(wal, full.subarray(0, size));
      const want = Math.max(WAL_HEADER_SIZE, ...commitEnds.filter((end) => end <= size));
      expect({ size, end: copyCommittedFrames(wal, shadow, NO_FSYNC) }).toEqual({ size, end: want });
      expectSameBytes(fs.readFileSync(shadow), full.subarray(0, want));
    }
  });

  test("a transaction spanning read chunks is copied whole once its commit frame is read", () => {
    // Ten frames in one transaction after a small one, read in chunks of one frame (one byte rounds up
    // to a frame), two and three: its commit frame is always in a later chunk than its first frame.
    const history = frames([{ pages: [1] }, { pages: [2, 3, 4, 5, 6, 7, 8, 9, 10, 11] }]);
    const full = buildWal(PAGE, history, SALTS);
    for (const chunkBytes of [1, FRAME, 2 * FRAME + 7, 3 * FRAME]) {
      const { wal, shadow } = walFile(full.subarray(0, walSize(PAGE, 1)));
      initShadowWal(wal, shadow, { fsync: false, chunkBytes });
      // Everything but the commit frame: nothing of the transaction may be copied.
      fs.writeFileSync(wal, full.subarray(0, walSize(PAGE, 10)));
      expect(copyCommittedFrames(wal, shadow, { fsync: false, chunkBytes })).toBe(walSize(PAGE, 1));
      expect(fs.statSync(shadow).size).toBe(walSize(PAGE, 1));
      fs.writeFileSync(wal, full);
      expect({ chunkBytes, end: copyCommittedFrames(wal, shadow, { fsync: false, chunkBytes }) }).toEqual({
        chunkBytes,
        end: full.length,
      });
      expectSameBytes(fs.readFileSync(shadow), full);
    }
  });

  test("a copy resumes at the shadow's end with its checksum, without reading the WAL before it", () => {
    const full = buildWal(PAGE, frames([{ pages: [1, 2] }, { pages: [3] }, { pages: [4, 5] }]), SALTS);
    const { wal, shadow } = walFile(full.subarray(0, walSize(PAGE, 3)));
    expect(initShadowWal(wal, shadow, NO_FSYNC)).toBe(walSize(PAGE, 3));
    // The frames copied already are now unreadable in the WAL: a copy that scanned from the header
    // would stop at the first one.
    const later = full.slice();
    later.fill(0xee, WAL_HEADER_SIZE + WAL_FRAME_HEADER_SIZE, walSize(PAGE, 3));
    fs.writeFileSync(wal, later);
    expect(copyCommittedFrames(wal, shadow, NO_FSYNC)).toBe(full.length);
    expectSameBytes(fs.readFileSync(shadow), full);
  });

  test("a torn shadow tail (frames after its last commit, a partial frame) is dropped first", () => {
    // The shadow was being written when the process died: two frames of a transaction that then rolled
    // back, and half a frame. The WAL has a different transaction at those places since.
    const shadowed = buildWal(
      PAGE,
      frames([{ pages: [1] }, { pages: [2, 3] }, { pages: [7, 8, 9], fill: 100 }]),
      SALTS,
    );
    const torn = shadowed.subarray(0, walSize(PAGE, 5) + FRAME / 2);
    const current = frames([{ pages: [1] }, { pages: [2, 3] }, { pages: [4, 5], fill: 50 }]);
    const full = buildWal(PAGE, current, SALTS);
    expectSameBytes(full.subarray(0, walSize(PAGE, 3)), shadowed.subarray(0, walSize(PAGE, 3)));

    // Nothing new in the WAL: the tail is cut back to the last commit frame.
    const { wal, shadow } = walFile(full.subarray(0, walSize(PAGE, 3)));
    fs.mkdirSync(path.dirname(shadow), { recursive: true });
    fs.writeFileSync(shadow, torn);
    expect(copyCommittedFrames(wal, shadow, NO_FSYNC)).toBe(walSize(PAGE, 3));
    expectSameBytes(fs.readFileSync(shadow), full.subarray(0, walSize(PAGE, 3)));

    // The WAL's new transaction lands where the torn frames were. The frames the shadow had before
    // them are unreadable in the WAL, so this also shows the walk back stops at the last commit frame.
    fs.writeFileSync(shadow, torn);
    const later = full.slice();
    later.fill(0xee, WAL_HEADER_SIZE + WAL_FRAME_HEADER_SIZE, walSize(PAGE, 3));
    fs.writeFileSync(wal, later);
    expect(copyCommittedFrames(wal, shadow, NO_FSYNC)).toBe(full.length);
    expectSameBytes(fs.readFileSync(shadow), full);
  });

  test("the copy stops at frames with another session's salts, and at a broken checksum", () => {
    const mine = frames([{ pages: [1, 2] }, { pages: [3] }]);
    const theirs = frames([{ pages: [1, 2] }, { pages: [3] }, { pages: [4, 5] }, { pages: [6] }]);
    const old = buildWal(PAGE, theirs, { salt1: SALTS.salt1 + 1, salt2: SALTS.salt2 });
    // A restarted WAL: the new session's header and frames, then the old session's later frames.
    const restarted = concatBytes([buildWal(PAGE, mine, SALTS), old.subarray(walSize(PAGE, 3))]);
    const a = walFile(restarted);
    expect(initShadowWal(a.wal, a.shadow, NO_FSYNC)).toBe(walSize(PAGE, 3));
    expectSameBytes(fs.readFileSync(a.shadow), restarted.subarray(0, walSize(PAGE, 3)));

    // One flipped byte in the page of frame 4: neither its transaction (frames 4-5) nor the one after
    // it (frame 6) is copied.
    const broken = buildWal(PAGE, theirs, SALTS);
    broken[walSize(PAGE, 3) + WAL_FRAME_HEADER_SIZE + 100]! ^= 0x40;
    const b = walFile(broken);
    expect(initShadowWal(b.wal, b.shadow, NO_FSYNC)).toBe(walSize(PAGE, 3));
    expectSameBytes(fs.readFileSync(b.shadow), broken.subarray(0, walSize(PAGE, 3)));
  });

  /**
   * Runs `copy` while the WAL is rewritten at one moment: right after the read of the chunk at `at`, the
   * bytes of `replacement` from `from` to `at` are written over the WAL's (SQLite rolled back the open
   * transaction and wrote another one there while the capture was between reads).
   */
  function rewrittenDuring<T>(
    wal: string,
    at: number,
    from: number,
    replacement: Uint8Array,
    copy: () => T,
  ): T {
    const walIno = fs.statSync(wal).ino;
    const realReadInto = fileIo.readInto;
    let done = false;
    const spy = spyOn(fileIo, "readInto").mockImplementation((fd, buf, position) => {
      const read = realReadInto(fd, buf, position);
      if (!done && position === at && fs.fstatSync(fd).ino === walIno) {
        done = true;
        const out = fs.openSync(wal, "r+");
        fs.writeSync(out, replacement, from, at - from, from);
        fs.closeSync(out);
      }
      return read;
    });
    try {
      const result = copy();
      expect(done).toBe(true);
      return result;
    } finally {
      spy.mockRestore();
    }
  }

  test("frames rewritten under the copy before their commit frame is read are not copied", () => {
    // Frame 1 is committed; frames 2-5 are one transaction whose commit frame (5) is read in a later
    // chunk. Once frame 5 has been read, frames 2-4 change: another transaction with the same salts and a
    // valid chain, or garbage. Either way the copy must stop after frame 1 and leave no torn bytes.
    const chunkBytes = FRAME;
    const txs = [{ pages: [1] }, { pages: [2, 3, 4, 5] }];
    const full = buildWal(PAGE, frames(txs), SALTS);
    const other = buildWal(
      PAGE,
      frames([{ pages: [1] }, { pages: [2, 3, 4, 5], fill: 60, open: true }]),
      SALTS,
    );
    const garbage = new Uint8Array(full.length).fill(0x5a);
    for (const [name, replacement] of [
      ["a valid other transaction", other],
      ["garbage", garbage],
    ] as const) {
      const { wal, shadow } = walFile(full.subarray(0, walSize(PAGE, 1)));
      initShadowWal(wal, shadow, { fsync: false, chunkBytes });
      fs.writeFileSync(wal, full);
      const end = rewrittenDuring(wal, walSize(PAGE, 4), walSize(PAGE, 1), replacement, () =>
        copyCommittedFrames(wal, shadow, { fsync: false, chunkBytes }),
      );
      expect({ name, end }).toEqual({ name, end: walSize(PAGE, 1) });
      expectSameBytes(fs.readFileSync(shadow), full.subarray(0, walSize(PAGE, 1)));
    }
  });
});
