/**
 * Replays WAL segments in order onto the restored file: checks that each WAL index follows the one
 * before (from the snapshot's on) and starts at offset 0, that each segment starts where the previous one
 * ended, and feeds their content to the WAL applier, all of it or only up to a point in time.
 */
import { hex8, MAX_SEGMENT_CONTENT_BYTES, walSegmentPath } from "../format/layout.ts";
import type { FrameSource } from "../format/lz4-frame-format.ts";
import type { WalSegmentInfo } from "../storage/replica-client.ts";
import { RestoreIntegrityError, type WalApplier } from "./apply.ts";
import type { FrameJob } from "./parallel-decode.ts";

export class SegmentReplay {
  private index = -1;
  private expectOffset = 0;
  /** The last object read (the snapshot's key until a segment is). */
  lastKey: string;

  /**
   * `readToTheEndBelow`: WAL indexes below this one are read to their end or the restore fails, so their
   * transactions may be written before they commit (WalApplier.begin). A point-in-time restore may stop
   * inside any index from the first it reads past the requested time on.
   */
  constructor(
    private readonly applier: WalApplier,
    private readonly generation: string,
    private readonly snapshotIndex: number,
    snapshotKey: string,
    private readonly readToTheEndBelow: number,
  ) {
    this.lastKey = snapshotKey;
  }

  /** Transactions applied so far. */
  get commits(): number {
    return this.applier.commits;
  }

  /** The WAL index being replayed (-1 before the first segment). */
  get currentIndex(): number {
    return this.index;
  }

  /**
   * The decoding job (parallel-decode.ts) that applies segment `seg`, read from `source`: all of its
   * content, or only the first `limit` bytes (a commit's end). `applied` is told the content's whole
   * length once it is.
   */
  job(
    seg: WalSegmentInfo,
    source: FrameSource,
    limit = Number.POSITIVE_INFINITY,
    applied?: (length: number) => void,
  ): FrameJob {
    const key = walSegmentPath("", this.generation, seg.index, seg.offset);
    return {
      source,
      key,
      maxOutputBytes: MAX_SEGMENT_CONTENT_BYTES,
      start: () => this.start(seg, key),
      sink: (chunk, offset) => {
        const take = Math.max(0, Math.min(chunk.length, limit - offset));
        if (take > 0) this.applier.push(chunk.subarray(0, take), key);
      },
      end: (length) => {
        this.expectOffset += length;
        this.lastKey = key;
        applied?.(length);
      },
    };
  }

  /** Ends the last index; `stoppedInsideIndex` as for WalApplier.end. */
  finish(stoppedInsideIndex: boolean): void {
    if (this.index >= 0) this.applier.end(this.lastKey, stoppedInsideIndex);
  }

  /** Checks that `seg` follows what was applied, and starts its WAL index when it is a new one. */
  private start(seg: WalSegmentInfo, key: string): void {
    if (seg.index !== this.index) {
      const expected = this.index < 0 ? this.snapshotIndex : this.index + 1;
      if (seg.index !== expected) {
        throw new RestoreIntegrityError(
          `Cannot restore: WAL index ${hex8(expected)} of generation ${this.generation} is missing before ${key}`,
          key,
        );
      }
      if (this.index >= 0) this.applier.end(this.lastKey);
      this.applier.begin(seg.index < this.readToTheEndBelow);
      this.index = seg.index;
      this.expectOffset = 0;
    }
    if (seg.offset !== this.expectOffset) {
      throw new RestoreIntegrityError(
        `Cannot restore: WAL segment ${key} starts at offset ${seg.offset}, but the previous segment ends at ${this.expectOffset}`,
        key,
      );
    }
  }
}
