/**
 * The benchmark process itself, shared by restore.ts and load.ts: its typed failure (with an exit code),
 * the process groups it started, the guard that cleans up on an interrupt or when the whole run takes
 * too long, and which walship it measures.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { S3Server } from "../helpers/s3-server.ts";

export const REPO_ROOT = path.resolve(import.meta.dirname, "../..");

export class BenchFailure extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** Process groups we started and have not seen exit: killed on a timeout, an interrupt or the hard stop. */
export const live = new Set<number>();

export function killGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}

/**
 * Kills what we started and stops the S3 server (which also deletes its data), bounded, then removes
 * `scratch` and exits, on SIGINT/SIGTERM (130) or once the run exceeds `maxMinutes` (3). Returns the
 * function that cancels the time limit once the run has finished.
 */
export function guardRun(opts: {
  scratch: string;
  server: () => S3Server | null;
  maxMinutes: number;
  say: (line: string) => void;
}): () => void {
  const abort = async (code: number): Promise<never> => {
    for (const pid of live) killGroup(pid);
    await Promise.race([opts.server()?.stop(), Bun.sleep(8_000)]);
    fs.rmSync(opts.scratch, { recursive: true, force: true });
    process.exit(code);
  };
  const interrupt = (): void => void abort(130);
  process.on("SIGINT", interrupt);
  process.on("SIGTERM", interrupt);
  const hardStop = setTimeout(
    () => {
      opts.say(`benchmark exceeded --max-minutes ${opts.maxMinutes}; stopping`);
      void abort(3);
    },
    opts.maxMinutes * 60_000 + 30_000,
  );
  hardStop.unref();
  return () => clearTimeout(hardStop);
}

/** The walship to measure: --walship-bin, else `dist/walship` when built, else from source. */
export function walshipCommand(walshipBin: string | undefined): { mode: string; cmd: string[] } {
  if (walshipBin && !fs.existsSync(walshipBin)) {
    throw new BenchFailure(`--walship-bin ${walshipBin} does not exist`, 2);
  }
  const compiled = walshipBin ?? path.join(REPO_ROOT, "dist", "walship");
  return fs.existsSync(compiled)
    ? { mode: "compiled executable", cmd: [path.resolve(compiled)] }
    : {
        mode: "source (bun src/cli/main.ts)",
        cmd: [process.execPath, path.join(REPO_ROOT, "src/cli/main.ts")],
      };
}
