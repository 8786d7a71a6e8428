/** Builds WAL files by hand for tests: any byte order, salts and commit markers. */
import { encodeWalHeader, WAL_FORMAT_VERSION, WAL_MAGIC_LE, walChecksum } from "../../src/sqlite/wal.ts";

export interface FrameSpec {
  pgno: number;
  commitSize?: number;
  fill?: number;
  /** The page's bytes (instead of `fill`). */
  page?: Uint8Array;
}

export function buildWal(
  pageSize: number,
  frames: FrameSpec[],
  opts: { magic?: number; salt1?: number; salt2?: number } = {},
): Uint8Array {
  const magic = opts.magic ?? WAL_MAGIC_LE;
  const header = encodeWalHeader({
    magic,
    version: WAL_FORMAT_VERSION,
    pageSize,
    checkpointSeq: 0,
    salt1: opts.salt1 ?? 0x11223344,
    salt2: opts.salt2 ?? 0x55667788,
  });
  const le = magic === WAL_MAGIC_LE;
  const view = new DataView(header.buffer);
  let sum: [number, number] = [view.getUint32(24), view.getUint32(28)];
  const out = new Uint8Array(32 + frames.length * (24 + pageSize));
  out.set(header, 0);
  let off = 32;
  for (const f of frames) {
    const frame = new Uint8Array(24 + pageSize);
    const fv = new DataView(frame.buffer);
    fv.setUint32(0, f.pgno);
    fv.setUint32(4, f.commitSize ?? 0);
    fv.setUint32(8, view.getUint32(16));
    fv.setUint32(12, view.getUint32(20));
    if (f.page) frame.set(f.page, 24);
    else frame.fill(f.fill ?? f.pgno, 24);
    sum = walChecksum(le, sum[0], sum[1], frame, 0, 8);
    sum = walChecksum(le, sum[0], sum[1], frame, 24, pageSize);
    fv.setUint32(16, sum[0]);
    fv.setUint32(20, sum[1]);
    out.set(frame, off);
    off += frame.length;
  }
  return out;
}
