/**
 * When each stretch of the shadow WAL was captured, kept until every replica has uploaded it: a record
 * per capture that added frames, with the shadow index, where the capture ended (a commit's end) and
 * when. Replicas put the records of each segment's range into the segment (format/capture-times.ts), so a
 * point-in-time restore can stop at the last commit captured at or before the requested time.
 *
 * Records live in memory only: after a restart, frames captured before it go up without times, and a
 * restore treats them as it treats Litestream's (by the object's time, rounded toward the earlier state).
 * Memory stays bounded while a replica is far behind: past MAX_RECORDS, every other record of the older
 * half is dropped, which merges its range into the next record's. A merged range takes the later time,
 * so a restore may stop a little earlier than it could, never later.
 */
import type { CaptureTime } from "../format/capture-times.ts";
import { compareIndexOffset } from "../format/layout.ts";

interface CaptureRecord {
  index: number;
  end: number;
  time: number;
}

/** About 10 MB of records: a day of one capture a second, or ten minutes of a flood's captures. */
const MAX_RECORDS = 200_000;

export class CaptureLog {
  /** In (index, end) order. */
  private records: CaptureRecord[] = [];

  /** A capture of shadow index `index` ended at `end` at `time` (ms since the epoch). */
  record(index: number, end: number, time: number): void {
    const last = this.records[this.records.length - 1];
    if (last && compareIndexOffset({ index: last.index, offset: last.end }, { index, offset: end }) >= 0)
      return;
    this.records.push({ index, end, time });
    if (this.records.length > MAX_RECORDS) this.thin();
  }

  /**
   * The capture times of shadow index `index` over (from, to], with `end` counted from `from`: the records
   * that end in it, and, when a capture ran on past `to` (a backlog cut into several segments), that
   * capture's time for the rest, ending at `to`.
   */
  between(index: number, from: number, to: number): CaptureTime[] {
    const out: CaptureTime[] = [];
    for (let i = this.firstAfter(index, from); i < this.records.length; i++) {
      const r = this.records[i]!;
      if (r.index !== index) break;
      out.push({ end: Math.min(r.end, to) - from, time: r.time });
      if (r.end >= to) break;
    }
    return out;
  }

  /** Drops the records every replica has uploaded: those at or before (index, offset). */
  forget(index: number, offset: number): void {
    const keep = this.firstAfter(index, offset);
    if (keep > 0) this.records = this.records.slice(keep);
  }

  /** A new generation: nothing recorded applies to it. */
  clear(): void {
    this.records = [];
  }

  get size(): number {
    return this.records.length;
  }

  /** The first record after (index, offset), by binary search. */
  private firstAfter(index: number, offset: number): number {
    let lo = 0;
    let hi = this.records.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const r = this.records[mid]!;
      if (r.index < index || (r.index === index && r.end <= offset)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Drops every other record of the older half, keeping each index's last (a restart boundary). */
  private thin(): void {
    const half = this.records.length >>> 1;
    this.records = this.records.filter(
      (r, i) => i >= half || i % 2 === 1 || this.records[i + 1]?.index !== r.index,
    );
  }
}
