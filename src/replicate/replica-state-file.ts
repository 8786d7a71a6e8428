/**
 * What this node last wrote to one replica, kept in the metadata directory
 * (`replicas/NAME.json`): the newest WAL segment's name, stored size and where its content ends, and a
 * fingerprint of the age recipients it was encrypted for. It lets an encrypted replica resume its
 * generation after a restart without reading anything back (Litestream 0.3.13 decodes the newest segment,
 * which needs the identity; a node that has only recipients cannot). Written atomically after every
 * segment; a file that is missing, unreadable or about another object means "not known", never a guess.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { isGenerationName, type Pos } from "../format/layout.ts";
import { MetaDirectory } from "./meta-directory.ts";

export interface LastSegment {
  generation: string;
  index: number;
  offset: number;
  /** The object's stored (encrypted) size, as the listing reports it. */
  size: number;
  /** Where the segment's content ends in its WAL index. */
  end: number;
  /** AgeEncryptor.fingerprint of the keys it was encrypted for. */
  recipients: string;
}

export class ReplicaStateFile {
  readonly path: string;

  constructor(metaPath: string, replicaName: string) {
    this.path = new MetaDirectory(metaPath).replicaStatePath(replicaName);
  }

  read(): LastSegment | null {
    let parsed: unknown;
    try {
      parsed = JSON.parse(fs.readFileSync(this.path, "utf8"));
    } catch {
      return null;
    }
    return isLastSegment(parsed) ? parsed : null;
  }

  write(last: LastSegment): void {
    fs.mkdirSync(path.dirname(this.path), { recursive: true, mode: 0o700 });
    const tmp = `${this.path}.tmp`;
    fs.writeFileSync(tmp, `${JSON.stringify(last)}\n`, { mode: 0o600 });
    fs.renameSync(tmp, this.path);
  }
}

/** The end of `segment` when `known` describes that very object, else null. */
export function knownEnd(
  known: LastSegment | null,
  segment: { generation: string; index: number; offset: number; size: number },
): Pos | null {
  if (
    !known ||
    known.generation !== segment.generation ||
    known.index !== segment.index ||
    known.offset !== segment.offset ||
    known.size !== segment.size
  )
    return null;
  return { generation: known.generation, index: known.index, offset: known.end };
}

function isLastSegment(v: unknown): v is LastSegment {
  if (typeof v !== "object" || v === null) return false;
  const o = v as Record<string, unknown>;
  const count = (x: unknown) => Number.isSafeInteger(x) && (x as number) >= 0;
  return (
    typeof o.generation === "string" &&
    isGenerationName(o.generation) &&
    count(o.index) &&
    count(o.offset) &&
    count(o.size) &&
    count(o.end) &&
    (o.end as number) > (o.offset as number) &&
    typeof o.recipients === "string"
  );
}
