/** Runs the walship CLI as a real process: from source by default, or a compiled executable. */
import * as path from "node:path";

export const MAIN = path.join(import.meta.dirname, "../../src/cli/main.ts");

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Run this executable instead of `bun src/cli/main.ts`. */
  binary?: string;
  timeoutMs?: number;
}

function command(args: string[], opts: CliOptions): string[] {
  return opts.binary ? [opts.binary, ...args] : [process.execPath, MAIN, ...args];
}

function spawn(args: string[], opts: CliOptions) {
  return Bun.spawn(command(args, opts), {
    env: environment(opts),
    cwd: opts.cwd,
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
}

function environment(opts: CliOptions): Record<string, string | undefined> {
  // Credentials and endpoints from the developer's shell must never leak into a test.
  const base: Record<string, string | undefined> = { ...process.env };
  for (const k of Object.keys(base)) if (/^(AWS_|LITESTREAM_|WALSHIP_)/.test(k)) delete base[k];
  // The SDK's default credential chain would otherwise ask the EC2 metadata address, which is not ours.
  return { ...base, AWS_EC2_METADATA_DISABLED: "true", ...opts.env };
}

/** Runs a command to completion (bounded by `timeoutMs`, default 60 s). */
export async function runCli(args: string[], opts: CliOptions = {}): Promise<RunResult> {
  const proc = spawn(args, opts);
  const timer = setTimeout(() => proc.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

export interface Running {
  pid: number;
  /** Output so far. */
  stderr(): string;
  /** Sends `signal` (default SIGTERM) and waits for the exit (bounded), returning the result. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<RunResult>;
  exited: Promise<number>;
}

/** Starts a long-running command such as `replicate`. */
export function startCli(args: string[], opts: CliOptions = {}): Running {
  const proc = spawn(args, opts);
  let err = "";
  let out = "";
  const decoder = new TextDecoder();
  const pump = async (stream: ReadableStream<Uint8Array>, sink: (s: string) => void) => {
    for await (const chunk of stream) {
      const text = decoder.decode(chunk);
      sink(text);
      if (process.env.WALSHIP_TEST_LOG === "1") process.stderr.write(text);
    }
  };
  const done = Promise.all([pump(proc.stderr, (s) => (err += s)), pump(proc.stdout, (s) => (out += s))]);
  return {
    pid: proc.pid,
    stderr: () => err,
    exited: proc.exited,
    async stop(signal = "SIGTERM", timeoutMs = 30_000) {
      proc.kill(signal);
      const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
      const code = await proc.exited;
      clearTimeout(timer);
      await done;
      return { code, stdout: out, stderr: err };
    },
  };
}

/** Waits until `check` is true, polling; fails after `timeoutMs`. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await Bun.sleep(50);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
