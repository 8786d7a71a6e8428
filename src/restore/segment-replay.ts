/**
 * Replays WAL segments in order onto the restored file: checks that each WAL index follows the one
 * before (from the snapshot's on) and starts at offset 0, that each segment starts where the previous one
 * ended, and feeds their content to the WAL applier, all of it or only up to a point in time.
 */
import { hex8, walSegmentPath } from "../format/layout.ts";
import { decodeLz4FrameStream } from "../format/lz4-frame.ts";
import type { FrameSource } from "../format/lz4-frame-format.ts";
import type { WalSegmentInfo } from "../storage/replica-client.ts";
import { RestoreIntegrityError, type WalApplier } from "./apply.ts";

/** A downloaded segment: its content when already decoded (on a worker), else its LZ4 frame. */
export type SegmentData = { content: Uint8Array } | { frame: FrameSource };

/** Decodes a whole LZ4 frame (object `key`) into `sink`, in order, and returns the content's length. */
export type FrameDecoder = (
  frame: FrameSource,
  key: string,
  sink: (chunk: Uint8Array) => void,
) => Promise<number>;

export interface ReplayOptions {
  /**
   * WAL indexes below this one are read to their end or the restore fails, so their transactions may be
   * written before they commit (WalApplier.begin). A point-in-time restore may stop inside any index
   * from the first it reads past the requested time on.
   */
  readToTheEndBelow: number;
  /** Decodes segments that arrive undecoded (too large to decode ahead whole). */
  decodeFrame: FrameDecoder;
}

export class SegmentReplay {
  private index = -1;
  private expectOffset = 0;
  /** The last object read (the snapshot's key until a segment is). */
  lastKey: string;

  constructor(
    private readonly applier: WalApplier,
    private readonly generation: string,
    private readonly snapshotIndex: number,
    snapshotKey: string,
    private readonly options: ReplayOptions,
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
   * Applies a segment's content, or only its first `limit` bytes (a commit's end), and returns the
   * content's whole length.
   */
  async apply(seg: WalSegmentInfo, data: SegmentData, limit = Number.POSITIVE_INFINITY): Promise<number> {
    const key = walSegmentPath("", this.generation, seg.index, seg.offset);
    if (seg.index !== this.index) {
      const expected = this.index < 0 ? this.snapshotIndex : this.index + 1;
      if (seg.index !== expected) {
        throw new RestoreIntegrityError(
          `Cannot restore: WAL index ${hex8(expected)} of generation ${this.generation} is missing before ${key}`,
          key,
        );
      }
      if (this.index >= 0) this.applier.end(this.lastKey);
      this.applier.begin(seg.index < this.options.readToTheEndBelow);
      this.index = seg.index;
      this.expectOffset = 0;
    }
    if (seg.offset !== this.expectOffset) {
      throw new RestoreIntegrityError(
        `Cannot restore: WAL segment ${key} starts at offset ${seg.offset}, but the previous segment ends at ${this.expectOffset}`,
        key,
      );
    }
    let length: number;
    if ("content" in data) {
      this.applier.push(data.content.subarray(0, Math.min(limit, data.content.length)), key);
      length = data.content.length;
    } else {
      let done = 0;
      length = await this.options.decodeFrame(data.frame, key, (chunk) => {
        const take = Math.max(0, Math.min(chunk.length, limit - done));
        if (take > 0) this.applier.push(chunk.subarray(0, take), key);
        done += chunk.length;
      });
    }
    this.expectOffset += length;
    this.lastKey = key;
    return length;
  }

  /** Ends the last index; `stoppedInsideIndex` as for WalApplier.end. */
  finish(stoppedInsideIndex: boolean): void {
    if (this.index >= 0) this.applier.end(this.lastKey, stoppedInsideIndex);
  }
}

/** Decodes an object block by block into `sink`; a format error names the object. */
export function decodeStream(
  bytes: Parameters<typeof decodeLz4FrameStream>[0],
  key: string,
  max: number,
  sink: (chunk: Uint8Array) => void,
): number {
  try {
    return decodeLz4FrameStream(bytes, sink, { maxOutputBytes: max });
  } catch (err) {
    throw corrupt(key, err);
  }
}

/** An object that does not decode, as the error a restore reports. */
export function corrupt(key: string, err: unknown): RestoreIntegrityError {
  if (err instanceof RestoreIntegrityError) return err;
  return new RestoreIntegrityError(`Cannot restore: ${key} is corrupt: ${(err as Error).message}`, key);
}
