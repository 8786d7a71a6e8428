/**
 * What the tests need from the runtime, for the tests that also run under Deno (test/runtime/deno-tests.ts):
 * running a command to completion and finding one on PATH. Bun's own calls under Bun, node:child_process
 * elsewhere. Sleeping and the rest come from src/runtime/.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export { whichExecutable as which } from "../../src/runtime/executable.ts";
export { sleep } from "../../src/runtime/sleep.ts";

export interface SyncResult {
  exitCode: number;
  stdout: Buffer;
  stderr: Buffer;
}

/** Runs `argv` to completion, feeding it `stdin` (default none), and collects its output. */
export function runSync(argv: string[], stdin?: Uint8Array): SyncResult {
  if (typeof Bun !== "undefined") {
    const r = Bun.spawnSync(argv, { stdin: stdin ?? "ignore", stdout: "pipe", stderr: "pipe" });
    return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
  }
  // Deno's spawnSync writes all of `input` before it reads any output, so a command that answers as
  // it reads (cat, age) deadlocks past a pipe's 64 KiB; the shell feeds it from a file instead.
  let fed: string | undefined;
  let command = argv;
  if (stdin) {
    fed = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "walship-stdin-")), "stdin");
    fs.writeFileSync(fed, stdin);
    command = ["sh", "-c", 'exec "$@" < "$0"', fed, ...argv];
  }
  try {
    const [file, ...args] = command;
    const r = spawnSync(file!, args, { stdio: ["ignore", "pipe", "pipe"], maxBuffer: 1 << 30 });
    // A command that could not start (ENOENT) has no status; report it as a failure.
    return {
      exitCode: r.status ?? 127,
      stdout: r.stdout ?? Buffer.alloc(0),
      stderr: r.stderr ?? Buffer.alloc(0),
    };
  } finally {
    if (fed) fs.rmSync(path.dirname(fed), { recursive: true, force: true });
  }
}
