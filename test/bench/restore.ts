/**
 * Restore benchmark: `walship restore` against `litestream restore` (0.3.13) on the same large replica
 * (about 256 MiB, over 1,000 WAL segments), from a directory and from the S3 test server, side by side.
 *
 *   bun test/bench/restore.ts [--case wal|snapshot] [--size-mb 256] [--runs 3] [--warmups 1] [--iterations 1200] [--sources dir,s3]
 *                             [--timeout-s 600] [--max-minutes 90] [--walship-bin PATH]
 *                             [--with-verify-none] [--encrypted] [--regenerate]
 *
 * walship runs from `dist/walship` when it exists (or --walship-bin), else from source. The replica is
 * cached under `.bench/` (see make-replica.ts); --regenerate rebuilds it. --with-verify-none adds a
 * third contender, `walship restore --verify none`, since Litestream does no check after restoring.
 * --encrypted adds both tools restoring an age-encrypted copy of the same replica (encrypted-replica.ts),
 * for the ratios encrypted/plain and walship/Litestream, both encrypted.
 *
 * `--case snapshot` uses a snapshot-dominated replica instead: a database of --size-mb (use 1024) written
 * by the real Litestream 0.3.13, one big snapshot and a few WAL segments (make-litestream-replica.ts).
 *
 * A fourth contender measures the floor the goals name: `dd` writing and fsyncing as many bytes as the
 * database has, in the same alternation (this machine's disk timing varies several-fold from minute to
 * minute, so a floor measured apart would mislead). Each run also reports CPU seconds (user + system)
 * and, from S3, the test server's CPU seconds: it shares the cores with the tool under test.
 *
 * Each tool runs once per source as a warm-up (--warmups), then N times, alternating which goes first.
 * Every restore, warm-ups included, is checked afterwards
 * (integrity_check, row count, content hash against the source database); any mismatch or failed command
 * fails the benchmark. Prints a table and one JSON line with every figure. Exit codes: 0 success,
 * 1 a restore failed or restored the wrong data, 2 usage, 3 the benchmark ran out of time.
 */
import { Database } from "bun:sqlite";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { litestreamBinary, litestreamConfig } from "../helpers/litestream.ts";
import { type S3Server, startS3Server } from "../helpers/s3-server.ts";
import { BenchFailure, guardRun, killGroup, live, walshipCommand } from "./bench-process.ts";
import { ensureEncryptedCopy } from "./encrypted-replica.ts";
import { ensureLitestreamReplica } from "./make-litestream-replica.ts";
import {
  contentDigest,
  DEFAULT_PARAMS,
  ensureReplica,
  fileSha256,
  type GeneratedReplica,
  parseIntFlag,
  REPO_ROOT,
  type ReplicaParams,
  type S3Target,
} from "./make-replica.ts";

const TIME_BIN = "/usr/bin/time";
/** USER_HZ, the unit of /proc/PID/stat's times: 100 on every Linux architecture we run on. */
const CLOCK_TICKS_PER_S = 100;
const RSS_POLL_MS = 20;
const S3_BUCKET = "bench";
const S3_PREFIX = "restore/app.db";

type Source = "dir" | "s3";
type ToolName =
  | "walship"
  | "litestream"
  | "walship-verify-none"
  | "walship-age"
  | "litestream-age"
  | "write-floor";

interface Options {
  params: ReplicaParams;
  runs: number;
  /** Runs of each contender per source before the counted ones. */
  warmups: number;
  sources: Source[];
  timeoutMs: number;
  maxMinutes: number;
  walshipBin: string | undefined;
  withVerifyNone: boolean;
  encrypted: boolean;
  regenerate: boolean;
  /** `wal`: walship's WAL-heavy replica; `snapshot`: a big database replicated by Litestream 0.3.13. */
  replicaCase: "wal" | "snapshot";
}

interface RunFigures {
  wallS: number;
  rssMb: number;
  /** User + system CPU seconds of the command (NaN without /usr/bin/time). */
  cpuS: number;
  /** CPU seconds the S3 test server spent meanwhile (NaN from a directory). */
  serverCpuS: number;
  /** The restored file equals the checkpointed source byte for byte (informational: content is what must match). */
  identical: boolean;
}

interface ToolResult {
  source: Source;
  tool: ToolName;
  runs: RunFigures[];
  medianWallS: number;
  minWallS: number;
  maxWallS: number;
  mbPerS: number;
  medianRssMb: number;
  maxRssMb: number;
  medianCpuS: number;
  medianServerCpuS: number;
}

function usage(): never {
  throw new BenchFailure(
    "usage: bun test/bench/restore.ts [--size-mb 256] [--runs 3] [--warmups 1] [--iterations 1200] [--sources dir,s3] " +
      "[--timeout-s 600] [--max-minutes 90] [--walship-bin PATH] [--with-verify-none] [--encrypted] [--regenerate]",
    2,
  );
}

function parseOptions(argv: string[]): Options {
  const known = new Set([
    "--size-mb",
    "--runs",
    "--warmups",
    "--iterations",
    "--seed",
    "--min-checkpoint-pages",
    "--sources",
    "--timeout-s",
    "--max-minutes",
    "--walship-bin",
    "--with-verify-none",
    "--encrypted",
    "--regenerate",
    "--case",
    "--help",
  ]);
  for (const a of argv) if (a.startsWith("--") && !known.has(a)) usage();
  if (argv.includes("--help")) usage();
  const int = (name: string, fallback: number): number => {
    try {
      return parseIntFlag(argv, name, fallback);
    } catch (err) {
      throw new BenchFailure((err as Error).message, 2);
    }
  };
  const sourcesArg = argv.includes("--sources") ? (argv[argv.indexOf("--sources") + 1] ?? "") : "dir,s3";
  const sources = sourcesArg.split(",").filter((s) => s !== "");
  if (sources.length === 0 || sources.some((s) => s !== "dir" && s !== "s3")) usage();
  return {
    params: {
      sizeMb: int("--size-mb", DEFAULT_PARAMS.sizeMb),
      iterations: int("--iterations", DEFAULT_PARAMS.iterations),
      seed: int("--seed", DEFAULT_PARAMS.seed),
      minCheckpointPageCount: int("--min-checkpoint-pages", DEFAULT_PARAMS.minCheckpointPageCount),
    },
    runs: int("--runs", 3),
    warmups: int("--warmups", 1),
    sources: sources as Source[],
    timeoutMs: int("--timeout-s", 600) * 1000,
    maxMinutes: int("--max-minutes", 90),
    walshipBin: argv.includes("--walship-bin") ? argv[argv.indexOf("--walship-bin") + 1] : undefined,
    withVerifyNone: argv.includes("--with-verify-none"),
    encrypted: argv.includes("--encrypted"),
    regenerate: argv.includes("--regenerate"),
    replicaCase:
      argv.includes("--case") && argv[argv.indexOf("--case") + 1] === "snapshot" ? "snapshot" : "wal",
  };
}

// ---------------------------------------------------------------------------------------------------------
// Measuring one command
// ---------------------------------------------------------------------------------------------------------

interface Measured {
  code: number;
  wallS: number;
  rssMb: number;
  cpuS: number;
  timedOut: boolean;
  output: string;
}

/** Peak RSS by polling: VmHWM is the kernel's own high-water mark, so polling only risks missing the last 20 ms. */
function readPeakKb(pid: number): number {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const hwm = /^VmHWM:\s+(\d+) kB/m.exec(status)?.[1];
    const rss = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
    return Math.max(Number(hwm ?? 0), Number(rss ?? 0));
  } catch {
    return 0;
  }
}

async function measure(
  cmd: string[],
  env: Record<string, string | undefined>,
  timeoutMs: number,
  scratch: string,
): Promise<Measured> {
  const useTime = fs.existsSync(TIME_BIN);
  const timeFile = path.join(scratch, "time.out");
  const outFile = path.join(scratch, "cmd.out");
  fs.rmSync(timeFile, { force: true });
  const full = useTime ? [TIME_BIN, "-f", "%e %M %U %S", "-o", timeFile, ...cmd] : cmd;
  const started = performance.now();
  // Own process group: a timeout kills /usr/bin/time and the tool under it together.
  const proc = Bun.spawn(full, {
    env,
    stdin: "ignore",
    stdout: Bun.file(outFile),
    stderr: Bun.file(outFile),
    detached: true,
  });
  live.add(proc.pid);
  let peakKb = 0;
  const poller = useTime
    ? undefined
    : setInterval(() => {
        peakKb = Math.max(peakKb, readPeakKb(proc.pid));
      }, RSS_POLL_MS);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(proc.pid);
  }, timeoutMs);
  const code = await proc.exited;
  const wallS = (performance.now() - started) / 1000;
  clearTimeout(timer);
  if (poller) clearInterval(poller);
  live.delete(proc.pid);
  let output = "";
  try {
    output = fs.readFileSync(outFile, "utf8");
  } catch {}
  let cpuS = Number.NaN;
  if (useTime) {
    // GNU time writes "Command exited with non-zero status N" before the format line on failure.
    const lines = (fs.existsSync(timeFile) ? fs.readFileSync(timeFile, "utf8") : "").trim().split("\n");
    const m = /^([\d.]+) (\d+) ([\d.]+) ([\d.]+)$/.exec(lines[lines.length - 1] ?? "");
    peakKb = m ? Number(m[2]) : 0;
    if (m) cpuS = Number(m[3]) + Number(m[4]);
  }
  return { code, wallS, rssMb: peakKb / 1024, cpuS, timedOut, output };
}

function figuresOf(m: Measured): Pick<RunFigures, "wallS" | "rssMb" | "cpuS"> {
  return { wallS: m.wallS, rssMb: m.rssMb, cpuS: m.cpuS };
}

/** CPU seconds (user + system) a live process has used so far, from /proc; NaN where there is none. */
function processCpuS(pid: number): number {
  try {
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th of them.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
  } catch {
    return Number.NaN;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Correctness of one restore
// ---------------------------------------------------------------------------------------------------------

/** Checks a restore; returns whether the file is also byte-identical to the checkpointed source. */
function checkRestore(out: string, replica: GeneratedReplica, label: string): boolean {
  if (!fs.existsSync(out)) throw new BenchFailure(`${label}: no output file at ${out}`, 1);
  const db = new Database(out, { readwrite: true, create: false });
  let integrity: string[];
  try {
    integrity = db
      .query("PRAGMA integrity_check")
      .values()
      .map((r) => String(r[0]));
  } finally {
    db.close(true);
  }
  if (integrity.length !== 1 || integrity[0] !== "ok") {
    throw new BenchFailure(`${label}: integrity_check failed: ${integrity.slice(0, 5).join("; ")}`, 1);
  }
  const got = contentDigest(out);
  const want = replica.meta;
  if (got.rows !== want.rowCount || got.hash !== want.contentHash) {
    throw new BenchFailure(
      `${label}: restored content differs: ${got.rows} rows sha256 ${got.hash}, expected ${want.rowCount} rows sha256 ${want.contentHash}`,
      1,
    );
  }
  return fileSha256(out) === want.fileHash;
}

function removeOutput(out: string): void {
  for (const suffix of ["", "-wal", "-shm", "-journal", ".tmp"]) fs.rmSync(out + suffix, { force: true });
  // Leftover temp files of either tool beside the output.
  const dir = path.dirname(out);
  for (const name of fs.readdirSync(dir)) {
    if (name.startsWith(`.${path.basename(out)}.`) || name.startsWith(`${path.basename(out)}.`)) {
      fs.rmSync(path.join(dir, name), { force: true, recursive: true });
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Statistics and output
// ---------------------------------------------------------------------------------------------------------

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function summarize(source: Source, tool: ToolName, runs: RunFigures[], dbBytes: number): ToolResult {
  const walls = runs.map((r) => r.wallS);
  const rss = runs.map((r) => r.rssMb);
  const cpu = runs.map((r) => r.cpuS);
  const serverCpu = runs.map((r) => r.serverCpuS);
  const medianWallS = median(walls);
  return {
    source,
    tool,
    runs,
    medianWallS,
    minWallS: Math.min(...walls),
    maxWallS: Math.max(...walls),
    mbPerS: dbBytes / 2 ** 20 / medianWallS,
    medianRssMb: median(rss),
    maxRssMb: Math.max(...rss),
    medianCpuS: median(cpu),
    medianServerCpuS: median(serverCpu),
  };
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length)));
  return rows
    .map((r) => r.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  "))
    .join("\n");
}

// ---------------------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------------------

function cleanEnv(extra: Record<string, string> = {}): Record<string, string | undefined> {
  // Credentials and endpoints from the developer's shell must not change what is measured.
  const base: Record<string, string | undefined> = { ...process.env };
  for (const k of Object.keys(base)) if (/^(AWS_|LITESTREAM_|WALSHIP_)/.test(k)) delete base[k];
  return { ...base, AWS_EC2_METADATA_DISABLED: "true", ...extra };
}

/** Reads every file under `dir` once, so the first timed run does not pay for a cold page cache. */
function warmFiles(dir: string): number {
  let bytes = 0;
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) bytes += fs.readFileSync(p).length;
    }
  };
  walk(dir);
  return bytes;
}

async function main(): Promise<number> {
  const opts = parseOptions(process.argv.slice(2));
  const deadline = Date.now() + opts.maxMinutes * 60_000;
  const say = (line: string) => process.stderr.write(`${line}\n`);

  const ls = litestreamBinary();
  if ("skip" in ls) throw new BenchFailure(`cannot benchmark against litestream: ${ls.skip}`, 1);
  const walship = walshipCommand(opts.walshipBin);
  const rssMethod = fs.existsSync(TIME_BIN)
    ? "/usr/bin/time %M"
    : `polling /proc/PID/status every ${RSS_POLL_MS} ms`;
  say(`walship: ${walship.mode}: ${walship.cmd.join(" ")}`);
  say(`litestream: ${ls.path}`);
  say(`peak RSS: ${rssMethod}`);

  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "walship-bench-restore-"));
  let server: S3Server | null = null;
  const endTimeLimit = guardRun({ scratch, server: () => server, maxMinutes: opts.maxMinutes, say });

  try {
    let s3: S3Target | undefined;
    if (opts.sources.includes("s3")) {
      server = await startS3Server({ buckets: [S3_BUCKET] });
      s3 = {
        endpoint: server.endpoint,
        bucket: S3_BUCKET,
        prefix: S3_PREFIX,
        accessKeyId: server.accessKeyId,
        secretAccessKey: server.secretAccessKey,
      };
      say(`S3 test server at ${server.endpoint}`);
    }
    const genStarted = performance.now();
    const replica =
      opts.replicaCase === "snapshot"
        ? await ensureLitestreamReplica(opts.params.sizeMb, { s3, say, deadline, force: opts.regenerate })
        : await ensureReplica(opts.params, { s3, say, deadline, force: opts.regenerate });
    const meta = replica.meta;
    say(
      `replica ready in ${((performance.now() - genStarted) / 1000).toFixed(1)} s: db ${(meta.dbBytes / 2 ** 20).toFixed(1)} MiB, ` +
        `${meta.rowCount} rows, ${meta.segments} WAL segments, ${meta.walIndexes} WAL indexes; ` +
        `generation took ${meta.generationSeconds.toFixed(1)} s${replica.fromCache ? " (earlier, cached)" : ""}`,
    );
    if (meta.segments < 1000 && opts.replicaCase === "wal")
      say(`warning: only ${meta.segments} WAL segments (fewer than 1,000)`);

    const encrypted = opts.encrypted ? await ensureEncryptedCopy(replica, s3, say) : null;
    const warmed =
      warmFiles(replica.replicaDir) +
      (encrypted ? warmFiles(encrypted.replicaDir) : 0) +
      (server ? warmFiles(server.dir) : 0);
    say(`page cache warmed: ${(warmed / 2 ** 20).toFixed(0)} MiB of replica files read once`);

    const cfgPath = path.join(scratch, "litestream.yml");
    const lsDbPath = path.join(scratch, "app.db");
    if (s3) {
      fs.writeFileSync(
        cfgPath,
        litestreamConfig(lsDbPath, [
          {
            bucket: s3.bucket,
            path: s3.prefix,
            endpoint: s3.endpoint,
            accessKeyId: s3.accessKeyId,
            secretAccessKey: s3.secretAccessKey,
          },
        ]),
      );
    }
    // Litestream reads age identities only from a config.
    const lsAgeConfig = (source: Source): string => {
      if (!encrypted) throw new Error("no encrypted replica");
      const file = path.join(scratch, `litestream-age-${source}.yml`);
      const ageIdentities = [encrypted.identity];
      const replicaYaml =
        source === "dir" || !s3
          ? { dir: encrypted.replicaDir, ageIdentities }
          : {
              bucket: s3.bucket,
              path: encrypted.s3Prefix ?? "",
              endpoint: s3.endpoint,
              accessKeyId: s3.accessKeyId,
              secretAccessKey: s3.secretAccessKey,
              ageIdentities,
            };
      fs.writeFileSync(file, litestreamConfig(lsDbPath, [replicaYaml]));
      return file;
    };
    const out = path.join(scratch, "out", "restored.db");
    fs.mkdirSync(path.dirname(out), { recursive: true });

    const tools: ToolName[] = ["walship", "litestream"];
    if (opts.withVerifyNone) tools.push("walship-verify-none");
    if (encrypted) tools.push("walship-age", "litestream-age");
    tools.push("write-floor");
    const command = (
      tool: ToolName,
      source: Source,
    ): { cmd: string[]; env: Record<string, string | undefined> } => {
      const fileUrl = `file://${replica.replicaDir}`;
      const s3Url = s3 ? `${s3.endpoint}/${s3.bucket}/${s3.prefix}` : "";
      const s3Env: Record<string, string> = s3
        ? { LITESTREAM_ACCESS_KEY_ID: s3.accessKeyId, LITESTREAM_SECRET_ACCESS_KEY: s3.secretAccessKey }
        : {};
      if (tool === "write-floor") {
        const dd = ["dd", "if=/dev/zero", `of=${out}`, "bs=4M", `count=${meta.dbBytes}`, "iflag=count_bytes"];
        return { cmd: [...dd, "conv=fsync", "status=none"], env: cleanEnv() };
      }
      if (tool === "litestream-age") {
        return {
          cmd: [ls.path, "restore", "-config", lsAgeConfig(source), "-o", out, lsDbPath],
          env: cleanEnv(),
        };
      }
      if (tool === "walship-age" && encrypted) {
        const url =
          source === "dir"
            ? `file://${encrypted.replicaDir}`
            : `${s3?.endpoint}/${s3?.bucket}/${encrypted.s3Prefix}`;
        const args = ["restore", "-age-identity-file", encrypted.keyFile, "-o", out, url];
        return { cmd: [...walship.cmd, ...args], env: cleanEnv(s3Env) };
      }
      if (tool === "litestream") {
        return source === "dir"
          ? { cmd: [ls.path, "restore", "-o", out, fileUrl], env: cleanEnv() }
          : { cmd: [ls.path, "restore", "-config", cfgPath, "-o", out, lsDbPath], env: cleanEnv() };
      }
      const extra = tool === "walship-verify-none" ? ["--verify", "none"] : [];
      return source === "dir"
        ? { cmd: [...walship.cmd, "restore", ...extra, "-o", out, fileUrl], env: cleanEnv() }
        : { cmd: [...walship.cmd, "restore", ...extra, "-o", out, s3Url], env: cleanEnv(s3Env) };
    };

    const results: ToolResult[] = [];
    for (const source of opts.sources) {
      const figures = new Map<ToolName, RunFigures[]>(tools.map((t) => [t, []]));
      // Negative runs are warm-ups: checked like the others, not counted.
      for (let run = -opts.warmups; run < opts.runs; run++) {
        // Alternate which tool goes first, so neither always inherits the other's cache state.
        const order = run % 2 === 0 ? tools : [...tools].reverse();
        for (const tool of order) {
          const remaining = deadline - Date.now();
          if (remaining <= 0) throw new BenchFailure(`ran out of time (--max-minutes ${opts.maxMinutes})`, 3);
          removeOutput(out);
          const { cmd, env } = command(tool, source);
          const label = `${source} ${tool} ${run < 0 ? "warm-up" : `run ${run + 1}/${opts.runs}`}`;
          const serverCpuBefore = source === "s3" && server ? processCpuS(server.pid) : Number.NaN;
          const m = await measure(cmd, env, Math.min(opts.timeoutMs, remaining), scratch);
          const serverCpuS =
            source === "s3" && server ? processCpuS(server.pid) - serverCpuBefore : Number.NaN;
          if (m.timedOut) {
            throw new BenchFailure(
              `${label}: timed out after ${(m.wallS).toFixed(0)} s\n${tail(m.output)}`,
              3,
            );
          }
          if (m.code !== 0) throw new BenchFailure(`${label}: exited with ${m.code}\n${tail(m.output)}`, 1);
          if (tool === "write-floor") {
            say(
              `${label}: ${m.wallS.toFixed(2)} s to write and fsync ${(meta.dbBytes / 2 ** 20).toFixed(0)} MiB`,
            );
            if (run >= 0) figures.get(tool)!.push({ ...figuresOf(m), serverCpuS, identical: true });
            removeOutput(out);
            continue;
          }
          const checkStarted = performance.now();
          const identical = checkRestore(out, replica, label);
          say(
            `${label}: ${m.wallS.toFixed(2)} s, peak RSS ${m.rssMb.toFixed(0)} MB ` +
              `(verified in ${((performance.now() - checkStarted) / 1000).toFixed(1)} s` +
              `${identical ? ", byte-identical to the source" : ", same content, file bytes differ from the source"})`,
          );
          if (run >= 0) figures.get(tool)!.push({ ...figuresOf(m), serverCpuS, identical });
          removeOutput(out);
        }
      }
      for (const tool of tools) results.push(summarize(source, tool, figures.get(tool)!, meta.dbBytes));
    }

    // Report.
    const dbMiB = meta.dbBytes / 2 ** 20;
    const rows: string[][] = [
      [
        "source",
        "tool",
        "runs",
        "median s",
        "min s",
        "max s",
        "MB/s",
        "peak RSS MB",
        "max RSS MB",
        "CPU s",
        "S3 server CPU s",
      ],
    ];
    const ratios: Record<
      string,
      {
        wall: number;
        rss: number;
        wallToFloor: number;
        verifyNoneWall?: number;
        verifyNoneToFloor?: number;
        ageWall?: number;
        ageToPlain?: number;
        litestreamAgeToPlain?: number;
      }
    > = {};
    const cpuCell = (s: number) => (Number.isNaN(s) ? "-" : s.toFixed(2));
    for (const source of opts.sources) {
      const of = (t: ToolName) => results.find((r) => r.source === source && r.tool === t)!;
      for (const t of tools) {
        const r = of(t);
        rows.push([
          source,
          t,
          String(r.runs.length),
          r.medianWallS.toFixed(2),
          r.minWallS.toFixed(2),
          r.maxWallS.toFixed(2),
          r.mbPerS.toFixed(1),
          r.medianRssMb.toFixed(0),
          r.maxRssMb.toFixed(0),
          cpuCell(r.medianCpuS),
          cpuCell(r.medianServerCpuS),
        ]);
      }
      const w = of("walship");
      const l = of("litestream");
      const floor = of("write-floor").medianWallS;
      const ratio = (name: string, value: number, rss = "") =>
        rows.push([source, name, "", value.toFixed(2), "", "", "", rss, "", "", ""]);
      ratios[source] = {
        wall: w.medianWallS / l.medianWallS,
        rss: w.medianRssMb / l.medianRssMb,
        wallToFloor: w.medianWallS / floor,
      };
      ratio("walship/litestream", ratios[source].wall, ratios[source].rss.toFixed(2));
      ratio("walship/write-floor", ratios[source].wallToFloor);
      if (opts.withVerifyNone) {
        const none = of("walship-verify-none").medianWallS;
        ratios[source].verifyNoneWall = none / l.medianWallS;
        ratios[source].verifyNoneToFloor = none / floor;
        ratio("walship(verify none)/litestream", ratios[source].verifyNoneWall);
        ratio("walship(verify none)/write-floor", ratios[source].verifyNoneToFloor);
      }
      if (encrypted) {
        const wa = of("walship-age");
        const la = of("litestream-age");
        ratios[source].ageWall = wa.medianWallS / la.medianWallS;
        ratios[source].ageToPlain = wa.medianWallS / w.medianWallS;
        ratios[source].litestreamAgeToPlain = la.medianWallS / l.medianWallS;
        ratio(
          "walship-age/litestream-age",
          ratios[source].ageWall,
          (wa.medianRssMb / la.medianRssMb).toFixed(2),
        );
        ratio("walship-age/walship", ratios[source].ageToPlain);
        ratio("litestream-age/litestream", ratios[source].litestreamAgeToPlain);
      }
    }
    console.log(
      `\nrestore of a ${dbMiB.toFixed(1)} MiB database (${meta.rowCount} rows) from 1 snapshot + ${meta.segments} WAL segments ` +
        `in ${meta.walIndexes} WAL indexes (${(meta.walCompressedBytes / 2 ** 20).toFixed(0)} MiB LZ4); walship ran from ${walship.mode}; ` +
        `MB/s = restored DB MiB / median wall s; ratio < 1 means walship is faster / smaller`,
    );
    console.log(table(rows));
    const json = {
      bench: "restore",
      walship: { mode: walship.mode, cmd: walship.cmd },
      litestream: { path: ls.path, version: "0.3.13" },
      rssMethod,
      replica: {
        cache: path.relative(REPO_ROOT, replica.cacheDir),
        fromCache: replica.fromCache,
        s3: replica.s3,
        s3SeedSeconds: replica.s3SeedSeconds,
        ...meta,
      },
      results,
      ratios,
    };
    console.log(JSON.stringify(json));
    return 0;
  } finally {
    endTimeLimit();
    await server?.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

function tail(s: string, lines = 20): string {
  return s.trim().split("\n").slice(-lines).join("\n");
}

let exitCode: number;
try {
  exitCode = await main();
} catch (err) {
  if (err instanceof BenchFailure) {
    console.error(`restore bench: ${err.message}`);
    exitCode = err.exitCode;
  } else {
    console.error(err);
    exitCode = 1;
  }
}
// Keep-alive sockets of the S3 clients would otherwise hold the process open.
process.exit(exitCode);
