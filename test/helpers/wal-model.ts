/**
 * A model of SQLite's WAL writer for property tests: it writes a real `-wal` file the way SQLite's
 * wal.c does, one write at a time, so a capture can run between any two of its writes, and it keeps
 * its own record of what is committed to compare captures with.
 *
 * What it imitates:
 * - frames are appended after the last committed frame (a rolled-back transaction's frames stay in the
 *   file until the next transaction writes over them);
 * - each frame is written as two writes, its 24-byte header and then its page;
 * - a page written twice by one transaction after it was spilled is overwritten in place (page bytes
 *   only, so the chain is broken there), and at commit the checksums from that frame on are computed
 *   again from the file and the headers rewritten (walRewriteChecksums);
 * - a restart writes a new header with new salts, and new frames over the old ones from the start.
 *
 * The checksum is written out here on its own, not taken from src/, so the model does not share a bug
 * with the code it checks.
 */
import * as fs from "node:fs";

export const MAGIC_LE = 0x377f0682;
export const MAGIC_BE = 0x377f0683;

/** SQLite's WAL checksum, plainly. */
function checksum(b: Uint8Array, le: boolean, seed: [number, number]): [number, number] {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let [s0, s1] = seed;
  for (let i = 0; i < b.length; i += 8) {
    s0 = (s0 + v.getUint32(i, le) + s1) >>> 0;
    s1 = (s1 + v.getUint32(i + 4, le) + s0) >>> 0;
  }
  return [s0, s1];
}

export class WalWriterModel {
  readonly frameBytes: number;
  private readonly le: boolean;
  private fd: number;
  private header = new Uint8Array(32);
  private salts: [number, number];
  /** Every committed frame of the current session, as it finally is in the file. */
  private committedFrames: Uint8Array[] = [];
  /** The chain's value after the last committed frame, and after the last frame written (SQLite's aFrameCksum). */
  private committedSum: [number, number] = [0, 0];
  private runningSum: [number, number] = [0, 0];
  /** Pages of the open transaction's frames, by position after the committed ones. */
  private pending: number[] = [];
  /** First frame of the open transaction whose page was overwritten in place (SQLite's iReCksum). */
  private reChecksumFrom: number | null = null;
  private writes = 0;

  constructor(
    readonly walPath: string,
    readonly pageSize: number,
    magic: number,
    salts: [number, number],
  ) {
    this.frameBytes = 24 + pageSize;
    this.le = magic === MAGIC_LE;
    this.salts = salts;
    this.fd = fs.openSync(walPath, "w+");
    this.writeHeader(magic);
  }

  /** The bytes a complete capture of the current session holds: its header and every committed frame. */
  committedWal(): Uint8Array {
    const out = new Uint8Array(32 + this.committedFrames.length * this.frameBytes);
    out.set(this.header, 0);
    this.committedFrames.forEach((f, i) => {
      out.set(f, 32 + i * this.frameBytes);
    });
    return out;
  }

  get pendingFrames(): number {
    return this.pending.length;
  }

  /**
   * Appends one frame to the open transaction (`commitSize` > 0 makes it the commit frame), as two
   * writes; `between` runs after the header is written and before the page is.
   */
  writeFrame(pgno: number, commitSize: number, between?: () => void): void {
    const page = this.page();
    const frame = new Uint8Array(24);
    const v = new DataView(frame.buffer);
    v.setUint32(0, pgno);
    v.setUint32(4, commitSize);
    v.setUint32(8, this.salts[0]);
    v.setUint32(12, this.salts[1]);
    this.runningSum = checksum(page, this.le, checksum(frame.subarray(0, 8), this.le, this.runningSum));
    v.setUint32(16, this.runningSum[0]);
    v.setUint32(20, this.runningSum[1]);
    const at = this.offsetOf(this.committedFrames.length + this.pending.length);
    fs.writeSync(this.fd, frame, 0, 24, at);
    between?.();
    fs.writeSync(this.fd, page, 0, page.length, at + 24);
    this.pending.push(pgno);
    if (commitSize !== 0) this.finishCommit(between);
  }

  /** Writes a new page over frame `k` of the open transaction, in place (its header keeps the old checksum). */
  overwritePending(k: number): void {
    if (k < 0 || k >= this.pending.length) throw new Error(`no pending frame ${k}`);
    const frame = this.committedFrames.length + k;
    const page = this.page();
    fs.writeSync(this.fd, page, 0, page.length, this.offsetOf(frame) + 24);
    if (this.reChecksumFrom === null || frame < this.reChecksumFrom) this.reChecksumFrom = frame;
  }

  /** Ends the open transaction without committing: its frames stay in the file, to be written over. */
  rollback(): void {
    this.pending = [];
    this.reChecksumFrom = null;
    this.runningSum = this.committedSum;
  }

  /** Starts a new WAL session: a new header and salts; frames are then written from the start again. */
  restart(): void {
    if (this.pending.length > 0) throw new Error("restart with an open transaction");
    this.salts = [(this.salts[0] + 1) >>> 0, (this.salts[1] * 7 + 3) >>> 0];
    this.writeHeader(this.le ? MAGIC_LE : MAGIC_BE);
    this.committedFrames = [];
  }

  close(): void {
    fs.closeSync(this.fd);
  }

  private finishCommit(between?: () => void): void {
    if (this.reChecksumFrom !== null) {
      between?.();
      this.rewriteChecksums(this.reChecksumFrom);
    }
    const first = this.committedFrames.length;
    for (let i = 0; i < this.pending.length; i++) {
      const frame = new Uint8Array(this.frameBytes);
      fs.readSync(this.fd, frame, 0, frame.length, this.offsetOf(first + i));
      this.committedFrames.push(frame);
    }
    this.pending = [];
    this.reChecksumFrom = null;
    this.committedSum = this.runningSum;
  }

  /** walRewriteChecksums: the chain from frame `from` on, computed from the file, headers rewritten. */
  private rewriteChecksums(from: number): void {
    let sum = this.sumBefore(from);
    const last = this.committedFrames.length + this.pending.length;
    for (let f = from; f < last; f++) {
      const frame = new Uint8Array(this.frameBytes);
      fs.readSync(this.fd, frame, 0, frame.length, this.offsetOf(f));
      sum = checksum(frame.subarray(24), this.le, checksum(frame.subarray(0, 8), this.le, sum));
      const v = new DataView(frame.buffer);
      v.setUint32(16, sum[0]);
      v.setUint32(20, sum[1]);
      fs.writeSync(this.fd, frame, 0, 24, this.offsetOf(f));
    }
    this.runningSum = sum;
  }

  /** The chain's value stored in the frame before `frame` (the header's for the first). */
  private sumBefore(frame: number): [number, number] {
    const b = new Uint8Array(8);
    fs.readSync(this.fd, b, 0, 8, frame === 0 ? 24 : this.offsetOf(frame - 1) + 16);
    const v = new DataView(b.buffer);
    return [v.getUint32(0), v.getUint32(4)];
  }

  private writeHeader(magic: number): void {
    const v = new DataView(this.header.buffer);
    v.setUint32(0, magic);
    v.setUint32(4, 3007000);
    v.setUint32(8, this.pageSize);
    v.setUint32(12, 0);
    v.setUint32(16, this.salts[0]);
    v.setUint32(20, this.salts[1]);
    const sum = checksum(this.header.subarray(0, 24), this.le, [0, 0]);
    v.setUint32(24, sum[0]);
    v.setUint32(28, sum[1]);
    fs.writeSync(this.fd, this.header, 0, 32, 0);
    this.committedSum = sum;
    this.runningSum = sum;
  }

  private offsetOf(frame: number): number {
    return 32 + frame * this.frameBytes;
  }

  /** A page no other write has: a counter in its first bytes over a cheap pattern. */
  private page(): Uint8Array {
    const page = new Uint8Array(this.pageSize).fill(++this.writes & 0xff);
    new DataView(page.buffer).setUint32(0, this.writes);
    return page;
  }
}
