/**
 * Fuzzing harness for test/fuzz/*.test.ts: seeded cases, run in worker threads under a watchdog.
 *
 * A target (test/fuzz/targets/NAME.ts) exports `prepare()`, which builds a corpus of valid inputs, and
 * `property(ctx, corpus)`, which makes one input from `ctx.rng` (random, or a mutation of the corpus), runs
 * the code under test, checks everything it may and may not do, and returns an outcome label. Labels are
 * counted so each test can assert that both accepting and rejecting paths were reached.
 *
 * Every case has its own seed, derived from the run's base seed, the target and the case index, so one case
 * can be replayed alone. Cases run in worker threads: a watchdog terminates a worker whose current case runs
 * longer than the target's bound (a hang in synchronous code cannot be interrupted any other way) and
 * reports that case.
 *
 * Case budget at the default scale (WALSHIP_FUZZ_SCALE=1), 221,500 cases in all, ~25 s on 2 cores:
 *
 * | target    | cases  | code under test                                                  |
 * |-----------|--------|------------------------------------------------------------------|
 * | wal       | 30,000 | src/sqlite/wal.ts: decodeWalHeader, scanWal, scanFrames           |
 * | lz4       | 40,000 | src/format/lz4-frame.ts: decodeLz4Frame with maxOutputBytes       |
 * | layout    | 50,000 | src/format/layout.ts: the four name parsers and their formatters  |
 * | config    | 20,000 | src/config/config.ts: parseConfig                                 |
 * | url       | 50,000 | src/config/replica-url.ts: parseReplicaUrl                        |
 * | db-header | 30,000 | src/sqlite/db-header.ts: decodeDbHeader                           |
 * | capture   |  1,500 | src/replicate/shadow-wal.ts: copyCommittedFrames over WAL histories |
 *
 * Environment:
 * - WALSHIP_FUZZ_SCALE=N   multiplies every budget (e.g. 10 for a longer run; 0.1 for a quick one)
 * - WALSHIP_FUZZ_SEED=S    base seed (decimal or 0x hex); random by default, printed on failure
 * - WALSHIP_FUZZ_CASE=I    run only case I (with the seed of the failing run) to replay it
 * - WALSHIP_FUZZ_WORKERS=N worker threads per target (default: 2, or 1 on a single core)
 * - WALSHIP_FUZZ_VERBOSE=1  print each target's case count, time, seed and outcome counts
 */
import * as os from "node:os";

export const TARGETS = {
  wal: { cases: 30_000, maxCaseMs: 2_000 },
  lz4: { cases: 40_000, maxCaseMs: 2_000 },
  layout: { cases: 50_000, maxCaseMs: 1_000 },
  config: { cases: 20_000, maxCaseMs: 2_000 },
  url: { cases: 50_000, maxCaseMs: 1_000 },
  "db-header": { cases: 30_000, maxCaseMs: 1_000 },
  capture: { cases: 1_500, maxCaseMs: 10_000 },
} as const satisfies Record<string, { cases: number; maxCaseMs: number }>;

export type TargetName = keyof typeof TARGETS;

/** The fewest cases the default fuzz set must run in all. */
export const MIN_TOTAL_CASES = 100_000;

function envNumber(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === "") return undefined;
  const n = Number(raw.trim());
  if (!Number.isFinite(n)) throw new Error(`${name}=${raw} is not a number`);
  return n;
}

/** WALSHIP_FUZZ_SCALE, default 1. */
export function fuzzScale(): number {
  const scale = envNumber("WALSHIP_FUZZ_SCALE") ?? 1;
  if (scale <= 0) throw new Error(`WALSHIP_FUZZ_SCALE must be positive, got ${scale}`);
  return scale;
}

/** Cases a target runs at the current scale (at least 1). */
export function casesFor(target: TargetName): number {
  return Math.max(1, Math.round(TARGETS[target].cases * fuzzScale()));
}

/** Test timeout for a target: generous, since the watchdog bounds each case anyway. */
export function testTimeoutMs(target: TargetName): number {
  return 60_000 + Math.ceil(casesFor(target) * 2);
}

// ---------------------------------------------------------------------------------------------------------
// PRNG: sfc32 seeded through splitmix32 (fast, 32-bit, good enough for fuzzing, reproducible everywhere)
// ---------------------------------------------------------------------------------------------------------

function splitmix32(state: number): [number, number] {
  const s = (state + 0x9e3779b9) | 0;
  let z = s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return [s, (z ^ (z >>> 16)) >>> 0];
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The seed of case `index` of `target` in a run with base seed `base`. */
export function caseSeed(base: number, target: string, index: number): number {
  let s = (base ^ fnv1a(target)) | 0;
  let out: number;
  [s, out] = splitmix32(s);
  [, out] = splitmix32((out + Math.imul(index + 1, 0x9e3779b9)) | 0);
  return out >>> 0;
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed | 0;
    let v: number;
    [s, v] = splitmix32(s);
    this.a = v;
    [s, v] = splitmix32(s);
    this.b = v;
    [s, v] = splitmix32(s);
    this.c = v;
    [, v] = splitmix32(s);
    this.d = v;
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A uniform float in [0, 1). */
  float(): number {
    return this.u32() / 2 ** 32;
  }

  /** A uniform integer in [0, n) for n ≥ 1. */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** A uniform integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error("Rng.pick from an empty list");
    return items[this.int(items.length)] as T;
  }

  /** An integer biased towards small values: mostly < 16, sometimes up to `max`. */
  small(max: number): number {
    const r = this.float();
    if (r < 0.6) return this.int(Math.min(16, max + 1));
    if (r < 0.9) return this.int(Math.min(256, max + 1));
    return this.int(max + 1);
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Targets
// ---------------------------------------------------------------------------------------------------------

export interface FuzzCtx {
  rng: Rng;
  index: number;
  /** Records the case's input, shown (and saved to a file) if the case fails. */
  input(value: Uint8Array | string | object): void;
}

export interface FuzzTarget<C> {
  /** Builds the corpus, once per worker. */
  prepare(): C | Promise<C>;
  /** One case: returns an outcome label, throws when a property does not hold. */
  property(ctx: FuzzCtx, corpus: C): string;
}

/** A property did not hold. */
export class PropertyError extends Error {
  override name = "PropertyError";
}

export function check(condition: boolean, message: string | (() => string)): asserts condition {
  if (!condition) throw new PropertyError(typeof message === "string" ? message : message());
}

/** Describes a thrown value for a failure report: class, message and the top of the stack. */
export function describeThrown(err: unknown): string {
  if (err instanceof Error) {
    const stack = (err.stack ?? "").split("\n").slice(1, 6).join("\n");
    return `${err.constructor.name} (name ${err.name}): ${err.message}${stack ? `\n${stack}` : ""}`;
  }
  return `non-Error thrown: ${String(err)}`;
}

// ---------------------------------------------------------------------------------------------------------
// Worker protocol
// ---------------------------------------------------------------------------------------------------------

export interface WorkerRequest {
  target: TargetName;
  seed: number;
  /** Case indexes to run. */
  indexes: number[] | { from: number; to: number };
  maxCaseMs: number;
  /** [phase, current case, cases done]; phase 0 = preparing, 1 = running, 2 = finished. */
  heartbeat: Int32Array;
}

export type WorkerReply =
  | {
      type: "done";
      cases: number;
      outcomes: Record<string, number>;
      slowestMs: number;
      slowestCase: number;
    }
  | { type: "fail"; index: number; message: string; input: string; inputFile?: string };

export const PHASE_PREPARING = 0;
export const PHASE_RUNNING = 1;
export const PHASE_FINISHED = 2;

// ---------------------------------------------------------------------------------------------------------
// Runner (test side)
// ---------------------------------------------------------------------------------------------------------

export interface FuzzResult {
  target: TargetName;
  seed: number;
  /** Cases run. */
  cases: number;
  /** Cases the budget asks for at this scale (equal to `cases` unless replaying one case). */
  expected: number;
  replaying: boolean;
  outcomes: Record<string, number>;
  elapsedMs: number;
  slowestMs: number;
}

const PREPARE_TIMEOUT_MS = 60_000;
const WATCHDOG_POLL_MS = 25;

function baseSeed(): number {
  const raw = process.env.WALSHIP_FUZZ_SEED;
  if (raw !== undefined && raw.trim() !== "") {
    const n = Number(raw.trim());
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
      throw new Error(`WALSHIP_FUZZ_SEED must be a 32-bit unsigned integer, got ${raw}`);
    }
    return n;
  }
  return crypto.getRandomValues(new Uint32Array(1))[0]!;
}

function workerCount(): number {
  const n = envNumber("WALSHIP_FUZZ_WORKERS");
  if (n !== undefined) return Math.max(1, Math.floor(n));
  return Math.max(1, Math.min(2, os.availableParallelism()));
}

function replayHint(target: TargetName, seed: number, index: number): string {
  return `replay: WALSHIP_FUZZ_SEED=0x${seed.toString(16).padStart(8, "0")} WALSHIP_FUZZ_CASE=${index} bun test test/fuzz/${target}.test.ts`;
}

/** Runs one worker over `indexes`, watching for hangs. */
function runWorker(
  target: TargetName,
  seed: number,
  indexes: WorkerRequest["indexes"],
  stop: AbortSignal,
): Promise<Extract<WorkerReply, { type: "done" }>> {
  const { maxCaseMs } = TARGETS[target];
  const heartbeat = new Int32Array(new SharedArrayBuffer(3 * 4));
  heartbeat[1] = -1;
  const worker = new Worker(new URL("./worker.ts", import.meta.url).href);
  return new Promise((resolve, reject) => {
    let settled = false;
    const started = performance.now();
    let lastCase = -1;
    let lastCaseAt = started;
    const finish = (err: Error | null, reply?: Extract<WorkerReply, { type: "done" }>) => {
      if (settled) return;
      settled = true;
      clearInterval(timer);
      worker.terminate();
      if (err) reject(err);
      else resolve(reply!);
    };
    const timer = setInterval(() => {
      const now = performance.now();
      const phase = Atomics.load(heartbeat, 0);
      if (phase === PHASE_PREPARING && now - started > PREPARE_TIMEOUT_MS) {
        finish(
          new Error(`fuzz ${target}: the worker did not prepare its corpus in ${PREPARE_TIMEOUT_MS} ms`),
        );
        return;
      }
      if (phase !== PHASE_RUNNING) return;
      const current = Atomics.load(heartbeat, 1);
      if (current !== lastCase) {
        lastCase = current;
        lastCaseAt = now;
        return;
      }
      if (now - lastCaseAt > maxCaseMs) {
        finish(
          new Error(
            `fuzz ${target}: case ${current} ran for more than ${maxCaseMs} ms (a hang?); the worker was stopped\n  ${replayHint(target, seed, current)}`,
          ),
        );
      }
    }, WATCHDOG_POLL_MS);
    worker.addEventListener("message", (event: MessageEvent<WorkerReply>) => {
      const reply = event.data;
      if (reply.type === "done") {
        finish(null, reply);
        return;
      }
      finish(
        new Error(
          [
            `fuzz ${target}: case ${reply.index} failed: ${reply.message}`,
            `  ${replayHint(target, seed, reply.index)}`,
            `  input: ${reply.input}`,
            reply.inputFile ? `  input saved to ${reply.inputFile}` : "",
          ]
            .filter((l) => l !== "")
            .join("\n"),
        ),
      );
    });
    worker.addEventListener("error", (event: ErrorEvent) => {
      finish(new Error(`fuzz ${target}: the worker failed: ${event.message}`));
    });
    // Another worker of this target failed: stop this one too rather than let it run on unobserved.
    stop.addEventListener("abort", () => finish(new Error(`fuzz ${target}: stopped`)), { once: true });
    const request: WorkerRequest = { target, seed, indexes, maxCaseMs, heartbeat };
    worker.postMessage(request);
  });
}

/** Runs a target's cases (or the one case named by WALSHIP_FUZZ_CASE) across worker threads. */
export async function runTarget(target: TargetName): Promise<FuzzResult> {
  const seed = baseSeed();
  const expected = casesFor(target);
  const only = envNumber("WALSHIP_FUZZ_CASE");
  const started = performance.now();
  let chunks: WorkerRequest["indexes"][];
  if (only !== undefined) {
    chunks = [[only]];
  } else {
    const n = Math.min(workerCount(), expected);
    const per = Math.ceil(expected / n);
    chunks = [];
    for (let from = 0; from < expected; from += per)
      chunks.push({ from, to: Math.min(expected, from + per) });
  }
  const stop = new AbortController();
  const replies = await Promise.all(
    chunks.map((c) =>
      runWorker(target, seed, c, stop.signal).catch((err: unknown) => {
        stop.abort();
        throw err;
      }),
    ),
  );
  const outcomes: Record<string, number> = {};
  let cases = 0;
  let slowestMs = 0;
  for (const r of replies) {
    cases += r.cases;
    slowestMs = Math.max(slowestMs, r.slowestMs);
    for (const [k, v] of Object.entries(r.outcomes)) outcomes[k] = (outcomes[k] ?? 0) + v;
  }
  const result: FuzzResult = {
    target,
    seed,
    cases,
    expected: only !== undefined ? 1 : expected,
    replaying: only !== undefined,
    outcomes,
    elapsedMs: performance.now() - started,
    slowestMs,
  };
  if (process.env.WALSHIP_FUZZ_VERBOSE === "1") {
    console.error(
      `fuzz ${target}: ${cases} cases in ${result.elapsedMs.toFixed(0)} ms (seed 0x${seed.toString(16)}, slowest case ${slowestMs.toFixed(1)} ms)`,
      outcomes,
    );
  }
  return result;
}

/** Share of the run's cases that ended with one of `labels`. */
export function share(result: FuzzResult, ...labels: string[]): number {
  let n = 0;
  for (const l of labels) n += result.outcomes[l] ?? 0;
  return result.cases === 0 ? 0 : n / result.cases;
}
