/**
 * The shadow WAL of one database as walship writes it: which generation and index it is at, how far it
 * goes, when each stretch was captured, and the step that decides (continuity.ts) and copies. The caller
 * (database.ts) holds the read transaction that keeps the real WAL from restarting under the copy.
 */
import { randomBytes } from "node:crypto";
import type { CaptureTime } from "../format/capture-times.ts";
import { hex8, MAX_WAL_INDEX, newGenerationName, type Pos } from "../format/layout.ts";
import { fileSize, readFileAt } from "../io/file-io.ts";
import type { Logger } from "../observe/log.ts";
import { frameAlign, frameSize, sameWalHeader, WAL_HEADER_SIZE } from "../sqlite/wal.ts";
import { CaptureLog } from "./capture-log.ts";
import { type ContinuityFacts, decideContinuity } from "./continuity.ts";
import type { MetaDirectory } from "./meta-directory.ts";
import { otherWriterError } from "./other-replicator.ts";
import { copyCommittedFrames, initShadowWal, readHeaderBytes } from "./shadow-wal.ts";

export class ShadowWriter {
  generation = "";
  index = 0;
  /** The committed end of the current index's shadow file. */
  size = 0;
  /** Whether index and size are what our own last capture left (not yet after an open). */
  known = false;
  /** A reason to start a new generation at the next capture (replaced file, machine restart, a replica). */
  forcedReason = "";
  /** Whether each capture is fsynced: only where a lost page cache could not be detected (run-marker.ts). */
  fsync = true;
  /** When each capture happened, until every replica has uploaded it. */
  private readonly captures = new CaptureLog();

  constructor(
    private readonly meta: MetaDirectory,
    private readonly dbPath: string,
    private readonly walPath: string,
    /** Counts the bytes appended (metrics). */
    private readonly stats: { walBytes: number },
    /** Called whenever a new shadow index begins (a new generation's included). */
    private readonly onNewIndex: () => void,
    private readonly log: Logger,
  ) {}

  pos(): Pos | null {
    if (!this.generation) return null;
    return { generation: this.generation, index: this.index, offset: this.size };
  }

  path(index: number, generation = this.generation): string {
    return this.meta.shadowPath(generation, index);
  }

  /**
   * Takes up the generation the meta directory names, if the real WAL still is the session its shadow
   * WAL copied; otherwise the next capture starts a new generation, saying why.
   */
  resume(): void {
    this.generation = this.meta.generationFile.read();
    if (!this.generation || this.forcedReason) return;
    const index = this.meta.highestShadowIndex(this.generation);
    const shadowHeader = index === null ? new Uint8Array(0) : readHeaderBytes(this.path(index));
    if (index === null || !sameWalHeader(shadowHeader, readHeaderBytes(this.walPath))) {
      // Logged once, with the new generation's line.
      this.forcedReason = `wal changed while walship was stopped (generation ${this.generation} ends)`;
      this.meta.generationFile.remove();
      this.generation = "";
    }
  }

  /** Copies what the real WAL committed since the last capture, continuing, restarting or starting over. */
  capture(pageSize: number): void {
    const decision = decideContinuity(this.facts(pageSize));
    if (decision.kind === "new-generation") this.createGeneration(decision.reason);
    else {
      this.copy();
      if (decision.kind === "restart") this.startNextIndex();
    }
  }

  /**
   * What decideContinuity needs, read from the shadow WAL and the real one; reading stops where the facts
   * read so far already decide. Between our own captures nothing else writes the shadow WAL: a shadow that
   * changed anyway means another replicator shares our meta directory.
   */
  private facts(pageSize: number): ContinuityFacts {
    const facts: ContinuityFacts = {
      forcedReason: this.forcedReason,
      generation: this.generation,
      index: this.generation ? this.meta.highestShadowIndex(this.generation) : null,
      shadowSize: 0,
      walSize: 0,
      sameHeader: false,
      sameLastFrame: false,
    };
    this.forcedReason = "";
    const index = facts.index;
    if (facts.forcedReason || index === null || index >= MAX_WAL_INDEX) return facts;
    const shadowPath = this.path(index);
    const shadowSize = frameAlign(fileSize(shadowPath) ?? 0, pageSize);
    if (this.known && (index !== this.index || shadowSize !== this.size)) {
      throw otherWriterError(this.dbPath, `wrote the shadow wal ${shadowPath}`);
    }
    this.index = index;
    this.size = shadowSize;
    facts.shadowSize = shadowSize;
    facts.walSize = frameAlign(fileSize(this.walPath) ?? 0, pageSize);
    if (shadowSize < WAL_HEADER_SIZE) return facts;
    facts.sameHeader = sameWalHeader(readHeaderBytes(shadowPath), readHeaderBytes(this.walPath));
    if (!facts.sameHeader || shadowSize > facts.walSize) return facts;
    const fs_ = frameSize(pageSize);
    facts.sameLastFrame =
      shadowSize === WAL_HEADER_SIZE ||
      bytesEqual(
        readFileAt(shadowPath, shadowSize - fs_, fs_),
        readFileAt(this.walPath, shadowSize - fs_, fs_),
      );
    return facts;
  }

  private createGeneration(reason: string): void {
    const generation = newGenerationName(randomBytes);
    this.meta.createGeneration(generation);
    this.index = 0;
    this.onNewIndex();
    this.captures.clear();
    this.size = initShadowWal(this.walPath, this.path(0, generation), { fsync: this.fsync });
    this.captured(0);
    this.meta.generationFile.write(generation);
    const previous = this.generation;
    this.generation = generation;
    this.log.info("starting a new generation", {
      db: this.dbPath,
      generation,
      reason,
      previous_generation: previous || undefined,
    });
  }

  private startNextIndex(): void {
    this.index++;
    this.onNewIndex();
    this.size = initShadowWal(this.walPath, this.path(this.index), { fsync: this.fsync });
    this.captured(0);
  }

  /** Appends newly committed frames to the current shadow file. */
  private copy(): void {
    const before = this.size;
    this.size = copyCommittedFrames(this.walPath, this.path(this.index), { fsync: this.fsync });
    this.captured(before);
  }

  /** Accounts for the frames a capture added to the current shadow index: metrics and capture times. */
  private captured(before: number): void {
    this.known = true;
    if (this.size <= before) return;
    this.stats.walBytes += this.size - before;
    // The hot path: the fields are built only when someone reads them.
    if (this.log.enabled("debug"))
      this.log.debug("wal captured", {
        db: this.dbPath,
        shadow_index: hex8(this.index),
        offset: this.size,
        bytes: this.size - before,
      });
    if (this.size > WAL_HEADER_SIZE) this.captures.record(this.index, this.size, Date.now());
  }

  /**
   * When the commits of shadow index `index` in (from, to] were captured, as offsets from `from`: what a
   * replica writes into the segment holding them (empty for frames captured before a restart).
   */
  captureTimes(index: number, from: number, to: number): CaptureTime[] {
    return this.captures.between(index, from, to);
  }

  /** Deletes other generations' shadow files, and what lies before `floor` (the slowest replica). */
  clean(floor: Pos | null): void {
    this.meta.removeOtherGenerations(this.generation);
    if (!floor || floor.generation !== this.generation) return;
    this.captures.forget(floor.index, floor.offset);
    // Keep one index below the slowest replica, as Litestream does.
    if (floor.index > 1) this.meta.removeShadowBelow(this.generation, floor.index - 1);
  }
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
