/**
 * Load benchmark: `walship replicate` against `litestream replicate` (0.3.13) on the same workloads, to a
 * directory and to the S3 test server, one tool after the other, each run on a fresh database.
 *
 *   bun test/bench/load.ts [--only lag,storm,idle,flood,sustained] [--seconds 60] [--storm-seconds 20]
 *                          [--targets dir,s3] [--tools walship,litestream] [--synchronous default|full|normal]
 *                          [--max-minutes 60] [--walship-bin PATH] [--encrypted]
 *                          [--flood-seconds 15] [--sustained-seconds 300] [--wal-guard-mb 2048]
 *                          [--max-wal-size SIZE] [--row-bytes 100]
 *
 * - lag: one small commit about every 50 ms (jittered 25..75 ms) for --seconds; for every commit, the time
 *   until the replica object holding it is present in the replica storage; p50, p99, max. At the default
 *   intervals (monitor 1 s, sync 1 s), at 100 ms (monitor 100 ms, sync 100 ms), and walship alone with
 *   `sync-interval: 0` (ship on commit; Litestream panics on 0).
 * - storm: autocommit single-row INSERTs flat out for --storm-seconds (default 20, or --seconds if lower)
 *   from a separate writer process: transactions per second with the replicator against the same writer
 *   without one (ratio), lag p99 of commits sampled every 50 ms, peak `-wal` size, and the time from
 *   SIGTERM (sent as soon as the writer stops) to the replicator's exit. Default intervals. The writer uses
 *   SQLite's default `synchronous` (FULL in bun:sqlite: one fsync per commit) unless --synchronous says
 *   otherwise; `normal` makes the storm about ten times faster.
 * - flood (not run by default): the storm's writer with synchronous=NORMAL, flat out for --flood-seconds
 *   (~160,000 commits/s alone on the 2-core machines): the storm's figures, plus whether the run was
 *   stopped because the WAL passed --wal-guard-mb (the disk guard), and the share of the sampled commits
 *   already in the replica when the writer stopped, the replicator's CPU seconds per GB of WAL shipped,
 *   and how often walship's backpressure held the writers (`--max-wal-size` sets its bound; Litestream
 *   ignores the key). The disk bounds the commit rate (measured: 64k/s on this machine's disk, 80-118k/s on
 *   tmpfs); `TMPDIR=/dev/shm` runs the whole benchmark on tmpfs. `--row-bytes` changes the row size.
 * - sustained (not run by default): the flood's writer paced to half the ceiling measured just before
 *   (the flood's own run when both are asked for) for --sustained-seconds (default 5 minutes), each tool and
 *   no replicator; the same figures, tps ratio against the pace.
 * - idle: CPU (utime+stime from /proc/PID/stat) and RSS of the replicator on an idle database for
 *   --seconds, after it has taken its snapshot; for S3 also the requests it sent (counted by a pass-through
 *   proxy). Default intervals.
 *
 * "Present in the replica": for a directory, the segment's final name exists (both tools write a temp file
 * and rename it); for S3, s3rver has written the object's metadata file, the last step of its PUT. The
 * benchmark watches the storage with a recursive fs.watch (and a 250 ms directory poll as the fallback) and
 * maps commits to segments by WAL session and offset; see load-writer.ts for how a commit's position is
 * known. Segment ends are the next segment's offset, or, for the newest segment of a WAL index, its
 * decoded length. Each lag is an upper bound: detection latency (event delivery, under 1 ms with events)
 * counts against the tool.
 *
 * Every replicated run ends with the replicator stopped by SIGTERM and a restore by the same tool (from the
 * same config file) compared with the source database: integrity_check, and the same row count and content
 * hash of `items`. A failed comparison, a failed command or a timeout fails the benchmark. A non-zero exit
 * code after SIGTERM is reported, not fatal (Litestream 0.3.13 exits 1 when its final checkpoint is cut
 * short), as long as the restore is right; so is Litestream not exiting within 60 s (it is killed and its
 * restore is checked for integrity only). walship not exiting fails the benchmark. Commits never found in any segment ("unseen") are left out of
 * the lag figures, counted, and explained on stderr and in the JSON (sessions and segments seen).
 *
 * --encrypted runs every workload twice, plain and then with age (the same X25519 recipient and identity
 * in the config both tools read), and adds the ratios age / plain per tool; the benchmark reads the
 * encrypted segments it maps commits to with Debian's `age`.
 *
 * walship runs from --walship-bin, else `dist/walship` when it exists, else from source. Prints a table and
 * one JSON line. Exit codes: 0 success, 1 a run failed or restored the wrong data, 2 usage, 3 out of time.
 */

import { Database } from "bun:sqlite";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { generateX25519Identity, identityToRecipient } from "age-encryption";
import type { Subprocess } from "bun";
import { parseWalSegmentName } from "../../src/format/layout.ts";
import { decodeLz4FrameStream, type FrameSource } from "../../src/format/lz4-frame.ts";
import { arraySource } from "../../src/format/lz4-frame-format.ts";
import { createDatabase } from "../helpers/app-db.ts";
import { type FaultProxy, startFaultProxy } from "../helpers/fault-proxy.ts";
import { litestreamBinary } from "../helpers/litestream.ts";
import { clockTicksPerSecond, cpuTicks, rssKiB } from "../helpers/proc-usage.ts";
import { type S3Server, startS3Server } from "../helpers/s3-server.ts";
import { BenchFailure, guardRun, killGroup, live, walshipCommand } from "./bench-process.ts";
import { itemsDigest } from "./content-digest.ts";
import type { CommitRecord, WriterResult } from "./load-writer.ts";

const WRITER = path.join(import.meta.dirname, "load-writer.ts");
const S3_BUCKET = "load";
const S3_OBJECT = "._S3rver_object";
/** s3rver writes this file last in a PUT (after the object's bytes and its md5). */
const S3_METADATA = "._S3rver_metadata.json";

/** Fallback directory poll of the replica storage, for events the watcher might miss. */
const POLL_MS = 250;
const WAL_POLL_MS = 20;
const RSS_SAMPLE_MS = 500;
const CPU_SAMPLE_MS = 100;
const STARTUP_TIMEOUT_MS = 45_000;
const STOP_TIMEOUT_MS = 60_000;
const RESTORE_TIMEOUT_MS = 300_000;
/** After the lag writer stops, how long every commit may take to show up before the run gives up on it. */
const LAG_CATCH_UP_MS = 20_000;
/** How long the sustained flood measures the ceiling it runs at half of, when the flood itself is not run. */
const SUSTAINED_CEILING_SECONDS = 10;
/** Idle: quiet time after the first snapshot before the window opens (the first uploads settle). */
const IDLE_SETTLE_MS = 3_000;
const IDLE_SEED_ROWS = 1_000;

type Tool = "walship" | "litestream";
type Target = "dir" | "s3";
type Workload = "lag" | "storm" | "idle" | "flood" | "sustained";

interface Intervals {
  name: string;
  monitor: string;
  sync: string;
  tools: Tool[];
}

const LAG_MODES: Intervals[] = [
  { name: "default (monitor 1s, sync 1s)", monitor: "1s", sync: "1s", tools: ["walship", "litestream"] },
  {
    name: "100ms (monitor 100ms, sync 100ms)",
    monitor: "100ms",
    sync: "100ms",
    tools: ["walship", "litestream"],
  },
  { name: "on-commit (sync 0, monitor 1s)", monitor: "1s", sync: "0", tools: ["walship"] },
];
const DEFAULT_INTERVALS: Intervals = LAG_MODES[0]!;

interface Options {
  only: Workload[];
  targets: Target[];
  tools: Tool[];
  seconds: number;
  stormSeconds: number;
  synchronous: "default" | "full" | "normal";
  maxMinutes: number;
  walshipBin: string | undefined;
  encrypted: boolean;
  floodSeconds: number;
  sustainedSeconds: number;
  walGuardMb: number;
  /** walship's max-wal-size for every run (Litestream ignores the key); undefined: walship's default. */
  maxWalSize: string | undefined;
  /** Bytes of text per row the flood and sustained writers insert (a workload the defaults were not tuned on). */
  rowBytes: number;
}

/** The age keys of an encrypted pass: in the config, and in a file for `age -d`. */
interface AgeKeys {
  identity: string;
  recipient: string;
  keyFile: string;
}

const USAGE =
  "usage: bun test/bench/load.ts [--only lag,storm,idle] [--seconds 60] [--storm-seconds 20] [--targets dir,s3] " +
  "[--tools walship,litestream] " +
  "[--synchronous default|full|normal] [--max-minutes 60] [--walship-bin PATH] [--encrypted] " +
  "[--only ...,flood,sustained] [--flood-seconds 15] [--sustained-seconds 300] [--wal-guard-mb 2048] " +
  "[--max-wal-size 256MiB] [--row-bytes 100]";

function parseOptions(argv: string[]): Options {
  const valued = new Set([
    "--only",
    "--seconds",
    "--storm-seconds",
    "--targets",
    "--tools",
    "--synchronous",
    "--max-minutes",
    "--walship-bin",
    "--flood-seconds",
    "--sustained-seconds",
    "--wal-guard-mb",
    "--max-wal-size",
    "--row-bytes",
  ]);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--help") throw new BenchFailure(USAGE, 2);
    if (a === "--encrypted") continue;
    if (!valued.has(a) || argv[i + 1] === undefined)
      throw new BenchFailure(`${USAGE}\n(bad argument ${a})`, 2);
    i++;
  }
  const value = (name: string): string | undefined =>
    argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined;
  const int = (name: string, fallback: number): number => {
    const v = value(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0)
      throw new BenchFailure(`${name} needs a positive whole number, got ${v}`, 2);
    return n;
  };
  /** `all` are the values allowed, `byDefault` those taken without the flag. */
  const list = <T extends string>(name: string, all: readonly T[], byDefault: readonly T[] = all): T[] => {
    const v = value(name);
    if (v === undefined) return [...byDefault];
    const items = v.split(",").filter((s) => s !== "");
    const bad = items.filter((s) => !(all as readonly string[]).includes(s));
    if (items.length === 0 || bad.length > 0)
      throw new BenchFailure(`${name}: one or more of ${all.join(",")}`, 2);
    return all.filter((x) => items.includes(x));
  };
  const seconds = int("--seconds", 60);
  const synchronous = value("--synchronous") ?? "default";
  if (synchronous !== "default" && synchronous !== "full" && synchronous !== "normal") {
    throw new BenchFailure("--synchronous: default, full or normal", 2);
  }
  return {
    only: list<Workload>("--only", ["lag", "storm", "idle", "flood", "sustained"], ["lag", "storm", "idle"]),
    targets: list<Target>("--targets", ["dir", "s3"]),
    tools: list<Tool>("--tools", ["walship", "litestream"]),
    seconds,
    stormSeconds: int("--storm-seconds", Math.min(20, seconds)),
    synchronous,
    maxMinutes: int("--max-minutes", 60),
    walshipBin: value("--walship-bin"),
    encrypted: argv.includes("--encrypted"),
    floodSeconds: int("--flood-seconds", 15),
    sustainedSeconds: int("--sustained-seconds", 300),
    walGuardMb: int("--wal-guard-mb", 2048),
    maxWalSize: value("--max-wal-size"),
    rowBytes: int("--row-bytes", 100),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------------------------

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function cleanEnv(): Record<string, string | undefined> {
  // Credentials and endpoints from the developer's shell must not change what is measured.
  const base: Record<string, string | undefined> = { ...process.env };
  for (const k of Object.keys(base)) if (/^(AWS_|LITESTREAM_|WALSHIP_)/.test(k)) delete base[k];
  return { ...base, AWS_EC2_METADATA_DISABLED: "true" };
}

interface Started {
  proc: Subprocess<"ignore", number, number>;
  pid: number;
  log: string;
}

/** Starts a command in its own process group, output appended to `log`. */
function start(cmd: string[], log: string): Started {
  const fd = fs.openSync(log, "a");
  try {
    const proc = Bun.spawn(cmd, { env: cleanEnv(), stdin: "ignore", stdout: fd, stderr: fd, detached: true });
    live.add(proc.pid);
    void proc.exited.then(() => live.delete(proc.pid));
    return { proc, pid: proc.pid, log };
  } finally {
    fs.closeSync(fd);
  }
}

function logTail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, "utf8").trim().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no output)";
  }
}

/** Runs a command to completion within `timeoutMs`; fails the benchmark on a timeout or a non-zero exit. */
async function run(cmd: string[], log: string, timeoutMs: number, label: string): Promise<number> {
  const started = performance.now();
  const p = start(cmd, log);
  const outcome = await Promise.race([p.proc.exited, sleep(timeoutMs).then(() => "timeout" as const)]);
  if (outcome === "timeout") {
    killGroup(p.pid);
    await p.proc.exited;
    throw new BenchFailure(`${label}: timed out after ${timeoutMs / 1000} s\n${logTail(log)}`, 1);
  }
  if (outcome !== 0) throw new BenchFailure(`${label}: exited with ${outcome}\n${logTail(log)}`, 1);
  return (performance.now() - started) / 1000;
}

interface Stopped {
  /** SIGTERM to exit, seconds. */
  seconds: number;
  code: number | null;
  timedOut: boolean;
}

/** SIGTERM, then the exit (SIGKILL to the group after STOP_TIMEOUT_MS). */
async function stopGracefully(p: Started): Promise<Stopped> {
  const started = performance.now();
  p.proc.kill("SIGTERM");
  const outcome = await Promise.race([p.proc.exited, sleep(STOP_TIMEOUT_MS).then(() => "timeout" as const)]);
  const seconds = (performance.now() - started) / 1000;
  if (outcome === "timeout") {
    killGroup(p.pid);
    await p.proc.exited;
    return { seconds, code: null, timedOut: true };
  }
  return { seconds, code: outcome, timedOut: false };
}

function peakRssKiB(pid: number): number {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** CPU seconds (user + system, all threads) of a running process. */
function cpuSeconds(pid: number): number {
  return cpuTicks(pid) / clockTicksPerSecond();
}

/** Samples a process's CPU seconds while it runs; `stop()` returns the last sample (its total, near enough). */
function cpuSampler(pid: number): { stop(): number } {
  let last = cpuSeconds(pid);
  const t = setInterval(() => {
    try {
      last = cpuSeconds(pid);
    } catch {
      // Exited.
    }
  }, CPU_SAMPLE_MS);
  return {
    stop: () => {
      clearInterval(t);
      return last;
    },
  };
}

/** What walship's log says backpressure did in a run: its line at exit, when it held the writers at all. */
function writerHolds(runDir: string | null): { holds: number | null; heldS: number | null } {
  if (runDir === null) return { holds: null, heldS: null };
  const log = fs.readFileSync(path.join(runDir, "walship.log"), "utf8");
  const line = log.split("\n").findLast((l) => l.includes("backpressure held the application's writers"));
  if (!line) return { holds: 0, heldS: 0 };
  return { holds: Number(/holds=(\d+)/.exec(line)?.[1]), heldS: Number(/held_s=([\d.]+)/.exec(line)?.[1]) };
}

/** WAL bytes a replica holds: the span of every WAL session its segments cover. */
function shippedWalBytes(sessions: Map<string, Placed[]>): number {
  let total = 0;
  for (const placed of sessions.values()) {
    const start = Math.min(...placed.map((x) => x.offset));
    total += Math.max(...placed.map((x) => x.end)) - start;
  }
  return total;
}

// ---------------------------------------------------------------------------------------------------------
// Watching the replica storage
// ---------------------------------------------------------------------------------------------------------

interface SeenSegment {
  generation: string;
  index: number;
  offset: number;
  /** The file holding the segment's bytes. */
  file: string;
  /** Date.now() when the benchmark first saw the segment present. */
  seenAt: number;
  byPoll: boolean;
}

/** One replica segment placed in its WAL session: WAL bytes [offset, end) of the session with `salt`. */
interface Placed {
  offset: number;
  end: number;
  seenAt: number;
}

/**
 * Records when each WAL segment of a replica (a directory, or a prefix in s3rver's storage directory)
 * becomes present, and places segments in their WAL sessions on demand.
 */
class ReplicaWatcher {
  readonly segments = new Map<string, SeenSegment>();
  private watcher: fs.FSWatcher | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  /** Decoded facts about the newest segment of each WAL index: its length and its session's salt. */
  private readonly decoded = new Map<string, { length: number; salt: string }>();
  /** Segments that could not be decoded (the last error of each), for the diagnosis of unseen commits. */
  readonly decodeErrors = new Map<string, string>();
  watchErrors = 0;

  constructor(
    readonly root: string,
    readonly s3: boolean,
    /** Encrypted segments are opened with `age -d` and this identity file. */
    private readonly ageKeyFile?: string,
  ) {}

  start(): void {
    fs.mkdirSync(this.root, { recursive: true });
    try {
      this.watcher = fs.watch(this.root, { recursive: true }, (_event, name) => {
        if (name) this.consider(String(name), false);
      });
      this.watcher.on("error", () => {
        this.watchErrors++;
      });
    } catch {
      this.watchErrors++;
    }
    this.timer = setInterval(() => this.poll(), POLL_MS);
  }

  stop(): void {
    this.poll();
    this.watcher?.close();
    if (this.timer) clearInterval(this.timer);
    this.watcher = null;
    this.timer = null;
  }

  /** A name below the root, relative to it: keeps it when it is a present WAL segment not seen before. */
  private consider(rel: string, byPoll: boolean): void {
    const parts = rel.split(path.sep);
    if (parts.length !== 4 || parts[0] !== "generations" || parts[2] !== "wal") return;
    const generation = parts[1]!;
    let name = parts[3]!;
    if (this.s3) {
      if (!name.endsWith(S3_METADATA)) return;
      name = name.slice(0, -S3_METADATA.length);
    }
    const parsed = parseWalSegmentName(name);
    if (!parsed) return;
    const key = `${generation}/${name}`;
    if (this.segments.has(key)) return;
    const seenAt = Date.now();
    // An event may be about a file that is gone again (retention); only what exists counts.
    if (!fs.existsSync(path.join(this.root, rel))) return;
    const dir = path.join(this.root, "generations", generation, "wal");
    this.segments.set(key, {
      generation,
      index: parsed.index,
      offset: parsed.offset,
      file: path.join(dir, this.s3 ? `${name}${S3_OBJECT}` : name),
      seenAt,
      byPoll,
    });
  }

  poll(): void {
    let generations: string[];
    try {
      generations = fs.readdirSync(path.join(this.root, "generations"));
    } catch {
      return;
    }
    for (const g of generations) {
      let names: string[];
      try {
        names = fs.readdirSync(path.join(this.root, "generations", g, "wal"));
      } catch {
        continue;
      }
      for (const n of names) this.consider(["generations", g, "wal", n].join(path.sep), true);
    }
  }

  /** Whether a complete snapshot exists (the replicator's first upload is done). */
  hasSnapshot(): boolean {
    const suffix = this.s3 ? `.snapshot.lz4${S3_METADATA}` : ".snapshot.lz4";
    try {
      for (const g of fs.readdirSync(path.join(this.root, "generations"))) {
        try {
          if (
            fs
              .readdirSync(path.join(this.root, "generations", g, "snapshots"))
              .some((n) => n.endsWith(suffix))
          )
            return true;
        } catch {}
      }
    } catch {}
    return false;
  }

  /**
   * Every segment seen so far, by WAL session salt. A segment ends where the next one of its WAL index
   * begins; the newest one of an index is decoded (once) for its length, and for the session's salt,
   * which every frame header repeats.
   */
  sessions(): Map<string, Placed[]> {
    const byIndex = new Map<string, SeenSegment[]>();
    for (const s of this.segments.values()) {
      const k = `${s.generation}/${s.index}`;
      const list = byIndex.get(k);
      if (list) list.push(s);
      else byIndex.set(k, [s]);
    }
    const out = new Map<string, Placed[]>();
    for (const list of byIndex.values()) {
      list.sort((a, b) => a.offset - b.offset);
      const last = list[list.length - 1]!;
      const facts = this.decode(last);
      if (!facts) continue;
      const placed = out.get(facts.salt) ?? [];
      list.forEach((s, i) => {
        const end = i + 1 < list.length ? list[i + 1]!.offset : s.offset + facts.length;
        placed.push({ offset: s.offset, end, seenAt: s.seenAt });
      });
      out.set(facts.salt, placed);
    }
    return out;
  }

  private decode(s: SeenSegment): { length: number; salt: string } | null {
    const key = `${s.generation}/${s.index}/${s.offset}`;
    const known = this.decoded.get(key);
    if (known) return known;
    // Streamed from the file: Litestream ships a backlog as one segment, which can exceed 1 GiB decoded.
    const at = s.offset === 0 ? 16 : 8;
    const head = new Uint8Array(at + 8);
    let headBytes = 0;
    let length: number;
    let fd: number | undefined;
    try {
      fd = fs.openSync(s.file, "r");
      length = decodeLz4FrameStream(
        this.ageKeyFile ? arraySource(decryptWithAge(s.file, this.ageKeyFile)) : fileSource(fd),
        (chunk) => {
          if (headBytes < head.length) {
            const take = chunk.subarray(0, head.length - headBytes);
            head.set(take, headBytes);
            headBytes += take.length;
          }
        },
        { maxOutputBytes: Number.MAX_SAFE_INTEGER },
      );
    } catch (err) {
      this.decodeErrors.set(key, err instanceof Error ? err.message : String(err));
      return null;
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
    this.decodeErrors.delete(key);
    // A segment at offset 0 starts with the 32-byte WAL header (salts at 16..24); any other starts with a
    // frame header (salts at 8..16).
    if (headBytes < head.length) {
      this.decodeErrors.set(key, `only ${length} bytes`);
      return null;
    }
    const facts = { length, salt: Buffer.from(head.subarray(at)).toString("hex") };
    this.decoded.set(key, facts);
    return facts;
  }
}

/** The plaintext of an age file, opened by Debian's Go `age` (independent of walship's own decryption). */
function decryptWithAge(file: string, keyFile: string): Uint8Array {
  const out = Bun.spawnSync(["age", "--decrypt", "-i", keyFile, file]);
  if (out.exitCode !== 0) throw new Error(`age --decrypt ${file}: ${out.stderr.toString().trim()}`);
  return new Uint8Array(out.stdout);
}

/** An LZ4 frame read from a file on demand (the decoder asks for one block at a time). */
function fileSource(fd: number): FrameSource {
  let buf = new Uint8Array(1 << 16);
  return {
    length: fs.fstatSync(fd).size,
    bytes(start, end) {
      const n = end - start;
      if (buf.length < n) buf = new Uint8Array(n);
      const got = fs.readSync(fd, buf, 0, n, start);
      return buf.subarray(0, got);
    },
  };
}

/** When each commit was first present in the replica (null: not found), from one view of the sessions. */
function presentAt(commits: CommitRecord[], sessions: Map<string, Placed[]>): (number | null)[] {
  return commits.map((c) => {
    let best: number | null = null;
    for (const p of sessions.get(c.salt) ?? []) {
      if (p.offset < c.end && c.end <= p.end && (best === null || p.seenAt < best)) best = p.seenAt;
    }
    return best;
  });
}

/** What the benchmark knew when some commits were never found: to tell a measurement gap from a tool's. */
interface UnseenDiagnosis {
  firstUnseen: CommitRecord[];
  sessions: { salt: string; segments: number; from: number; to: number }[];
  decodeErrors: string[];
}

function diagnoseUnseen(
  commits: CommitRecord[],
  seen: (number | null)[],
  watcher: ReplicaWatcher,
): UnseenDiagnosis | null {
  const unseen = commits.filter((_, i) => seen[i] === null);
  if (unseen.length === 0) return null;
  const sessions = [...watcher.sessions()].map(([salt, placed]) => ({
    salt,
    segments: placed.length,
    from: Math.min(...placed.map((p) => p.offset)),
    to: Math.max(...placed.map((p) => p.end)),
  }));
  const byIndex = new Map<string, number>();
  for (const seg of watcher.segments.values()) {
    const k = `${seg.generation}/${seg.index}`;
    byIndex.set(k, (byIndex.get(k) ?? 0) + 1);
  }
  return {
    firstUnseen: unseen.slice(0, 3),
    sessions,
    decodeErrors: [
      ...[...watcher.decodeErrors].map(([k, e]) => `${k}: ${e}`),
      `segments by generation/index: ${[...byIndex].map(([k, n]) => `${k}=${n}`).join(" ")}`,
    ],
  };
}

// ---------------------------------------------------------------------------------------------------------
// Databases and their comparison
// ---------------------------------------------------------------------------------------------------------

const ITEM_COLUMNS = "id, name, qty, data";

function integrity(file: string): string {
  const db = new Database(file, { readwrite: true, create: false });
  try {
    return db
      .query("PRAGMA integrity_check")
      .values()
      .map((r) => String(r[0]))
      .slice(0, 5)
      .join("; ");
  } finally {
    db.close(true);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Statistics and output
// ---------------------------------------------------------------------------------------------------------

interface Dist {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function dist(values: number[]): Dist | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  return { n: s.length, p50: percentile(s, 50), p99: percentile(s, 99), max: s[s.length - 1]! };
}

function table(rows: string[][], textColumns: number): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length)));
  return rows
    .map((r) =>
      r
        .map((cell, c) => (c < textColumns ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

const f0 = (x: number | null | undefined): string => (x === null || x === undefined ? "-" : x.toFixed(0));
const f1 = (x: number | null | undefined): string => (x === null || x === undefined ? "-" : x.toFixed(1));
const f2 = (x: number | null | undefined): string => (x === null || x === undefined ? "-" : x.toFixed(2));
/** The p50, p99 and max cells of a lag distribution. */
const lagCells = (d: Dist | null): string[] => [f0(d?.p50), f0(d?.p99), f0(d?.max)];
/** The CPU, RSS and SIGTERM-to-exit cells of a replicated run. */
const usageCells = (r: {
  cpuPercent: number | null;
  rssMaxMb: number | null;
  stopS: number | null;
}): string[] => [f1(r.cpuPercent), f0(r.rssMaxMb), f2(r.stopS)];
const ratio = (a: number | null | undefined, b: number | null | undefined): number | null =>
  a === null || a === undefined || b === null || b === undefined || b === 0 ? null : a / b;

// ---------------------------------------------------------------------------------------------------------
// One run
// ---------------------------------------------------------------------------------------------------------

interface Bench {
  scratch: string;
  s3: S3Server | null;
  walshipCmd: string[];
  litestreamPath: string;
  deadline: number;
  maxMinutes: number;
  synchronous: Options["synchronous"];
  say: (line: string) => void;
  runs: number;
  /** The keys of the encrypted pass; null in the plain one. */
  age: AgeKeys | null;
  maxWalSize: string | undefined;
}

interface RunDirs {
  label: string;
  dir: string;
  db: string;
  config: string;
  watcher: ReplicaWatcher;
  /** The replicator, once started: killed by cleanup() if a failure left it running. */
  proc: Started | null;
  cleanup(): void;
}

/** A fresh database, its replica location, and the one config file both tools read. */
function prepareRun(
  b: Bench,
  target: Target,
  intervals: Intervals,
  label: string,
  endpoint?: string,
): RunDirs {
  b.runs++;
  const slug = `run${String(b.runs).padStart(2, "0")}`;
  const dir = path.join(b.scratch, slug);
  fs.mkdirSync(dir, { recursive: true });
  const db = path.join(dir, "app.db");
  createDatabase(db);
  const lines = ["dbs:", `  - path: ${db}`, `    monitor-interval: ${intervals.monitor}`];
  if (b.maxWalSize !== undefined) lines.push(`    max-wal-size: ${b.maxWalSize}`);
  lines.push("    replicas:");
  let root: string;
  if (target === "dir") {
    root = path.join(dir, "replica");
    lines.push("      - type: file", `        path: ${root}`, `        sync-interval: ${intervals.sync}`);
  } else {
    const s3 = b.s3;
    if (!s3) throw new Error("no S3 server");
    root = path.join(s3.dir, S3_BUCKET, slug);
    lines.push(
      "      - type: s3",
      `        bucket: ${S3_BUCKET}`,
      `        path: ${slug}`,
      `        endpoint: ${endpoint ?? s3.endpoint}`,
      "        region: us-east-1",
      `        access-key-id: ${s3.accessKeyId}`,
      `        secret-access-key: ${s3.secretAccessKey}`,
      `        sync-interval: ${intervals.sync}`,
    );
  }
  if (b.age)
    lines.push(
      "        age:",
      `          identities: [${b.age.identity}]`,
      `          recipients: [${b.age.recipient}]`,
    );
  const config = path.join(dir, "litestream.yml");
  fs.writeFileSync(config, `${lines.join("\n")}\n`);
  const watcher = new ReplicaWatcher(root, target === "s3", b.age?.keyFile);
  const run: RunDirs = {
    label,
    dir,
    db,
    config,
    watcher,
    proc: null,
    cleanup: () => {
      if (run.proc && run.proc.proc.exitCode === null) killGroup(run.proc.pid);
      watcher.stop();
      fs.rmSync(dir, { recursive: true, force: true });
      if (target === "s3") fs.rmSync(root, { recursive: true, force: true });
    },
  };
  return run;
}

function ensureTime(b: Bench, seconds: number, label: string): void {
  if (Date.now() + seconds * 1000 > b.deadline) {
    throw new BenchFailure(`${label}: not enough time left (--max-minutes ${b.maxMinutes})`, 3);
  }
}

async function waitUntil(
  cond: () => boolean,
  timeoutMs: number,
  what: string,
  proc?: Started,
): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (cond()) return true;
    if (proc && proc.proc.exitCode !== null) {
      throw new BenchFailure(
        `replicator exited (${proc.proc.exitCode}) while waiting for ${what}\n${logTail(proc.log)}`,
        1,
      );
    }
    await sleep(50);
  }
  return cond();
}

function replicateCmd(b: Bench, tool: Tool, config: string): string[] {
  return tool === "walship"
    ? [...b.walshipCmd, "replicate", "-config", config]
    : [b.litestreamPath, "replicate", "-config", config];
}

/** Starts the replicator and waits for its first snapshot in the replica. */
async function startReplicator(b: Bench, tool: Tool, r: RunDirs): Promise<Started> {
  r.watcher.start();
  const p = start(replicateCmd(b, tool, r.config), path.join(r.dir, `${tool}.log`));
  r.proc = p;
  const ready = await waitUntil(() => r.watcher.hasSnapshot(), STARTUP_TIMEOUT_MS, "the first snapshot", p);
  if (!ready) {
    killGroup(p.pid);
    throw new BenchFailure(
      `${r.label}: no snapshot in the replica within ${STARTUP_TIMEOUT_MS / 1000} s\n${logTail(p.log)}`,
      1,
    );
  }
  return p;
}

/** Stops the replicator by SIGTERM, then restores with the same tool and compares with the source. */
async function stopAndVerify(
  b: Bench,
  tool: Tool,
  r: RunDirs,
  p: Started,
): Promise<{ stop: Stopped; restoreS: number; rows: number }> {
  const stop = await stopGracefully(p);
  r.watcher.stop();
  if (stop.code !== 0)
    b.say(`${r.label}: exit code ${stop.code} after SIGTERM; its last lines:\n${logTail(p.log, 8)}`);
  if (stop.timedOut) {
    const message = `${r.label}: did not exit within ${STOP_TIMEOUT_MS / 1000} s of SIGTERM\n${logTail(p.log)}`;
    // Litestream 0.3.13 can hang on SIGTERM after a storm: a result to report, not a broken benchmark.
    if (tool === "walship") throw new BenchFailure(message, 1);
    b.say(`${message}\n(killed; its restore is checked for integrity only)`);
  }
  const out = path.join(r.dir, "restored.db");
  const cmd =
    tool === "walship"
      ? [...b.walshipCmd, "restore", "-config", r.config, "-o", out, r.db]
      : [b.litestreamPath, "restore", "-config", r.config, "-o", out, r.db];
  const restoreS = await run(cmd, path.join(r.dir, "restore.log"), RESTORE_TIMEOUT_MS, `${r.label}: restore`);
  const check = integrity(out);
  if (check !== "ok")
    throw new BenchFailure(`${r.label}: restored database fails integrity_check: ${check}`, 1);
  const got = itemsDigest(out, ITEM_COLUMNS);
  const want = itemsDigest(r.db, ITEM_COLUMNS);
  if (stop.timedOut) {
    b.say(`${r.label}: restored ${got.rows} of ${want.rows} rows after the kill`);
  } else if (got.rows !== want.rows || got.hash !== want.hash) {
    throw new BenchFailure(
      `${r.label}: restored content differs from the source: ${got.rows} rows (sha256 ${got.hash.slice(0, 12)}), ` +
        `source ${want.rows} rows (sha256 ${want.hash.slice(0, 12)})`,
      1,
    );
  }
  return { stop, restoreS, rows: got.rows };
}

async function runWriter(
  b: Bench,
  r: RunDirs,
  mode: "lag" | "storm",
  seconds: number,
  storm: StormKind = { synchronous: b.synchronous, walGuardMb: 0 },
): Promise<WriterResult> {
  const out = path.join(r.dir, `writer-${mode}.json`);
  const extra =
    mode === "storm"
      ? [
          "--synchronous",
          storm.synchronous,
          "--wal-guard-mb",
          String(storm.walGuardMb),
          ...(storm.rate ? ["--rate", String(Math.round(storm.rate))] : []),
          ...(storm.rowBytes ? ["--row-bytes", String(storm.rowBytes)] : []),
        ]
      : [];
  await run(
    [process.execPath, WRITER, mode, r.db, String(seconds), out, ...extra],
    path.join(r.dir, "writer.log"),
    (seconds + 60) * 1000,
    `${r.label}: writer`,
  );
  return JSON.parse(fs.readFileSync(out, "utf8")) as WriterResult;
}

/** Samples a process's RSS while running; `stop()` returns the largest sample and VmHWM. */
function rssSampler(pid: number): { stop(): number } {
  let maxKiB = 0;
  const sample = (): void => {
    try {
      maxKiB = Math.max(maxKiB, rssKiB(pid));
    } catch {
      // Exited.
    }
  };
  sample();
  const t = setInterval(sample, RSS_SAMPLE_MS);
  return {
    stop: () => {
      clearInterval(t);
      sample();
      return Math.max(maxKiB, peakRssKiB(pid));
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Workloads
// ---------------------------------------------------------------------------------------------------------

interface LagResult {
  target: Target;
  mode: string;
  tool: Tool;
  commits: number;
  /** Commits never found in a segment before the replicator was stopped (excluded from the figures). */
  unmatched: number;
  lagMs: Dist | null;
  busyErrors: number;
  cpuPercent: number;
  rssMaxMb: number;
  stopS: number;
  stopCode: number | null;
  segments: number;
  segmentsFoundByPoll: number;
  restoreS: number;
  rows: number;
  unseen?: UnseenDiagnosis;
}

async function lagRun(
  b: Bench,
  target: Target,
  mode: Intervals,
  tool: Tool,
  seconds: number,
): Promise<LagResult> {
  const label = `lag ${target} ${mode.name.split(" ")[0]} ${tool}`;
  ensureTime(b, seconds + 60, label);
  const r = prepareRun(b, target, mode, label);
  try {
    const p = await startReplicator(b, tool, r);
    const rss = rssSampler(p.pid);
    const cpu0 = cpuSeconds(p.pid);
    const t0 = performance.now();
    const w = await runWriter(b, r, "lag", seconds);
    const cpu = ((cpuSeconds(p.pid) - cpu0) / ((performance.now() - t0) / 1000)) * 100;
    const allThere = (): boolean => presentAt(w.commits, r.watcher.sessions()).every((x) => x !== null);
    await waitUntil(allThere, LAG_CATCH_UP_MS, "every commit in the replica", p);
    const rssMaxMb = rss.stop() / 1024;
    const seen = presentAt(w.commits, r.watcher.sessions());
    const unseen = diagnoseUnseen(w.commits, seen, r.watcher);
    const v = await stopAndVerify(b, tool, r, p);
    const lags = w.commits.flatMap((c, i) => (seen[i] === null ? [] : [seen[i]! - c.at]));
    const segs = [...r.watcher.segments.values()];
    const res: LagResult = {
      target,
      mode: mode.name,
      tool,
      commits: w.commits.length,
      unmatched: seen.filter((x) => x === null).length,
      lagMs: dist(lags),
      busyErrors: w.busyErrors,
      cpuPercent: cpu,
      rssMaxMb,
      stopS: v.stop.seconds,
      stopCode: v.stop.code,
      segments: segs.length,
      segmentsFoundByPoll: segs.filter((s) => s.byPoll).length,
      restoreS: v.restoreS,
      rows: v.rows,
      ...(unseen ? { unseen } : {}),
    };
    if (unseen) b.say(`${label}: unseen commits: ${JSON.stringify(unseen)}`);
    const d = res.lagMs;
    b.say(
      `${label}: ${res.commits} commits, lag p50 ${f0(d?.p50)} ms, p99 ${f0(d?.p99)} ms, max ${f0(d?.max)} ms` +
        `${res.unmatched ? `, ${res.unmatched} never seen` : ""}; CPU ${f1(cpu)}%, RSS ${f0(rssMaxMb)} MB; ` +
        `${res.segments} segments (${res.segmentsFoundByPoll} found by the poll); SIGTERM->exit ${f2(res.stopS)} s ` +
        `(code ${res.stopCode}); restore ok (${res.rows} rows)`,
    );
    return res;
  } finally {
    r.cleanup();
  }
}

/**
 * How a storm writes: the storm workload's settings, or the flood's (NORMAL, with the disk guard), flat
 * out or paced to `rate` commits a second (the sustained flood).
 */
interface StormKind {
  synchronous: Options["synchronous"];
  walGuardMb: number;
  rate?: number;
  rowBytes?: number;
}

interface StormResult {
  target: Target;
  tool: Tool | "none";
  /** Stopped early: the WAL passed the disk guard. */
  walGuardHit: boolean;
  /** Share of the sampled commits already in the replica when the writer stopped (null: no replicator). */
  replicatedAtEnd: number | null;
  transactions: number;
  tps: number;
  /** tps / tps of the same writer with no replicator (same target block). */
  tpsRatio: number | null;
  busyErrors: number;
  samples: number;
  unmatched: number;
  lagMs: Dist | null;
  peakWalMb: number;
  cpuPercent: number | null;
  /** WAL bytes in the replica at the end (every session's span), in GB (10^9 bytes). */
  walGb: number | null;
  /** The replicator's CPU seconds, from the writer's start to its exit, per GB of WAL in the replica. */
  cpuSPerGb: number | null;
  /** walship's backpressure: how often and how long it held the writers (from its last log line). */
  holds: number | null;
  heldS: number | null;
  rssMaxMb: number | null;
  stopS: number | null;
  stopCode: number | null;
  restoreS: number | null;
  rows: number;
  unseen?: UnseenDiagnosis;
}

async function stormRun(
  b: Bench,
  target: Target,
  tool: Tool | "none",
  seconds: number,
  baselineTps: number | null,
  kind: StormKind & { name: "storm" | "flood" | "sustained" } = {
    name: "storm",
    synchronous: b.synchronous,
    walGuardMb: 0,
  },
): Promise<StormResult> {
  const label = `${kind.name} ${target} ${tool}`;
  ensureTime(b, seconds + 90, label);
  const r = prepareRun(b, target, DEFAULT_INTERVALS, label);
  try {
    const p = tool === "none" ? null : await startReplicator(b, tool, r);
    const rss = p ? rssSampler(p.pid) : null;
    const cpu0 = p ? cpuSeconds(p.pid) : 0;
    const cpuTotal = p ? cpuSampler(p.pid) : null;
    let peakWal = 0;
    const walPoll = setInterval(() => {
      const st = fs.statSync(`${r.db}-wal`, { throwIfNoEntry: false });
      if (st && st.size > peakWal) peakWal = st.size;
    }, WAL_POLL_MS);
    const t0 = performance.now();
    let w: WriterResult;
    try {
      w = await runWriter(b, r, "storm", seconds, kind);
    } finally {
      clearInterval(walPoll);
    }
    const cpu = p ? ((cpuSeconds(p.pid) - cpu0) / ((performance.now() - t0) / 1000)) * 100 : null;
    const rssMaxMb = rss ? rss.stop() / 1024 : null;
    let stopS: number | null = null;
    let stopCode: number | null = null;
    let restoreS: number | null = null;
    let rows = 0;
    let seen: (number | null)[] = [];
    let unseen: UnseenDiagnosis | null = null;
    let cpuAll: number | null = null;
    if (p && tool !== "none") {
      // SIGTERM right after the writer stops: the final sync must ship everything committed.
      const v = await stopAndVerify(b, tool, r, p);
      cpuAll = (cpuTotal?.stop() ?? cpu0) - cpu0;
      stopS = v.stop.seconds;
      stopCode = v.stop.code;
      restoreS = v.restoreS;
      rows = v.rows;
      seen = presentAt(w.commits, r.watcher.sessions());
      unseen = diagnoseUnseen(w.commits, seen, r.watcher);
      if (unseen) b.say(`${label}: unseen commits: ${JSON.stringify(unseen)}`);
      if (!v.stop.timedOut && rows !== w.transactions) {
        throw new BenchFailure(`${label}: restored ${rows} rows, the writer committed ${w.transactions}`, 1);
      }
    } else {
      rows = itemsDigest(r.db, ITEM_COLUMNS).rows;
    }
    const lags = w.commits.flatMap((c, i) =>
      seen[i] === null || seen[i] === undefined ? [] : [seen[i]! - c.at],
    );
    const walGb = p ? shippedWalBytes(r.watcher.sessions()) / 1e9 : null;
    const res: StormResult = {
      target,
      tool,
      walGuardHit: w.walGuardHit,
      replicatedAtEnd: p
        ? seen.filter((x) => x !== null && x !== undefined && x <= w.endedAt).length /
          Math.max(1, seen.length)
        : null,
      transactions: w.transactions,
      tps: w.tps,
      tpsRatio: ratio(w.tps, baselineTps),
      busyErrors: w.busyErrors,
      samples: w.commits.length,
      unmatched: p ? seen.filter((x) => x === null).length : 0,
      lagMs: dist(lags),
      peakWalMb: peakWal / 2 ** 20,
      cpuPercent: cpu,
      walGb,
      cpuSPerGb: walGb && cpuAll !== null ? cpuAll / walGb : null,
      ...writerHolds(tool === "walship" ? r.dir : null),
      rssMaxMb,
      stopS,
      stopCode,
      restoreS,
      rows,
      ...(unseen ? { unseen } : {}),
    };
    b.say(
      `${label}: ${res.transactions} commits, ${f0(res.tps)} tps${baselineTps === null ? "" : ` (x${f2(res.tpsRatio)} of no replicator)`}, ` +
        `${res.busyErrors} busy errors, peak WAL ${f1(res.peakWalMb)} MiB` +
        (res.walGuardHit ? ` (STOPPED: the WAL passed the ${kind.walGuardMb} MiB guard)` : "") +
        (res.replicatedAtEnd === null
          ? ""
          : `, ${f0(res.replicatedAtEnd * 100)}% replicated when the writer stopped`) +
        (p
          ? `, lag p99 ${f0(res.lagMs?.p99)} ms of ${res.samples} samples${res.unmatched ? ` (${res.unmatched} never seen)` : ""}, ` +
            `CPU ${f1(cpu)}% (${f2(res.cpuSPerGb)} CPU s per GB of the ${f2(walGb)} GB of WAL shipped), RSS ${f0(rssMaxMb)} MB, SIGTERM->exit ${f2(stopS)} s (code ${stopCode}), restore ok (${rows} rows)`
          : ""),
    );
    return res;
  } finally {
    r.cleanup();
  }
}

interface IdleResult {
  target: Target;
  tool: Tool;
  seconds: number;
  cpuSeconds: number;
  cpuPercent: number;
  rssEndMb: number;
  rssMaxMb: number;
  /** Requests the replicator sent to S3 during the window (through a pass-through proxy); null for dir. */
  requests: number | null;
  requestsPerMinute: number | null;
  stopS: number;
  stopCode: number | null;
  restoreS: number;
  rows: number;
}

async function idleRun(b: Bench, target: Target, tool: Tool, seconds: number): Promise<IdleResult> {
  const label = `idle ${target} ${tool}`;
  ensureTime(b, seconds + 60, label);
  let proxy: FaultProxy | null = null;
  if (target === "s3") proxy = await startFaultProxy(b.s3!.endpoint);
  const r = prepareRun(b, target, DEFAULT_INTERVALS, label, proxy?.endpoint);
  try {
    const app = new Database(r.db);
    const insert = app.prepare("INSERT INTO items (name, qty) VALUES (?, ?)");
    app.transaction(() => {
      for (let i = 0; i < IDLE_SEED_ROWS; i++) insert.run(`seed row ${i} `.padEnd(100, "x"), i);
    })();
    insert.finalize();
    app.close();
    const p = await startReplicator(b, tool, r);
    await sleep(IDLE_SETTLE_MS);
    if (p.proc.exitCode !== null) throw new BenchFailure(`${label}: replicator exited\n${logTail(p.log)}`, 1);
    const rss = rssSampler(p.pid);
    const requests0 = proxy?.requests.length ?? 0;
    const cpu0 = cpuSeconds(p.pid);
    const t0 = performance.now();
    await sleep(seconds * 1000);
    const elapsed = (performance.now() - t0) / 1000;
    const used = cpuSeconds(p.pid) - cpu0;
    const requests = proxy ? proxy.requests.length - requests0 : null;
    const rssEndMb = rssKiB(p.pid) / 1024;
    const rssMaxMb = rss.stop() / 1024;
    const v = await stopAndVerify(b, tool, r, p);
    const res: IdleResult = {
      target,
      tool,
      seconds: elapsed,
      cpuSeconds: used,
      cpuPercent: (used / elapsed) * 100,
      rssEndMb,
      rssMaxMb,
      requests,
      requestsPerMinute: requests === null ? null : (requests / elapsed) * 60,
      stopS: v.stop.seconds,
      stopCode: v.stop.code,
      restoreS: v.restoreS,
      rows: v.rows,
    };
    b.say(
      `${label}: ${f0(elapsed)} s, CPU ${f2(used)} s (${f2(res.cpuPercent)}%), RSS ${f1(rssEndMb)} MB (max ${f1(rssMaxMb)})` +
        `${requests === null ? "" : `, ${requests} requests`}; SIGTERM->exit ${f2(res.stopS)} s; restore ok (${res.rows} rows)`,
    );
    return res;
  } finally {
    r.cleanup();
    await proxy?.stop();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------------------

function versionOf(cmd: string[]): string {
  const out = Bun.spawnSync([...cmd, "version"], { env: cleanEnv(), timeout: 30_000 });
  return (out.stdout.toString() + out.stderr.toString()).trim().split("\n")[0] ?? "";
}

async function main(): Promise<number> {
  const opts = parseOptions(process.argv.slice(2));
  const say = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  const ls = litestreamBinary();
  if ("skip" in ls) throw new BenchFailure(`cannot benchmark against litestream: ${ls.skip}`, 1);
  const walship = walshipCommand(opts.walshipBin);
  const versions = { walship: versionOf(walship.cmd), litestream: versionOf([ls.path]) };
  say(`walship: ${walship.mode}: ${walship.cmd.join(" ")} (${versions.walship})`);
  say(`litestream: ${ls.path} (${versions.litestream})`);
  say(`machine: ${os.cpus().length} CPUs, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB`);

  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "walship-bench-load-"));
  let server: S3Server | null = null;
  const endTimeLimit = guardRun({ scratch, server: () => server, maxMinutes: opts.maxMinutes, say });

  const plain: Results = { lag: [], storm: [], idle: [], flood: [], sustained: [] };
  const encrypted: Results = { lag: [], storm: [], idle: [], flood: [], sustained: [] };
  let ageKeys: AgeKeys | null = null;
  try {
    if (opts.targets.includes("s3")) {
      server = await startS3Server({ buckets: [S3_BUCKET] });
      say(`S3 test server at ${server.endpoint}`);
    }
    const b: Bench = {
      scratch,
      s3: server,
      walshipCmd: walship.cmd,
      litestreamPath: ls.path,
      deadline: Date.now() + opts.maxMinutes * 60_000,
      maxMinutes: opts.maxMinutes,
      synchronous: opts.synchronous,
      say,
      runs: 0,
      age: null,
      maxWalSize: opts.maxWalSize,
    };
    if (opts.encrypted) {
      const identity = await generateX25519Identity();
      const keyFile = path.join(scratch, "age-key.txt");
      fs.writeFileSync(keyFile, `${identity}\n`, { mode: 0o600 });
      ageKeys = { identity, recipient: await identityToRecipient(identity), keyFile };
    }
    for (const age of opts.encrypted ? [null, ageKeys] : [null]) {
      b.age = age;
      if (opts.encrypted) say(age ? "pass 2: encrypted (age)" : "pass 1: plain");
      await runWorkloads(b, opts, age ? encrypted : plain);
    }
  } finally {
    endTimeLimit();
    // Only a failure leaves anything running here.
    for (const pid of live) killGroup(pid);
    await server?.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  }

  report(opts, walship, versions, plain);
  if (opts.encrypted) {
    console.log("\n--- encrypted (age): the same workloads, every object age(lz4) ---");
    report(opts, walship, versions, encrypted);
    reportAgeCost(plain, encrypted);
  }
  return 0;
}

/** Every workload of one pass, plain or encrypted, into `res`. */
async function runWorkloads(b: Bench, opts: Options, res: Results): Promise<void> {
  for (const target of opts.targets) {
    if (opts.only.includes("lag")) {
      for (const [i, mode] of LAG_MODES.entries()) {
        // Alternate which tool goes first.
        const wanted = mode.tools.filter((t) => opts.tools.includes(t));
        const tools = i % 2 === 0 ? wanted : [...wanted].reverse();
        for (const tool of tools) res.lag.push(await lagRun(b, target, mode, tool, opts.seconds));
      }
    }
    if (opts.only.includes("storm")) {
      const base = await stormRun(b, target, "none", opts.stormSeconds, null);
      base.tpsRatio = 1;
      res.storm.push(base);
      const order: Tool[] = target === "dir" ? ["walship", "litestream"] : ["litestream", "walship"];
      const tools = order.filter((t) => opts.tools.includes(t));
      for (const tool of tools) res.storm.push(await stormRun(b, target, tool, opts.stormSeconds, base.tps));
    }
    if (opts.only.includes("idle")) {
      const order: Tool[] = target === "dir" ? ["walship", "litestream"] : ["litestream", "walship"];
      const tools = order.filter((t) => opts.tools.includes(t));
      for (const tool of tools) res.idle.push(await idleRun(b, target, tool, opts.seconds));
    }
    if (opts.only.includes("flood") || opts.only.includes("sustained")) {
      const kind = {
        name: "flood",
        synchronous: "normal",
        walGuardMb: opts.walGuardMb,
        rowBytes: opts.rowBytes,
      } as const;
      // The sustained flood alone still needs the ceiling it takes half of.
      const floodSeconds = opts.only.includes("flood") ? opts.floodSeconds : SUSTAINED_CEILING_SECONDS;
      const base = await stormRun(b, target, "none", floodSeconds, null, kind);
      base.tpsRatio = 1;
      const order: Tool[] = target === "dir" ? ["walship", "litestream"] : ["litestream", "walship"];
      const tools = order.filter((t) => opts.tools.includes(t));
      if (opts.only.includes("flood")) {
        res.flood.push(base);
        for (const tool of tools)
          res.flood.push(await stormRun(b, target, tool, floodSeconds, base.tps, kind));
      }
      if (opts.only.includes("sustained")) {
        const paced = { ...kind, name: "sustained", rate: base.tps / 2 } as const;
        for (const tool of ["none", ...tools] as const) {
          const run = await stormRun(b, target, tool, opts.sustainedSeconds, base.tps / 2, paced);
          res.sustained.push(run);
        }
      }
    }
  }
}

/** What encryption costs each tool: encrypted / plain, per workload. */
function reportAgeCost(plain: Results, encrypted: Results): void {
  const rows: string[][] = [["workload", "target", "tool", "figure", "plain", "age", "age / plain"]];
  const row = (w: string, target: string, tool: string, figure: string, a?: number, b?: number) => {
    if (a === undefined || b === undefined) return;
    rows.push([w, target, tool, figure, a.toFixed(1), b.toFixed(1), (b / a).toFixed(2)]);
  };
  for (const r of plain.lag) {
    const e = encrypted.lag.find((x) => x.target === r.target && x.mode === r.mode && x.tool === r.tool);
    row(`lag ${r.mode.split(" ")[0]}`, r.target, r.tool, "p99 ms", r.lagMs?.p99, e?.lagMs?.p99);
    row(`lag ${r.mode.split(" ")[0]}`, r.target, r.tool, "CPU %", r.cpuPercent, e?.cpuPercent);
  }
  for (const r of plain.storm) {
    const e = encrypted.storm.find((x) => x.target === r.target && x.tool === r.tool);
    if (r.tool !== "none") row("storm", r.target, r.tool, "tps", r.tps, e?.tps);
  }
  for (const r of plain.idle) {
    const e = encrypted.idle.find((x) => x.target === r.target && x.tool === r.tool);
    row("idle", r.target, r.tool, "CPU %", r.cpuPercent, e?.cpuPercent);
  }
  console.log(`\nencryption cost (age / plain; lag and CPU: < 1.2 is the goal for walship's lag p99)`);
  console.log(table(rows, 4));
  console.log(JSON.stringify({ bench: "load-age-cost", rows }));
}

interface Results {
  lag: LagResult[];
  storm: StormResult[];
  idle: IdleResult[];
  flood: StormResult[];
  sustained: StormResult[];
}

/** The flood and sustained tables: one row per run. */
function floodTable(runs: StormResult[]): string {
  const rows: string[][] = [
    [
      "target",
      "tool",
      "commits",
      "tps",
      "tps ratio",
      "busy",
      "holds",
      "peak WAL MiB",
      "guard",
      "in replica",
      "lag p99",
      "CPU s/GB",
      "RSS MB",
      "stop s",
    ],
  ];
  for (const r of runs) {
    rows.push([
      r.target,
      r.tool === "none" ? "no replicator" : r.tool,
      String(r.transactions),
      f0(r.tps),
      f2(r.tpsRatio),
      String(r.busyErrors),
      r.holds === null ? "-" : `${r.holds} (${f1(r.heldS)} s)`,
      f1(r.peakWalMb),
      r.walGuardHit ? "HIT" : "-",
      r.replicatedAtEnd === null ? "-" : `${f0(r.replicatedAtEnd * 100)}%`,
      f0(r.lagMs?.p99),
      f2(r.cpuSPerGb),
      f0(r.rssMaxMb),
      f2(r.stopS),
    ]);
  }
  return table(rows, 2);
}
function report(
  opts: Options,
  walship: { mode: string; cmd: string[] },
  versions: { walship: string; litestream: string },
  res: Results,
): void {
  const ratios: Record<string, Record<string, number | null>> = {};
  const out: string[] = [];
  out.push(
    `\nload benchmark: walship (${walship.mode}, ${versions.walship}) vs litestream ${versions.litestream}; ` +
      `${os.cpus().length} CPUs; ratio = walship / litestream (< 1: walship lower)`,
  );
  if (res.lag.length > 0) {
    out.push(
      `\nlag: commit -> segment present in the replica, one ~100-byte commit every 25..75 ms for ${opts.seconds} s`,
    );
    const rows: string[][] = [
      [
        "target",
        "intervals",
        "tool",
        "commits",
        "p50 ms",
        "p99 ms",
        "max ms",
        "unseen",
        "CPU %",
        "RSS MB",
        "stop s",
      ],
    ];
    for (const target of opts.targets) {
      for (const mode of LAG_MODES) {
        const of = (t: Tool) =>
          res.lag.find((r) => r.target === target && r.mode === mode.name && r.tool === t);
        for (const t of mode.tools) {
          const r = of(t);
          if (!r) continue;
          rows.push([
            target,
            mode.name,
            t,
            String(r.commits),
            ...lagCells(r.lagMs),
            String(r.unmatched),
            ...usageCells(r),
          ]);
        }
        const w = of("walship");
        const l = of("litestream");
        if (w && l) {
          const key = `lag/${target}/${mode.name.split(" ")[0]}`;
          ratios[key] = {
            p50: ratio(w.lagMs?.p50, l.lagMs?.p50),
            p99: ratio(w.lagMs?.p99, l.lagMs?.p99),
            max: ratio(w.lagMs?.max, l.lagMs?.max),
            cpu: ratio(w.cpuPercent, l.cpuPercent),
            rss: ratio(w.rssMaxMb, l.rssMaxMb),
          };
          const q = ratios[key];
          rows.push([
            target,
            mode.name,
            "ratio",
            "",
            f2(q.p50),
            f2(q.p99),
            f2(q.max),
            "",
            f2(q.cpu),
            f2(q.rss),
            "",
          ]);
        }
      }
    }
    out.push(table(rows, 3));
  }
  if (res.flood.length > 0) {
    out.push(
      `\nflood: autocommit single-row INSERTs (${opts.rowBytes} bytes of text) flat out for ${opts.floodSeconds} s, synchronous NORMAL; a run ` +
        `whose WAL passes ${opts.walGuardMb} MiB is stopped there (guard); "in replica" = sampled commits ` +
        "already in the replica when the writer stopped; CPU s/GB = the replicator's CPU seconds per GB of " +
        "WAL shipped; stop = SIGTERM -> exit",
    );
    out.push(floodTable(res.flood));
  }
  if (res.sustained.length > 0) {
    out.push(
      `\nsustained: the flood's writer paced to half the ceiling measured just before, for ${opts.sustainedSeconds} s; ` +
        "tps ratio = commits kept of the pace; columns as in the flood",
    );
    out.push(floodTable(res.sustained));
  }
  if (res.storm.length > 0) {
    out.push(
      `\nstorm: autocommit single-row INSERTs flat out for ${opts.stormSeconds} s (synchronous ${opts.synchronous}), ` +
        "default intervals; lag of commits sampled every 50 ms; stop = SIGTERM right after the writer stops -> exit",
    );
    const rows: string[][] = [
      [
        "target",
        "tool",
        "commits",
        "tps",
        "tps ratio",
        "lag p50",
        "lag p99",
        "lag max",
        "peak WAL MiB",
        "CPU %",
        "RSS MB",
        "stop s",
      ],
    ];
    for (const target of opts.targets) {
      const of = (t: Tool | "none") => res.storm.find((r) => r.target === target && r.tool === t);
      for (const t of ["none", "walship", "litestream"] as const) {
        const r = of(t);
        if (!r) continue;
        rows.push([
          target,
          t === "none" ? "no replicator" : t,
          String(r.transactions),
          f0(r.tps),
          f2(r.tpsRatio),
          ...lagCells(r.lagMs),
          f1(r.peakWalMb),
          ...usageCells(r),
        ]);
      }
      const w = of("walship");
      const l = of("litestream");
      if (w && l) {
        const key = `storm/${target}`;
        ratios[key] = {
          tps: ratio(w.tps, l.tps),
          lagP99: ratio(w.lagMs?.p99, l.lagMs?.p99),
          peakWal: ratio(w.peakWalMb, l.peakWalMb),
          cpu: ratio(w.cpuPercent, l.cpuPercent),
          rss: ratio(w.rssMaxMb, l.rssMaxMb),
          stop: ratio(w.stopS, l.stopS),
        };
        const q = ratios[key];
        rows.push([
          target,
          "ratio",
          "",
          f2(q.tps),
          "",
          "",
          f2(q.lagP99),
          "",
          f2(q.peakWal),
          f2(q.cpu),
          f2(q.rss),
          f2(q.stop),
        ]);
      }
    }
    out.push(table(rows, 2));
  }
  if (res.idle.length > 0) {
    out.push(
      `\nidle: replicator on an idle database (${IDLE_SEED_ROWS} rows) for ${opts.seconds} s, default intervals`,
    );
    const rows: string[][] = [
      ["target", "tool", "CPU s", "CPU %", "RSS MB", "RSS max MB", "requests", "req/min"],
    ];
    for (const target of opts.targets) {
      const of = (t: Tool) => res.idle.find((r) => r.target === target && r.tool === t);
      for (const t of ["walship", "litestream"] as const) {
        const r = of(t);
        if (!r) continue;
        rows.push([
          target,
          t,
          f2(r.cpuSeconds),
          f2(r.cpuPercent),
          f1(r.rssEndMb),
          f1(r.rssMaxMb),
          r.requests === null ? "-" : String(r.requests),
          f1(r.requestsPerMinute),
        ]);
      }
      const w = of("walship");
      const l = of("litestream");
      if (w && l) {
        const key = `idle/${target}`;
        ratios[key] = { cpu: ratio(w.cpuSeconds, l.cpuSeconds), rss: ratio(w.rssEndMb, l.rssEndMb) };
        const q = ratios[key];
        rows.push([target, "ratio", f2(q.cpu), "", f2(q.rss), "", "", ""]);
      }
    }
    out.push(table(rows, 2));
  }
  console.log(out.join("\n"));
  console.log(
    JSON.stringify({
      bench: "load",
      walship: { mode: walship.mode, cmd: walship.cmd, version: versions.walship },
      litestream: { version: versions.litestream },
      machine: { cpus: os.cpus().length, memGiB: os.totalmem() / 2 ** 30 },
      options: opts,
      ...res,
      ratios,
    }),
  );
}

let exitCode: number;
try {
  exitCode = await main();
} catch (err) {
  if (err instanceof BenchFailure) {
    console.error(`load bench: ${err.message}`);
    exitCode = err.exitCode;
  } else {
    console.error(err);
    exitCode = 1;
  }
  for (const pid of live) killGroup(pid);
}
process.exit(exitCode);
