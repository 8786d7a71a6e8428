/**
 * Fuzz target: the WAL reader (src/sqlite/wal.ts). Inputs are real WAL files written by bun:sqlite and by
 * test/helpers/wal-builder.ts, mutated (bit flips, truncations, splices, random bytes), sometimes re-sealed
 * (header and frame checksums recomputed after the mutation, so the scan goes deep into the frames), and
 * pure random bytes. The reader may only return a frame-aligned scan with
 * 32 ≤ lastCommitEnd ≤ validEnd ≤ input length, or throw WalFormatError. Each result is also checked against
 * an independent oracle (a plain re-implementation of SQLite's WAL recovery rules); the scanner fed the same
 * bytes in pieces cut anywhere, and a scan resumed at a commit boundary, must agree with the whole scan.
 */
import { Database } from "bun:sqlite";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  decodeWalHeader,
  encodeWalHeader,
  scanWal,
  WAL_FORMAT_VERSION,
  WAL_MAGIC_BE,
  WAL_MAGIC_LE,
  WalFormatError,
  type WalHeader,
  type WalScan,
  WalScanner,
} from "../../../src/sqlite/wal.ts";
import { buildWal } from "../../helpers/wal-builder.ts";
import { check, type FuzzCtx, type FuzzTarget, type Rng } from "../harness.ts";
import { maybeOffsetView, mutateBytes } from "../mutate.ts";

interface Corpus {
  wals: Uint8Array[];
}

// ---- corpus ---------------------------------------------------------------------------------------------

/** WAL files written by SQLite itself: several page sizes, and one restarted WAL with stale frames. */
function sqliteWals(): Uint8Array[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "walship-fuzz-wal-"));
  const out: Uint8Array[] = [];
  try {
    const plans: { pageSize: number; txns: number; restartAfter?: number }[] = [
      { pageSize: 512, txns: 24 },
      { pageSize: 1024, txns: 12 },
      { pageSize: 4096, txns: 5 },
      { pageSize: 512, txns: 16, restartAfter: 12 },
      { pageSize: 65536, txns: 1 },
    ];
    for (const [i, plan] of plans.entries()) {
      const file = path.join(dir, `db${i}.db`);
      const db = new Database(file);
      try {
        db.run(`PRAGMA page_size = ${plan.pageSize}`);
        db.run("PRAGMA journal_mode = wal");
        db.run("PRAGMA wal_autocheckpoint = 0");
        db.run("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)");
        const insert = db.prepare("INSERT INTO t (v) VALUES (?)");
        for (let t = 0; t < plan.txns; t++) {
          if (t === plan.restartAfter) {
            // A complete checkpoint: the next write restarts the WAL from its start with new salts, and
            // the older frames behind the new ones stay in the file.
            db.run("PRAGMA wal_checkpoint(PASSIVE)");
          }
          const rows = 1 + (t % 3);
          db.transaction(() => {
            for (let r = 0; r < rows; r++) insert.run(new Uint8Array(40 + ((t * 97 + r * 31) % 700)).fill(t));
          })();
        }
        out.push(new Uint8Array(fs.readFileSync(`${file}-wal`)));
      } finally {
        db.close();
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

/** WAL files from the test builder: both byte orders, odd salts, commits in various places. */
function builtWals(): Uint8Array[] {
  const frames = (n: number, commitEvery: number) =>
    Array.from({ length: n }, (_, i) => ({
      pgno: 1 + ((i * 7) % 11),
      ...((i + 1) % commitEvery === 0 ? { commitSize: 11 + i } : {}),
      fill: (i * 13) & 0xff,
    }));
  return [
    buildWal(512, frames(6, 2)),
    buildWal(512, frames(7, 3), { magic: WAL_MAGIC_BE, salt1: 0xffffffff, salt2: 0 }),
    buildWal(1024, frames(4, 1), { salt1: 0x80000000, salt2: 0x7fffffff }),
    buildWal(512, frames(5, 100)), // frames but no commit
    buildWal(512, []), // header only
    buildWal(2048, frames(3, 3), { magic: WAL_MAGIC_BE }),
  ];
}

// ---- oracle ---------------------------------------------------------------------------------------------

interface OracleScan {
  header: WalHeader;
  validEnd: number;
  lastCommitEnd: number;
  checksum: [number, number];
  commitChecksum: [number, number];
  commitSize: number;
  /** Where each transaction ends (the header's end first), with the checksum there. */
  commitEnds: { end: number; sum: [number, number] }[];
}

function oracleChecksum(
  view: DataView,
  le: boolean,
  at: number,
  len: number,
  s: [number, number],
): [number, number] {
  let [s0, s1] = s;
  for (let i = at; i < at + len; i += 8) {
    s0 = (s0 + view.getUint32(i, le) + s1) >>> 0;
    s1 = (s1 + view.getUint32(i + 4, le) + s0) >>> 0;
  }
  return [s0, s1];
}

/** SQLite's WAL recovery rules, written out plainly; null where the header is unusable. */
function oracle(b: Uint8Array): OracleScan | null {
  if (b.length < 32) return null;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const magic = v.getUint32(0);
  if (magic !== 0x377f0682 && magic !== 0x377f0683) return null;
  const pageSize = v.getUint32(8);
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) return null;
  const le = magic === 0x377f0682;
  const hsum = oracleChecksum(v, le, 0, 24, [0, 0]);
  if (hsum[0] !== v.getUint32(24) || hsum[1] !== v.getUint32(28)) return null;
  const header: WalHeader = {
    magic,
    version: v.getUint32(4),
    pageSize,
    checkpointSeq: v.getUint32(12),
    salt1: v.getUint32(16),
    salt2: v.getUint32(20),
    checksum1: hsum[0],
    checksum2: hsum[1],
  };
  const frame = 24 + pageSize;
  let sum = hsum;
  const result: OracleScan = {
    header,
    validEnd: 32,
    lastCommitEnd: 32,
    checksum: sum,
    commitChecksum: sum,
    commitSize: 0,
    commitEnds: [{ end: 32, sum }],
  };
  for (let at = 32; at + frame <= b.length; at += frame) {
    if (v.getUint32(at + 8) !== header.salt1 || v.getUint32(at + 12) !== header.salt2) break;
    sum = oracleChecksum(v, le, at, 8, sum);
    sum = oracleChecksum(v, le, at + 24, pageSize, sum);
    if (sum[0] !== v.getUint32(at + 16) || sum[1] !== v.getUint32(at + 20)) break;
    result.validEnd = at + frame;
    result.checksum = sum;
    const commit = v.getUint32(at + 4);
    if (commit !== 0) {
      result.lastCommitEnd = at + frame;
      result.commitChecksum = sum;
      result.commitSize = commit;
      result.commitEnds.push({ end: at + frame, sum });
    }
  }
  return result;
}

// ---- input generation -------------------------------------------------------------------------------------

/** Recomputes the header checksum and, frame by frame, the checksum chain (so mutated frames stay valid). */
function reseal(rng: Rng, b: Uint8Array): Uint8Array {
  if (b.length < 32) return b;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const magic = v.getUint32(0);
  if (magic !== WAL_MAGIC_LE && magic !== WAL_MAGIC_BE) return b;
  const pageSize = v.getUint32(8);
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) return b;
  const le = magic === WAL_MAGIC_LE;
  let sum = oracleChecksum(v, le, 0, 24, [0, 0]);
  v.setUint32(24, sum[0]);
  v.setUint32(28, sum[1]);
  const frame = 24 + pageSize;
  const stopAt = rng.chance(0.3)
    ? rng.int(1 + Math.floor((b.length - 32) / frame))
    : Number.POSITIVE_INFINITY;
  for (let at = 32, k = 0; at + frame <= b.length && k < stopAt; at += frame, k++) {
    if (rng.chance(0.8)) {
      v.setUint32(at + 8, v.getUint32(16));
      v.setUint32(at + 12, v.getUint32(20));
    }
    sum = oracleChecksum(v, le, at, 8, sum);
    sum = oracleChecksum(v, le, at + 24, pageSize, sum);
    v.setUint32(at + 16, sum[0]);
    v.setUint32(at + 20, sum[1]);
  }
  return b;
}

function makeInput(rng: Rng, corpus: Corpus): Uint8Array {
  const r = rng.float();
  if (r < 0.08) {
    // Pure random bytes, sometimes behind a valid magic.
    const b = rng.bytes(rng.small(1500));
    if (b.length >= 4 && rng.chance(0.5))
      new DataView(b.buffer).setUint32(0, rng.pick([WAL_MAGIC_LE, WAL_MAGIC_BE]));
    return b;
  }
  if (r < 0.16) {
    // A valid header with random fields, then random or zero frame bytes.
    const header = encodeWalHeader({
      magic: rng.pick([WAL_MAGIC_LE, WAL_MAGIC_BE]),
      version: rng.chance(0.8) ? WAL_FORMAT_VERSION : rng.u32(),
      pageSize: 512 << rng.int(8),
      checkpointSeq: rng.u32(),
      salt1: rng.u32(),
      salt2: rng.u32(),
    });
    const body = rng.chance(0.5) ? rng.bytes(rng.small(3000)) : new Uint8Array(rng.small(3000));
    const b = new Uint8Array(32 + body.length);
    b.set(header);
    b.set(body, 32);
    return rng.chance(0.5) ? reseal(rng, b) : b;
  }
  const base = rng.pick(corpus.wals);
  if (r < 0.22) return base.slice();
  const mutated = mutateBytes(rng, base, corpus.wals);
  return r < 0.5 ? reseal(rng, mutated) : mutated;
}

// ---- property -------------------------------------------------------------------------------------------

function sameSum(a: readonly number[], b: readonly number[]): boolean {
  return a[0] === b[0] && a[1] === b[1];
}

function compareScan(what: string, got: WalScan, want: WalScan): void {
  check(got.validEnd === want.validEnd, `${what}: validEnd ${got.validEnd}, oracle ${want.validEnd}`);
  check(
    got.lastCommitEnd === want.lastCommitEnd,
    `${what}: lastCommitEnd ${got.lastCommitEnd}, oracle ${want.lastCommitEnd}`,
  );
  check(
    got.commitSize === want.commitSize,
    `${what}: commitSize ${got.commitSize}, oracle ${want.commitSize}`,
  );
  check(sameSum(got.checksum, want.checksum), `${what}: checksum ${got.checksum}, oracle ${want.checksum}`);
  check(
    sameSum(got.commitChecksum, want.commitChecksum),
    `${what}: commitChecksum ${got.commitChecksum}, oracle ${want.commitChecksum}`,
  );
}

function property(ctx: FuzzCtx, corpus: Corpus): string {
  const { rng } = ctx;
  const input = maybeOffsetView(rng, makeInput(rng, corpus));
  ctx.input(input);
  const want = oracle(input);

  let result: ReturnType<typeof scanWal>;
  try {
    result = scanWal(input);
  } catch (err) {
    check(err instanceof WalFormatError, () => `scanWal threw ${String(err)}, not a WalFormatError`);
    check(
      Number.isInteger(err.offset) && err.offset >= 0 && err.offset < 32,
      `WalFormatError offset ${err.offset} is not inside the header`,
    );
    check(want === null, `scanWal rejected a header the oracle accepts: ${err.message}`);
    // decodeWalHeader alone must agree.
    let headerThrew = false;
    try {
      decodeWalHeader(input);
    } catch (e) {
      check(e instanceof WalFormatError, () => `decodeWalHeader threw ${String(e)}, not a WalFormatError`);
      headerThrew = true;
    }
    check(headerThrew, "decodeWalHeader accepted a header scanWal rejected");
    return "header-rejected";
  }
  check(want !== null, "scanWal accepted a header the oracle rejects");
  const { header, scan } = result;
  const fs = 24 + header.pageSize;
  check(
    32 <= scan.lastCommitEnd && scan.lastCommitEnd <= scan.validEnd && scan.validEnd <= input.length,
    `bounds: lastCommitEnd ${scan.lastCommitEnd}, validEnd ${scan.validEnd}, length ${input.length}`,
  );
  check((scan.validEnd - 32) % fs === 0, `validEnd ${scan.validEnd} is not frame-aligned`);
  check((scan.lastCommitEnd - 32) % fs === 0, `lastCommitEnd ${scan.lastCommitEnd} is not frame-aligned`);
  check((scan.commitSize === 0) === (scan.lastCommitEnd === 32), "commitSize and lastCommitEnd disagree");
  check(JSON.stringify(header) === JSON.stringify(want.header), "header differs from the oracle's");
  check(
    JSON.stringify(decodeWalHeader(input.subarray(0, 32))) === JSON.stringify(header),
    "decodeWalHeader of the first 32 bytes differs from scanWal's header",
  );
  compareScan("scanWal", scan, want);

  // Fed in pieces cut anywhere (frames split across pieces, empty pieces), the scanner must agree with
  // the whole scan exactly: in particular a piece without a commit frame never moves lastCommitEnd.
  const pieces = new WalScanner(header);
  for (let step = 0; step < 4 * (input.length / fs) && !pieces.stopped; step++) {
    pieces.push(input.subarray(pieces.validEnd, pieces.validEnd + rng.int(3 * fs + 1)));
  }
  pieces.push(input.subarray(pieces.validEnd));
  compareScan("scanner fed in pieces", pieces, want);

  // Resumed at a commit boundary with the checksum there, it reaches the same end.
  const commits = want.commitEnds;
  const k = rng.int(commits.length);
  const resumeAt = commits[k]!;
  const resumed = new WalScanner(header, resumeAt.end, resumeAt.sum);
  resumed.push(input.subarray(resumeAt.end));
  compareScan(`scanner resumed at ${resumeAt.end}`, resumed, {
    validEnd: want.validEnd,
    lastCommitEnd: want.lastCommitEnd,
    commitSize: want.lastCommitEnd > resumeAt.end ? want.commitSize : 0,
    checksum: want.checksum,
    commitChecksum: want.commitChecksum,
  });

  if (scan.validEnd === 32) return "no-valid-frames";
  if (scan.lastCommitEnd === 32) return "frames-without-commit";
  return scan.validEnd > scan.lastCommitEnd ? "commit-then-partial-txn" : "committed";
}

export const target: FuzzTarget<Corpus> = {
  prepare: () => ({ wals: [...sqliteWals(), ...builtWals()] }),
  property,
};
