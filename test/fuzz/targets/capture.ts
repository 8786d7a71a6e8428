/**
 * Fuzz target: the capture interface (src/replicate/shadow-wal.ts: initShadowWal, copyCommittedFrames).
 * Each case is a random history of a WAL written the way SQLite writes it (test/helpers/wal-model.ts):
 * transactions of random sizes that commit or roll back, pages spilled and then overwritten in place
 * (the chain broken until the commit rewrites it), frames written in two halves, restarts, and captures
 * killed halfway (a torn shadow tail), with a capture at random moments: between any two writes, with a
 * random read chunk from one frame to many, across page sizes and both byte orders.
 *
 * After every capture the shadow must be exactly the WAL header followed by every committed frame of the
 * session, byte for byte, and the size returned must be its length: no frame after the last commit frame
 * is ever copied, none before it is missed, whatever the chunk boundaries.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { copyCommittedFrames, initShadowWal } from "../../../src/replicate/shadow-wal.ts";
import { MAGIC_BE, MAGIC_LE, WalWriterModel } from "../../helpers/wal-model.ts";
import { check, type FuzzCtx, type FuzzTarget, type Rng } from "../harness.ts";

interface Corpus {
  dir: string;
}

/** What a case concentrates on; its label is reported when that actually happened. */
const FOCUS = ["long-rollback", "long-commit", "rewrite", "torn-tail", "restart", "mixed"] as const;
type Focus = (typeof FOCUS)[number];

function pageSizeFor(rng: Rng): number {
  const r = rng.float();
  if (r < 0.5) return 512;
  if (r < 0.75) return 1024;
  if (r < 0.95) return 4096;
  return 65536;
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (Buffer.from(a.buffer, a.byteOffset, a.length).equals(b)) return -1;
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : Math.min(a.length, b.length);
}

function property(ctx: FuzzCtx, corpus: Corpus): string {
  const { rng } = ctx;
  const focus: Focus = rng.pick(FOCUS);
  const pageSize = pageSizeFor(rng);
  // Large pages make large files; fewer frames keep a case within a few megabytes.
  const maxFrames = pageSize === 65536 ? 12 : 60;
  const walPath = path.join(corpus.dir, `case-${ctx.index}.db-wal`);
  const shadowPath = path.join(corpus.dir, `case-${ctx.index}.shadow`);
  const magic = rng.chance(0.5) ? MAGIC_LE : MAGIC_BE;
  const model = new WalWriterModel(walPath, pageSize, magic, [rng.u32(), rng.u32()]);
  const fs_ = model.frameBytes;
  const happened = new Set<Focus>();
  const log: string[] = [];
  ctx.input({ focus, pageSize, magic, log });

  /** A read chunk: one frame, a few, or an arbitrary byte count (rounded down to whole frames, at least one). */
  const chunkBytes = () =>
    rng.pick([fs_, 2 * fs_, 3 * fs_, fs_ * rng.range(1, 24), rng.range(1, 24 * fs_), 4 * 1024 * 1024]);

  let pendingSeenLong = false;
  const capture = (when: string) => {
    const chunk = chunkBytes();
    log.push(`capture ${when} chunk=${chunk}`);
    const end = copyCommittedFrames(walPath, shadowPath, { fsync: false, chunkBytes: chunk });
    const want = model.committedWal();
    const got = new Uint8Array(fs.readFileSync(shadowPath));
    check(end === got.length, () => `capture ${when}: returned ${end}, shadow is ${got.length} bytes`);
    const differs = firstDifference(got, want);
    check(
      differs === -1,
      () =>
        `capture ${when}: shadow (${got.length} bytes) differs from the committed WAL (${want.length} bytes) at ${differs}`,
    );
    if (model.pendingFrames * fs_ > Math.max(fs_, Math.floor(chunk / fs_) * fs_)) pendingSeenLong = true;
  };
  const maybeCapture = (when: string, p: number) => {
    if (rng.chance(p)) capture(when);
  };

  const transaction = (commit: boolean, captureAfterCommit = true) => {
    const long = focus === "long-rollback" || focus === "long-commit" ? rng.chance(0.7) : rng.chance(0.2);
    const frames = long ? rng.range(8, maxFrames) : rng.range(1, 4);
    const rewrite = focus === "rewrite" ? 0.25 : 0.05;
    pendingSeenLong = false;
    let rewritten = false;
    log.push(`txn frames=${frames} commit=${commit}`);
    for (let i = 0; i < frames; i++) {
      const last = i === frames - 1 && commit;
      model.writeFrame(1 + rng.int(50), last ? 50 + i : 0, () => maybeCapture(`inside frame ${i}`, 0.1));
      if (!last) maybeCapture(`after frame ${i}`, 0.2);
      if (!last && model.pendingFrames > 1 && rng.chance(rewrite)) {
        model.overwritePending(rng.int(model.pendingFrames));
        rewritten = true;
        maybeCapture(`after an in-place rewrite`, 0.4);
      }
    }
    if (!commit) {
      model.rollback();
      maybeCapture("after rollback", 0.5);
      if (pendingSeenLong) happened.add("long-rollback");
      return;
    }
    if (!captureAfterCommit) return;
    capture("after commit");
    if (pendingSeenLong) happened.add("long-commit");
    if (rewritten) happened.add("rewrite");
  };

  /** A capture killed halfway through its write: a prefix of what it would have written, cut anywhere. */
  const tearShadow = () => {
    const want = model.committedWal();
    const have = fs.statSync(shadowPath).size;
    if (want.length <= have + 1) return;
    const cut = rng.range(have + 1, want.length - 1);
    log.push(`tear ${have}..${cut}`);
    const fd = fs.openSync(shadowPath, "r+");
    fs.writeSync(fd, want, have, cut - have, have);
    fs.closeSync(fd);
    capture("after a torn write");
    happened.add("torn-tail");
  };

  try {
    initShadowWal(walPath, shadowPath, { fsync: false, chunkBytes: chunkBytes() });
    const steps = rng.range(4, 30);
    for (let s = 0; s < steps; s++) {
      const r = rng.float();
      if (r < 0.45) transaction(true);
      else if (r < 0.65) transaction(!(focus === "long-rollback" || rng.chance(0.5)));
      else if (r < 0.75) capture("between transactions");
      else if (r < (focus === "torn-tail" ? 0.95 : 0.85)) {
        // Commit something first, then tear the capture of it.
        transaction(true, false);
        tearShadow();
      } else if (focus === "restart" || rng.chance(0.3)) {
        // SQLite restarts the WAL only once every frame is checkpointed, which walship holds back until it
        // has copied them all: capture, then restart, then a new shadow for the new session.
        capture("before restart");
        model.restart();
        log.push("restart");
        initShadowWal(walPath, shadowPath, { fsync: false, chunkBytes: chunkBytes() });
        capture("after restart");
        happened.add("restart");
      }
    }
    capture("at the end");
  } finally {
    model.close();
    fs.rmSync(walPath, { force: true });
    fs.rmSync(shadowPath, { force: true });
  }
  if (focus === "mixed") return "mixed";
  return happened.has(focus) ? focus : "plain";
}

export const target: FuzzTarget<Corpus> = {
  prepare: () => ({ dir: fs.mkdtempSync(path.join(os.tmpdir(), "walship-fuzz-capture-")) }),
  property,
};
