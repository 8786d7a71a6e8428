/**
 * Gets WAL segments ready to decode, in the form that costs least memory: a directory replica's own file,
 * a download into a file for a large segment of a remote replica (Litestream writes segments of tens of
 * MB after a burst), read as its ranges arrive, and the bytes in memory only for a small remote one.
 */
import { walSegmentPath } from "../format/layout.ts";
import type { FrameSource } from "../format/lz4-frame-format.ts";
import type { AgeChunkOpener } from "../storage/age-decrypted-source.ts";
import type { ReplicaClient, WalSegmentInfo } from "../storage/replica-client.ts";
import { RestoreIntegrityError } from "./apply.ts";

/** A remote segment larger than this (more than one 4 MiB LZ4 block) is downloaded into a file. */
const IN_MEMORY_MAX_BYTES = 4 * 1024 * 1024;

/** A segment ready to decode; `release` frees its file, if it has one. */
export interface FetchedSegment {
  size: number;
  source: FrameSource;
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
    /** Decrypt encrypted segments (see AgeDecryptor.source). */
    private readonly workers: Promise<AgeChunkOpener>,
  ) {}

  /** The segment as a file when it is local or large, else its bytes. */
  async fetch(seg: WalSegmentInfo): Promise<FetchedSegment> {
    const { generation, tempDir } = this;
    const object =
      this.client.type !== "file" && seg.size <= IN_MEMORY_MAX_BYTES
        ? await this.client.walSegmentInMemory(generation, seg.index, seg.offset, this.workers)
        : await this.client.walSegmentSource(
            generation,
            seg.index,
            seg.offset,
            tempDir,
            seg.size,
            this.workers,
          );
    if (!object) throw this.disappeared(seg);
    const release = () => {
      if (this.held.delete(release)) object.release();
    };
    this.held.add(release);
    return { size: object.size, source: object.source, release };
  }

  /** The segment's bytes, whole. */
  async bytes(seg: WalSegmentInfo): Promise<Uint8Array> {
    const bytes = await this.client.readWalSegment(this.generation, seg.index, seg.offset);
    if (!bytes) throw this.disappeared(seg);
    return bytes;
  }

  /** Frees every segment file still held. */
  releaseAll(): void {
    for (const release of [...this.held]) release();
  }

  private disappeared(seg: WalSegmentInfo): RestoreIntegrityError {
    const key = walSegmentPath("", this.generation, seg.index, seg.offset);
    return new RestoreIntegrityError(`Cannot restore: WAL segment ${key} disappeared`, key);
  }
}
