/**
 * A large object downloaded as parallel byte ranges, each written at its offset as it arrives, so one
 * slow stream does not bound a restore and a failed range is fetched again alone (rocicorp/mono#4260
 * took a 200 GB Litestream restore from 35 to 5 minutes this way). Memory holds only the chunks in
 * transit. Every range after the first names the first answer's ETag (If-Match): an object replaced
 * during the download fails instead of mixing two versions.
 */
import { backoff } from "./backoff.ts";

/** Range size: large enough that request overhead is small, small enough to spread over the connections. */
export const RANGE_BYTES = 8 * 1024 * 1024;
/** Ranges in flight at once. */
export const RANGE_CONCURRENCY = 6;

export interface RangeAnswer {
  /** `bytes START-END/TOTAL`, as S3 answers a ranged GET. */
  contentRange: string | undefined;
  etag: string | undefined;
  /** Body bytes received and written. */
  size: number;
  /** Why the body broke off after `size` bytes, if it did. */
  brokeOff?: Error | undefined;
}

export interface RangedDownload {
  /**
   * One ranged GET (`bytes=START-END`), with If-Match when given, its body written from `at` on; null
   * when the object does not exist.
   */
  fetch(range: string, ifMatch: string | undefined, at: number): Promise<RangeAnswer | null>;
  /** Attempts per range when its body fails part way (the client retries failed requests itself). */
  attempts: number;
  /** Told the object's size once, as soon as the first answer shows it: before the rest arrives. */
  onSize?(total: number): void;
  /** Told each range, bytes [start, end), once all of it is written; ranges finish out of order. */
  onRange?(start: number, end: number): void;
  /** Asked before each range: true when nobody wants the rest any more, which ends the download early. */
  stopped?(): boolean;
}

/** Downloads the whole object; returns its size, or null when it does not exist. */
export async function downloadInRanges(d: RangedDownload): Promise<number | null> {
  let sized = false;
  const onSize = (total: number) => {
    if (!sized) d.onSize?.(total);
    sized = true;
  };
  const first = await fetchRange(d, 0, RANGE_BYTES - 1, undefined, onSize);
  if (!first) return null;
  // A server that ignores Range sent the whole object already.
  if (!first.ranged) {
    onSize(first.total);
    return first.total;
  }
  const total = first.total;
  const starts: number[] = [];
  for (let at = RANGE_BYTES; at < total; at += RANGE_BYTES) starts.push(at);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < starts.length && !d.stopped?.()) {
      const start = starts[next++]!;
      const got = await fetchRange(d, start, Math.min(total, start + RANGE_BYTES) - 1, first.etag);
      if (!got || got.total !== total) throw new Error("the object changed during the download");
    }
  };
  await Promise.all(Array.from({ length: Math.min(RANGE_CONCURRENCY, starts.length) }, worker));
  return total;
}

/** Fetches bytes [start, end] (fewer when the object is shorter), again when its body breaks off. */
async function fetchRange(
  d: RangedDownload,
  start: number,
  end: number,
  etag: string | undefined,
  onSize?: (total: number) => void,
): Promise<{ total: number; etag: string | undefined; ranged: boolean } | null> {
  for (let attempt = 1; ; attempt++) {
    const answer = await d.fetch(`bytes=${start}-${end}`, etag, start);
    if (!answer) return null;
    let why = answer.brokeOff?.message;
    if (why === undefined) {
      const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(answer.contentRange ?? "");
      // A server that ignores Range sends the whole object from 0: fine for the first range only.
      const total = m ? Number(m[3]) : undefined;
      const expected = m ? Number(m[2]) - Number(m[1]) + 1 : undefined;
      if (m && Number(m[1]) !== start)
        throw new Error(`asked for bytes from ${start}, got ${answer.contentRange}`);
      if (total !== undefined) onSize?.(total);
      if (total === undefined && start !== 0) throw new Error("the server ignored the byte range");
      if (expected === undefined || answer.size === expected) {
        d.onRange?.(start, start + answer.size);
        return { total: total ?? answer.size, etag: answer.etag, ranged: m !== null };
      }
      why = `it ended after ${answer.size} of ${expected} bytes`;
    }
    if (attempt >= d.attempts) {
      // The server answered, so the network advice for a connection refused or reset before any
      // answer (wrong port, HTTP to HTTPS) does not apply: say what happened instead.
      throw new Error(
        `the answer to bytes=${start}-${end} broke off after ${answer.size} bytes, ${attempt} times (last: ${why})`,
      );
    }
    await backoff(attempt);
  }
}
