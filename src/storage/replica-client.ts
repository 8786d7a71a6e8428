/**
 * The replica as the engine sees it: generations, snapshots and WAL segments in Litestream 0.3.13's
 * layout, mapped onto any ObjectStore. Listings come back sorted here, never trusted from the server.
 */
import {
  compareIndexOffset,
  generationPath,
  generationsPath,
  isGenerationName,
  type Pos,
  parseSnapshotName,
  parseWalSegmentName,
  snapshotPath,
  snapshotsPath,
  walPath,
  walSegmentPath,
} from "../format/layout.ts";
import { arraySource } from "../format/lz4-frame-format.ts";
import type { AgeChunkOpener } from "./age-decrypted-source.ts";
import type { AgeDecryptor } from "./age-decryptor.ts";
import type { AgeEncryptor } from "./age-encryptor.ts";
import { fileObjectSource, type ObjectSource } from "./object-source.ts";
import type { LocalObject, ObjectStore } from "./object-store.ts";

export interface SnapshotInfo {
  generation: string;
  index: number;
  /** Compressed size. */
  size: number;
  createdAt: Date;
}

export interface WalSegmentInfo {
  generation: string;
  index: number;
  offset: number;
  /** Compressed size. */
  size: number;
  createdAt: Date;
}

export class ReplicaClient {
  /**
   * `age`: reads decrypt through it (and an encrypted object read without identities says so); absent,
   * objects are read as stored. `encryptor`: every object written is encrypted by it.
   */
  constructor(
    readonly store: ObjectStore,
    private readonly age?: AgeDecryptor,
    readonly encryptor?: AgeEncryptor,
  ) {}

  /** The same replica, its objects read through `age`. */
  decrypting(age: AgeDecryptor): ReplicaClient {
    return new ReplicaClient(this.store, age, this.encryptor);
  }

  /** The same replica, every object it writes encrypted by `encryptor`. */
  encrypting(encryptor: AgeEncryptor): ReplicaClient {
    return new ReplicaClient(this.store, this.age, encryptor);
  }

  /** Whether encrypted objects can be read (identities are configured). */
  get canDecrypt(): boolean {
    return this.age?.hasIdentities ?? false;
  }

  get type(): ObjectStore["type"] {
    return this.store.type;
  }

  /** Generation names, sorted. */
  async generations(): Promise<string[]> {
    const prefix = `${generationsPath("")}/`;
    const { prefixes } = await this.store.list(prefix, { delimiter: true });
    return prefixes
      .map((p) => childName(prefix, p))
      .filter(isGenerationName)
      .sort();
  }

  /** Snapshots of a generation, sorted by index. */
  async snapshots(generation: string): Promise<SnapshotInfo[]> {
    const prefix = `${snapshotsPath("", generation)}/`;
    const { objects } = await this.store.list(prefix, { delimiter: true });
    const out: SnapshotInfo[] = [];
    for (const o of objects) {
      const parsed = parseSnapshotName(childName(prefix, o.key));
      if (parsed) out.push({ generation, index: parsed.index, size: o.size, createdAt: o.createdAt });
    }
    return out.sort((a, b) => a.index - b.index);
  }

  /** WAL segments of a generation, sorted by (index, offset). */
  async walSegments(generation: string): Promise<WalSegmentInfo[]> {
    const prefix = `${walPath("", generation)}/`;
    const { objects } = await this.store.list(prefix, { delimiter: true });
    const out: WalSegmentInfo[] = [];
    for (const o of objects) {
      const parsed = parseWalSegmentName(childName(prefix, o.key));
      if (parsed) out.push({ generation, ...parsed, size: o.size, createdAt: o.createdAt });
    }
    return out.sort(compareIndexOffset);
  }

  async writeSnapshot(generation: string, index: number, lz4: Uint8Array): Promise<SnapshotInfo> {
    const stored = this.sealed(lz4);
    const { createdAt } = await this.store.put(snapshotPath("", generation, index), stored);
    return { generation, index, size: stored.length, createdAt };
  }

  /** Writes a snapshot from compressed pieces produced while reading the database. */
  async writeSnapshotStream(
    generation: string,
    index: number,
    lz4: AsyncIterable<Uint8Array>,
  ): Promise<SnapshotInfo> {
    const { createdAt, size } = await this.store.putStream(
      snapshotPath("", generation, index),
      this.sealedStream(lz4),
    );
    return { generation, index, size, createdAt };
  }

  async writeWalSegment(pos: Pos, lz4: Uint8Array): Promise<WalSegmentInfo> {
    const stored = this.sealed(lz4);
    const { createdAt } = await this.store.put(
      walSegmentPath("", pos.generation, pos.index, pos.offset),
      stored,
    );
    return { ...pos, size: stored.length, createdAt };
  }

  /** Writes a WAL segment from compressed pieces (one transaction larger than a segment, read as it goes). */
  async writeWalSegmentStream(pos: Pos, lz4: AsyncIterable<Uint8Array>): Promise<WalSegmentInfo> {
    const { createdAt, size } = await this.store.putStream(
      walSegmentPath("", pos.generation, pos.index, pos.offset),
      this.sealedStream(lz4),
    );
    return { ...pos, size, createdAt };
  }

  private sealed(lz4: Uint8Array): Uint8Array {
    return this.encryptor ? this.encryptor.bytes(lz4) : lz4;
  }

  private sealedStream(lz4: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
    return this.encryptor ? this.encryptor.stream(lz4) : lz4;
  }

  /** The compressed snapshot as a local file (see ObjectStore.getFile), or null if it does not exist. */
  snapshotFile(
    generation: string,
    index: number,
    tempDir: string,
    size?: number,
  ): Promise<LocalObject | null> {
    return this.readFile(snapshotPath("", generation, index), tempDir, size);
  }

  /** The compressed WAL segment as a local file (see ObjectStore.getFile), or null if it does not exist. */
  walSegmentFile(
    generation: string,
    index: number,
    offset: number,
    tempDir: string,
    size?: number,
  ): Promise<LocalObject | null> {
    return this.readFile(walSegmentPath("", generation, index, offset), tempDir, size);
  }

  /**
   * The compressed snapshot ready to decode, or null if it does not exist: its file, or, encrypted and
   * large, its plaintext opened on `workers` as it downloads (see AgeDecryptor.source).
   */
  snapshotSource(
    generation: string,
    index: number,
    tempDir: string,
    size: number | undefined,
    workers: Promise<AgeChunkOpener>,
  ): Promise<ObjectSource | null> {
    return this.readSource(snapshotPath("", generation, index), tempDir, size, workers);
  }

  /** The compressed WAL segment ready to decode, as snapshotSource. */
  walSegmentSource(
    generation: string,
    index: number,
    offset: number,
    tempDir: string,
    size: number | undefined,
    workers: Promise<AgeChunkOpener>,
  ): Promise<ObjectSource | null> {
    return this.readSource(walSegmentPath("", generation, index, offset), tempDir, size, workers);
  }

  /** The compressed WAL segment ready to decode from memory (for small ones), or null if it does not exist. */
  async walSegmentInMemory(
    generation: string,
    index: number,
    offset: number,
    workers: Promise<AgeChunkOpener>,
  ): Promise<ObjectSource | null> {
    const key = walSegmentPath("", generation, index, offset);
    const bytes = await this.store.get(key);
    if (!bytes) return null;
    if (this.age) return this.age.bytesSource(key, bytes, workers);
    return { size: bytes.length, source: arraySource(bytes), release: () => {} };
  }

  /** The compressed WAL segment, or null if it does not exist. */
  async readWalSegment(generation: string, index: number, offset: number): Promise<Uint8Array | null> {
    const key = walSegmentPath("", generation, index, offset);
    const bytes = await this.store.get(key);
    return bytes && this.decrypt(key, bytes);
  }

  /** The WAL segment as stored (encrypted or not), or null if it does not exist. */
  storedWalSegment(generation: string, index: number, offset: number): Promise<Uint8Array | null> {
    return this.store.get(walSegmentPath("", generation, index, offset));
  }

  /** The plaintext of the stored object `key`. */
  decrypt(key: string, stored: Uint8Array): Promise<Uint8Array> {
    return this.age ? this.age.bytes(key, stored) : Promise.resolve(stored);
  }

  private async readFile(key: string, tempDir: string, size?: number): Promise<LocalObject | null> {
    const local = await this.store.getFile(key, tempDir, size);
    return local && this.age ? this.age.file(key, local, tempDir) : local;
  }

  private async readSource(
    key: string,
    tempDir: string,
    size: number | undefined,
    workers: Promise<AgeChunkOpener>,
  ): Promise<ObjectSource | null> {
    const local = await this.store.getFile(key, tempDir, size);
    if (!local) return null;
    return this.age ? this.age.source(key, local, tempDir, workers) : fileObjectSource(local);
  }

  async deleteGeneration(generation: string): Promise<void> {
    const { objects } = await this.store.list(`${generationPath("", generation)}/`, { delimiter: false });
    await this.store.delete(objects.map((o) => o.key));
  }

  deleteSnapshot(generation: string, index: number): Promise<void> {
    return this.store.delete([snapshotPath("", generation, index)]);
  }

  deleteWalSegments(segments: { generation: string; index: number; offset: number }[]): Promise<void> {
    return this.store.delete(segments.map((s) => walSegmentPath("", s.generation, s.index, s.offset)));
  }
}

/**
 * The name of `key` directly under `prefix`, or "" when the key is anywhere else: a server that lists
 * `…/snapshots/../../x/00000007.snapshot.lz4` must not make us pick (or fetch) that object.
 */
function childName(prefix: string, key: string): string {
  if (!key.startsWith(prefix)) return "";
  const name = key.slice(prefix.length);
  return name.includes("/") ? "" : name;
}
