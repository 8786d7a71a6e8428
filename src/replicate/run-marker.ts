/**
 * Whether shadow files written without fsync can be trusted after a restart. A crash of walship alone
 * loses nothing the kernel already has; only the machine going down (power loss, kernel panic) while
 * walship was capturing can leave a shadow WAL with a lost or zeroed tail. The marker records the boot
 * a capture session runs in and is removed when it closes cleanly, so finding one from another boot
 * means exactly that case. Skipping the fsync per capture matters under a write flood: on a shared disk
 * it cost the application about 15% of its commits (test/bench/load.ts, storm).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { syncDir } from "../io/file-io.ts";

const BOOT_ID_PATH = "/proc/sys/kernel/random/boot_id";

/** This boot's identity, or null where the system does not tell (then every capture is fsynced). */
export function currentBootId(): string | null {
  try {
    return fs.readFileSync(BOOT_ID_PATH, "utf8").trim() || null;
  } catch {
    return null;
  }
}

export class RunMarker {
  constructor(readonly file: string) {}

  /**
   * Records (durably) that a capture session runs in boot `bootId`. Returns true when an earlier session
   * of another boot never closed: its unsynced shadow writes may be lost.
   */
  begin(bootId: string): boolean {
    let previous: string | null = null;
    try {
      previous = fs.readFileSync(this.file, "utf8").trim();
    } catch {}
    const tmp = `${this.file}.tmp`;
    const fd = fs.openSync(tmp, "w", 0o600);
    try {
      fs.writeSync(fd, `${bootId}\n`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.file);
    syncDir(path.dirname(this.file));
    return previous !== null && previous !== bootId;
  }

  /** The session closed cleanly: everything it wrote reached the kernel. */
  end(): void {
    fs.rmSync(this.file, { force: true });
  }
}
