/**
 * A database's meta directory (`.<db>-litestream/`, Litestream 0.3.13's place and layout): the
 * `generation` file, one directory per generation holding the shadow WAL (`wal/<index>.wal`), and
 * walship's own files beside them (`walship.lock`, `walship.run`, `replicas/<name>.json`, and
 * `validation/<name>/` while a validation runs). The only
 * module that builds paths inside it; cleanup of what no replica needs any more lives here too.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseShadowWalName, shadowWalName } from "../format/layout.ts";
import { GenerationFile } from "./generation-file.ts";

/** Where Litestream keeps a database's state, and walship with it: `<dir>/.<name>-litestream`. */
export function defaultMetaPath(dbPath: string): string {
  return path.join(path.dirname(dbPath), `.${path.basename(dbPath)}-litestream`);
}

export class MetaDirectory {
  readonly generationFile: GenerationFile;

  constructor(readonly path: string) {
    this.generationFile = new GenerationFile(path);
  }

  /** Creates the directory (owner only: it holds the database's changes) when it does not exist. */
  ensure(): void {
    fs.mkdirSync(this.path, { recursive: true, mode: 0o700 });
  }

  /** The lock file held while a walship process replicates the database (process-lock.ts). */
  get lockPath(): string {
    return path.join(this.path, "walship.lock");
  }

  /** The marker of a capture session that has not closed (run-marker.ts). */
  get runMarkerPath(): string {
    return path.join(this.path, "walship.run");
  }

  /** What replica `name` last uploaded (replica-state-file.ts). */
  replicaStatePath(name: string): string {
    return path.join(this.path, "replicas", `${encodeURIComponent(name)}.json`);
  }

  /** Where replica `name`'s validation restores its copy of the database (validator.ts); removed after each run. */
  validationPath(name: string): string {
    return path.join(this.path, "validation", encodeURIComponent(name));
  }

  private generationsDir(): string {
    return path.join(this.path, "generations");
  }

  private shadowDir(generation: string): string {
    return path.join(this.generationsDir(), generation, "wal");
  }

  shadowPath(generation: string, index: number): string {
    return path.join(this.shadowDir(generation), shadowWalName(index));
  }

  /** Creates the directory of a new generation. */
  createGeneration(generation: string): void {
    fs.mkdirSync(path.join(this.generationsDir(), generation), { recursive: true, mode: 0o700 });
  }

  /** The highest shadow WAL index of `generation`, or null when it has none. */
  highestShadowIndex(generation: string): number | null {
    let max: number | null = null;
    for (const n of listDir(this.shadowDir(generation))) {
      const p = parseShadowWalName(n);
      if (p && (max === null || p.index > max)) max = p.index;
    }
    return max;
  }

  /** Deletes every generation's shadow files but `keep`'s. */
  removeOtherGenerations(keep: string): void {
    for (const g of listDir(this.generationsDir())) {
      if (g !== keep) fs.rmSync(path.join(this.generationsDir(), g), { recursive: true, force: true });
    }
  }

  /** Deletes the shadow WAL files of `generation` below `index`. */
  removeShadowBelow(generation: string, index: number): void {
    const dir = this.shadowDir(generation);
    for (const n of listDir(dir)) {
      const p = parseShadowWalName(n);
      if (p && p.index < index) fs.rmSync(path.join(dir, n), { force: true });
    }
  }

  /** Deletes the temporary files an interrupted write left anywhere in the directory. */
  removeTmpFiles(dir = this.path): void {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) this.removeTmpFiles(p);
      else if (e.name.endsWith(".tmp")) fs.rmSync(p, { force: true });
    }
  }
}

function listDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}
