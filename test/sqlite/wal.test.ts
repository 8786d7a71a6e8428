import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { openConnection } from "../../src/replicate/connection.ts";
import type { SqliteDatabase } from "../../src/runtime/sqlite.ts";
import {
  decodeWalHeader,
  frameAlign,
  frameSize,
  scanWal,
  WAL_MAGIC_BE,
  WAL_MAGIC_LE,
  WalFormatError,
} from "../../src/sqlite/wal.ts";
import { buildWal } from "../helpers/wal-builder.ts";

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "walship-wal-"));
}

/** Creates a WAL-mode database with `txns` committed transactions left in its -wal (no checkpoint). */
function makeWal(pageSize: number, txns: number): { dir: string; db: SqliteDatabase; walPath: string } {
  const dir = tempDir();
  const file = path.join(dir, "t.db");
  const setup = new Database(file);
  setup.run(`PRAGMA page_size = ${pageSize}`);
  setup.run("PRAGMA journal_mode = wal");
  setup.run("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)");
  setup.close();
  const db = openConnection(file);
  db.run("PRAGMA wal_checkpoint(TRUNCATE)");
  const insert = db.prepare("INSERT INTO t (v) VALUES (?)");
  for (let i = 0; i < txns; i++) insert.run(new Uint8Array(100 + ((i * 37) % 900)).fill(i & 0xff));
  return { dir, db, walPath: `${file}-wal` };
}

describe("WAL written by bun:sqlite", () => {
  for (const pageSize of [512, 4096, 65536]) {
    test(`page size ${pageSize}: header, checksum chain and commits`, () => {
      const { dir, db, walPath } = makeWal(pageSize, 25);
      try {
        const wal = new Uint8Array(fs.readFileSync(walPath));
        const { header, scan } = scanWal(wal);
        expect(header.pageSize).toBe(pageSize);
        expect([WAL_MAGIC_LE, WAL_MAGIC_BE]).toContain(header.magic);
        expect(scan.validEnd).toBe(frameAlign(wal.length, pageSize));
        expect(scan.lastCommitEnd).toBe(scan.validEnd);
        expect(scan.commitSize).toBe(Number(db.query("PRAGMA page_count").values()[0]?.[0]));
      } finally {
        db.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    test(`page size ${pageSize}: a flipped byte ends the valid prefix at the previous commit`, () => {
      const { dir, db, walPath } = makeWal(pageSize, 10);
      try {
        const wal = new Uint8Array(fs.readFileSync(walPath));
        const full = scanWal(wal).scan;
        const fs_ = frameSize(pageSize);
        const frames = (full.validEnd - 32) / fs_;
        const victim = Math.floor(frames / 2);
        wal[32 + victim * fs_ + 24 + 10]! ^= 0x01;
        const { scan } = scanWal(wal);
        expect(scan.validEnd).toBe(32 + victim * fs_);
        expect(scan.lastCommitEnd).toBeLessThanOrEqual(scan.validEnd);
        expect(scan.lastCommitEnd).toBeLessThan(full.lastCommitEnd);
      } finally {
        db.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  test("frames with salts of an earlier WAL session end the valid prefix", () => {
    const { dir, db, walPath } = makeWal(4096, 30);
    try {
      const before = fs.statSync(walPath).size;
      const r = db.query("PRAGMA wal_checkpoint(RESTART)").get() as { busy: number };
      expect(r.busy).toBe(0);
      db.run("INSERT INTO t (v) VALUES (x'01')");
      const wal = new Uint8Array(fs.readFileSync(walPath));
      // RESTART rewinds the WAL without truncating it: the old session's frames are still in the file.
      expect(wal.length).toBe(before);
      const { scan } = scanWal(wal);
      expect(scan.validEnd).toBeLessThan(wal.length);
      expect(scan.lastCommitEnd).toBe(scan.validEnd);
      expect(scan.validEnd).toBeLessThanOrEqual(32 + 3 * frameSize(4096));
    } finally {
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("hand-built WAL", () => {
  test("big-endian checksums are verified", () => {
    const wal = buildWal(512, [{ pgno: 1 }, { pgno: 2, commitSize: 2 }], { magic: WAL_MAGIC_BE });
    const { header, scan } = scanWal(wal);
    expect(header.magic).toBe(WAL_MAGIC_BE);
    expect(scan.lastCommitEnd).toBe(wal.length);
    // The same bytes read with the other byte order do not verify.
    const swapped = buildWal(512, [{ pgno: 1 }, { pgno: 2, commitSize: 2 }], { magic: WAL_MAGIC_LE });
    swapped.set(wal.subarray(32), 32);
    expect(scanWal(swapped).scan.validEnd).toBe(32);
  });

  test("frames after the last commit frame are valid but not committed", () => {
    const wal = buildWal(1024, [{ pgno: 1, commitSize: 1 }, { pgno: 2 }, { pgno: 3 }]);
    const { scan } = scanWal(wal);
    expect(scan.validEnd).toBe(wal.length);
    expect(scan.lastCommitEnd).toBe(32 + frameSize(1024));
    expect(scan.commitSize).toBe(1);
  });

  test("a torn final frame is ignored", () => {
    const wal = buildWal(1024, [
      { pgno: 1, commitSize: 1 },
      { pgno: 2, commitSize: 2 },
    ]);
    const { scan } = scanWal(wal.subarray(0, wal.length - 100));
    expect(scan.lastCommitEnd).toBe(32 + frameSize(1024));
  });

  test("bad headers are typed errors", () => {
    const wal = buildWal(1024, []);
    const badMagic = wal.slice();
    badMagic[3] = 0;
    expect(() => decodeWalHeader(badMagic)).toThrow(WalFormatError);
    const badSum = wal.slice();
    badSum[27]! ^= 1;
    expect(() => decodeWalHeader(badSum)).toThrow(/checksum/);
    expect(() => decodeWalHeader(wal.subarray(0, 20))).toThrow(WalFormatError);
  });

  test("frameAlign rounds down to whole frames", () => {
    expect(frameAlign(0, 4096)).toBe(0);
    expect(frameAlign(31, 4096)).toBe(0);
    expect(frameAlign(32, 4096)).toBe(32);
    expect(frameAlign(32 + 4120 * 2 + 7, 4096)).toBe(32 + 4120 * 2);
  });
});
