/**
 * Gets WAL segments ready to apply, in the form that costs least memory: a segment of one LZ4 block or
 * less is read whole and decoded ahead on the decode pool (walship writes thousands of these), while a
 * larger one (Litestream writes segments of tens of MB after a burst) is opened as a local file, the
 * replica's own or a download, whose blocks are decoded when it is applied. A large segment then costs
 * no memory beyond the decode pool's block slots, where holding it whole cost its size twice over.
 */
import * as fs from "node:fs";
import { MAX_SEGMENT_CONTENT_BYTES, walSegmentPath } from "../format/layout.ts";
import { arraySource } from "../format/lz4-frame-format.ts";
import { fileSource } from "../io/file-io.ts";
import type { ReplicaClient, WalSegmentInfo } from "../storage/replica-client.ts";
import { RestoreIntegrityError } from "./apply.ts";
import type { DecodePool } from "./decode-pool.ts";
import { decodeFrameParallel } from "./parallel-decode.ts";
import { corrupt, type FrameDecoder, type SegmentData } from "./segment-replay.ts";

/**
 * Segments up to this size (walship's largest) are decoded whole on the decode pool's threads while
 * earlier ones are applied, so the download window holds at most `parallelism` times this much decoded.
 */
const POOLED_SEGMENT_BYTES = 16 * 1024 * 1024;
/** A frame larger than this holds more than one block (4 MiB at most): its blocks decode in parallel. */
const BLOCKWISE_FRAME_BYTES = 4 * 1024 * 1024;

/** A segment ready to apply; `release` frees its file, if it has one. */
export interface FetchedSegment {
  size: number;
  data: SegmentData;
  release(): void;
}

export class SegmentFetcher {
  /** Files of fetched segments not yet released, so a failed restore leaves no download behind. */
  private readonly held = new Set<() => void>();

  constructor(
    private readonly client: ReplicaClient,
    private readonly generation: string,
    /** Where downloads of large segments go (beside the output). */
    private readonly tempDir: string,
    private readonly pool: DecodePool,
  ) {}

  /** The segment, decoded when small, opened as a file (perhaps still downloading) when large. */
  async fetch(seg: WalSegmentInfo): Promise<FetchedSegment> {
    if (seg.size <= BLOCKWISE_FRAME_BYTES) {
      const bytes = await this.bytes(seg);
      return { size: bytes.length, data: await this.decode(bytes, this.key(seg)), release: () => {} };
    }
    const { generation, tempDir } = this;
    const file = await this.client.walSegmentFile(generation, seg.index, seg.offset, tempDir, seg.size);
    if (!file) throw this.disappeared(seg);
    let fd: number;
    try {
      fd = fs.openSync(file.path, "r");
    } catch (err) {
      file.release();
      throw err;
    }
    const release = () => {
      if (!this.held.delete(release)) return;
      fs.closeSync(fd);
      file.release();
    };
    this.held.add(release);
    return { size: file.size, data: { frame: fileSource(fd, file.size, file.ready) }, release };
  }

  /** The segment's bytes, whole. */
  async bytes(seg: WalSegmentInfo): Promise<Uint8Array> {
    const bytes = await this.client.readWalSegment(this.generation, seg.index, seg.offset);
    if (!bytes) throw this.disappeared(seg);
    return bytes;
  }

  /** Decodes a segment's bytes on the pool, or leaves a large one to be decoded as it is applied. */
  async decode(bytes: Uint8Array, key: string): Promise<SegmentData> {
    if (bytes.length > BLOCKWISE_FRAME_BYTES) return { frame: arraySource(bytes) };
    const content = await this.pool.decode(bytes, POOLED_SEGMENT_BYTES).catch((err: unknown) => {
      throw corrupt(key, err);
    });
    // Over the limit (a small frame of very compressible content): decoded as it is applied.
    return content ? { content } : { frame: arraySource(bytes) };
  }

  /** Decodes a frame left undecoded, block by block on the pool (SegmentReplay's decoder). */
  readonly decodeFrame: FrameDecoder = (frame, key, sink) =>
    decodeFrameParallel(frame, key, MAX_SEGMENT_CONTENT_BYTES, this.pool, sink);

  /** Frees every segment file still held. */
  releaseAll(): void {
    for (const release of [...this.held]) release();
  }

  private key(seg: WalSegmentInfo): string {
    return walSegmentPath("", this.generation, seg.index, seg.offset);
  }

  private disappeared(seg: WalSegmentInfo): RestoreIntegrityError {
    const key = this.key(seg);
    return new RestoreIntegrityError(`Cannot restore: WAL segment ${key} disappeared`, key);
  }
}
