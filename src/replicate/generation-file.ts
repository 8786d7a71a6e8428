/**
 * The `generation` file of a database's meta directory: the name of the generation being replicated,
 * in the place and format Litestream 0.3.13 keeps it. It is written atomically (temporary file, rename),
 * and it remembers what it last read or wrote, so that another process writing it (Litestream replicating
 * the same database, which shares the meta directory) is noticed.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { isGenerationName } from "../format/layout.ts";

export class GenerationFile {
  readonly path: string;
  /** The file as we last left it: its inode and modification time, or null when there was none. */
  private seen: { ino: number; mtimeMs: number } | null = null;

  constructor(metaPath: string) {
    this.path = path.join(metaPath, "generation");
  }

  /** The generation it names; "" when there is none (or it names nothing valid). */
  read(): string {
    this.seen = this.stat();
    try {
      const g = fs.readFileSync(this.path, "utf8").trim();
      return isGenerationName(g) ? g : "";
    } catch {
      return "";
    }
  }

  write(generation: string): void {
    const tmp = `${this.path}.tmp`;
    fs.writeFileSync(tmp, `${generation}\n`, { mode: 0o600 });
    fs.renameSync(tmp, this.path);
    this.seen = this.stat();
  }

  remove(): void {
    fs.rmSync(this.path, { force: true });
    this.seen = null;
  }

  /** Whether some other process wrote or removed the file since we last read or wrote it. */
  changedByOthers(): boolean {
    const now = this.stat();
    if (!now || !this.seen) return now !== this.seen;
    return now.ino !== this.seen.ino || now.mtimeMs !== this.seen.mtimeMs;
  }

  private stat(): { ino: number; mtimeMs: number } | null {
    try {
      const st = fs.statSync(this.path);
      return { ino: st.ino, mtimeMs: st.mtimeMs };
    } catch {
      return null;
    }
  }
}
