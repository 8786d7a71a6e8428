/**
 * A digest of a database's content: SHA-256 of its pages 1..N, one per run of DIGEST_RUN_PAGES pages and
 * one over those, the page size and N. Two copies that differ can then be told apart by where.
 *
 * SHA-256 rather than Litestream's CRC-64: node:crypto computes it at gigabytes a second with the CPU's
 * SHA instructions, where a CRC-64 in JavaScript would be the slowest step of a validation; and no
 * damage, however made, can keep it equal.
 */
import { createHash } from "node:crypto";
import { WalshipError } from "../errors/walship-error.ts";
import { readInto } from "../io/file-io.ts";

/** Pages per run: 1 MiB at the common 4 KiB page, so a chunk in memory stays small whatever the size. */
export const DIGEST_RUN_PAGES = 256;

export interface PageDigest {
  pageSize: number;
  pageCount: number;
  /** SHA-256 over the whole, hex. */
  sha256: string;
  /** SHA-256 of each run of pages, in order. */
  runs: Buffer[];
}

/** A page source that did not yield what it promised: a programming error, never damage. */
export class PageSourceError extends WalshipError<"page-source"> {
  override name = "PageSourceError";
  constructor(message: string) {
    super(message, { code: "page-source", operation: "validate" });
  }
}

/**
 * Digests pages 1..`pageCount` of `pageSize` bytes, given in order as runs of DIGEST_RUN_PAGES pages
 * (the last one shorter).
 */
export async function digestPages(
  pageSize: number,
  pageCount: number,
  runs: AsyncIterable<Uint8Array>,
): Promise<PageDigest> {
  const digests: Buffer[] = [];
  let pages = 0;
  for await (const run of runs) {
    const expected = Math.min(DIGEST_RUN_PAGES, pageCount - pages) * pageSize;
    if (run.length !== expected)
      throw new PageSourceError(`page run ${digests.length} has ${run.length} bytes, not ${expected}`);
    digests.push(createHash("sha256").update(run).digest());
    pages += run.length / pageSize;
  }
  if (pages !== pageCount) throw new PageSourceError(`${pages} pages read of ${pageCount}`);
  const whole = createHash("sha256");
  const sizes = Buffer.alloc(12);
  sizes.writeUInt32BE(pageSize, 0);
  sizes.writeBigUInt64BE(BigInt(pageCount), 4);
  whole.update(sizes);
  for (const d of digests) whole.update(d);
  return { pageSize, pageCount, sha256: whole.digest("hex"), runs: digests };
}

/** Where two digests first differ, for a log line ("pages 257-512"); null when they are equal. */
export function firstDifference(a: PageDigest, b: PageDigest): string | null {
  if (a.sha256 === b.sha256) return null;
  if (a.pageSize !== b.pageSize) return `page size ${a.pageSize} vs ${b.pageSize}`;
  const runs = Math.min(a.runs.length, b.runs.length);
  for (let i = 0; i < runs; i++) {
    if (a.runs[i]!.equals(b.runs[i]!)) continue;
    const first = i * DIGEST_RUN_PAGES + 1;
    return `pages ${first}-${Math.min(first + DIGEST_RUN_PAGES - 1, a.pageCount, b.pageCount)}`;
  }
  return `page count ${a.pageCount} vs ${b.pageCount}`;
}

/** The pages of a finished database file (a restored copy), in runs for digestPages. */
export async function* fileRuns(fd: number, pageSize: number, pageCount: number): AsyncGenerator<Uint8Array> {
  for (let first = 1; first <= pageCount; first += DIGEST_RUN_PAGES) {
    const pages = Math.min(DIGEST_RUN_PAGES, pageCount - first + 1);
    const buf = new Uint8Array(pages * pageSize);
    readInto(fd, buf, (first - 1) * pageSize);
    yield buf;
    // Let replication run between runs of a large database.
    await new Promise((r) => setImmediate(r));
  }
}
