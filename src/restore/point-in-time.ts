/**
 * A restore to a point in time reads on past the segments uploaded by then: a commit goes up as much as a
 * sync interval after it is captured, so segments uploaded later may still hold commits captured before
 * the time. Each such segment's capture-time records (format/capture-times.ts) say how much of it was
 * captured at or before the time, and the restore stops at the last commit that was: it never takes in a
 * commit made after the time. A segment without records (written by Litestream, or captured before a
 * walship restart) cannot show that, so the restore stops in front of it: the state is then that of the
 * objects provably uploaded by the time, which may leave out commits made shortly before it.
 */
import { CaptureTimesError, capturedBy, readCaptureTimes } from "../format/capture-times.ts";
import { walSegmentPath } from "../format/layout.ts";
import type { Logger } from "../observe/log.ts";
import type { WalSegmentInfo } from "../storage/replica-client.ts";
import type { RestorePlan } from "./plan.ts";
import type { SegmentReplay } from "./segment-replay.ts";

export interface PointInTimeSummary {
  timestamp: string;
  /**
   * What decided where the restore stopped: "capture times" (the last commit captured at or before the
   * time), "object times" (a segment without capture times; the state of the objects uploaded by the time,
   * rounded toward the earlier state), or "newest object" (nothing newer than the time exists).
   */
  stoppedBy: "capture times" | "object times" | "newest object";
  /** Segments read past those uploaded by the time. */
  segmentsReadAfter: number;
}

export interface PointInTime {
  /** The restore stopped before the end of a WAL index on purpose. */
  stoppedInsideIndex: boolean;
  summary: PointInTimeSummary;
}

/** Where the segments come from, and how they are applied. */
export interface SegmentSource {
  /** The segment's bytes, whole. */
  bytes(seg: WalSegmentInfo): Promise<Uint8Array>;
  /** Applies the first `limit` bytes of the segment's content; returns the content's whole length. */
  apply(seg: WalSegmentInfo, bytes: Uint8Array, limit: number): Promise<number>;
}

/**
 * Replays the plan's `after` segments up to its timestamp. `downloaded` is told each object's size.
 * Returns null when the plan has no timestamp.
 */
export async function replayAfter(
  plan: RestorePlan,
  replay: SegmentReplay,
  source: SegmentSource,
  log: Logger,
  downloaded: (bytes: number) => void,
): Promise<PointInTime | null> {
  if (!plan.timestamp) return null;
  const t = plan.timestamp.getTime();
  const summary: PointInTimeSummary = {
    timestamp: plan.timestamp.toISOString(),
    stoppedBy: "newest object",
    segmentsReadAfter: 0,
  };
  for (const seg of plan.after) {
    const key = walSegmentPath("", plan.generation, seg.index, seg.offset);
    const bytes = await source.bytes(seg);
    downloaded(bytes.length);
    const limit = captureLimit(bytes, key, t, log);
    if (limit === null || limit === 0) {
      summary.stoppedBy = limit === null ? "object times" : "capture times";
      return { stoppedInsideIndex: seg.index === replay.currentIndex, summary };
    }
    summary.segmentsReadAfter++;
    const length = await source.apply(seg, bytes, limit);
    if (limit < length) {
      summary.stoppedBy = "capture times";
      return { stoppedInsideIndex: true, summary };
    }
  }
  return { stoppedInsideIndex: false, summary };
}

/** How much of a segment was captured at or before `t`; null when its records are missing or damaged. */
function captureLimit(bytes: Uint8Array, key: string, t: number, log: Logger): number | null {
  try {
    const times = readCaptureTimes(bytes);
    return times === null ? null : capturedBy(times, t);
  } catch (err) {
    if (!(err instanceof CaptureTimesError)) throw err;
    log.warn("capture times of a wal segment are damaged; stopping the point-in-time restore before it", {
      key,
      error: err.message,
    });
    return null;
  }
}
