/**
 * Where does `walship restore` spend its time? Runs one restore from source under Bun's sampling CPU
 * profiler against the benchmark replica (see make-replica.ts; cached under `.bench/`) and prints the
 * time by phase: reading/downloading objects, LZ4 decoding, WAL frame checks, page writes, fsync,
 * quick_check, planning, and the rest.
 *
 *   bun test/bench/profile-restore.ts [--source dir|s3] [--size-mb 256] [--iterations 1200] [--interval-us 500]
 *
 * Each sample is charged to the nearest frame on its stack that matches a phase rule (leaf first), so a
 * pwrite inside verification counts as a page write and an allocation inside the LZ4 decoder counts as
 * decoding.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { type S3Server, startS3Server } from "../helpers/s3-server.ts";
import {
  DEFAULT_PARAMS,
  ensureReplica,
  parseIntFlag,
  REPO_ROOT,
  type ReplicaParams,
} from "./make-replica.ts";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Phase rules, tried on each frame from the leaf upwards: function name (and file, when given). */
const PHASES: { phase: string; fn: RegExp; file?: RegExp }[] = [
  { phase: "page writes (pwrite, ftruncate)", fn: /^(writeSync|ftruncateSync|writeAt)$/ },
  { phase: "fsync", fn: /^(fsyncSync|syncDir)$/ },
  { phase: "LZ4 decode (incl. xxHash32 content checksum)", fn: /./, file: /lz4-frame\.ts$/ },
  { phase: "LZ4 decode (incl. xxHash32 content checksum)", fn: /^xxHash32$/ },
  { phase: "WAL frame checks (salts, checksums, headers)", fn: /./, file: /\/sqlite\/wal\.ts$/ },
  { phase: "apply bookkeeping (page copies, pending lists)", fn: /./, file: /\/restore\/apply\.ts$/ },
  { phase: "fsync + quick_check", fn: /^syncAndVerify$/ },
  { phase: "planning (listing generations, snapshots, segments)", fn: /./, file: /\/restore\/plan\.ts$/ },
  { phase: "object reads / downloads (file read, S3 GET, HTTP)", fn: /./, file: /\/storage\/(file|s3)\.ts$/ },
  {
    phase: "object reads / downloads (file read, S3 GET, HTTP)",
    fn: /./,
    file: /@smithy|@aws-sdk|node:http/,
  },
  { phase: "object reads / downloads (file read, S3 GET, HTTP)", fn: /^(readFile|transformToByteArray)$/ },
];

function phaseOf(frame: CallFrame): string | null {
  for (const rule of PHASES) {
    if (rule.fn.test(frame.functionName) && (!rule.file || rule.file.test(frame.url))) return rule.phase;
  }
  return null;
}

export function breakdown(profile: CpuProfile): {
  totalMs: number;
  phases: [string, number][];
  top: [string, number][];
} {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const phaseCache = new Map<number, string>();
  const classify = (id: number): string => {
    const cached = phaseCache.get(id);
    if (cached) return cached;
    let phase = "other (start-up, module loading, GC, idle)";
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const node = byId.get(cur);
      const p = node ? phaseOf(node.callFrame) : null;
      if (p) {
        phase = p;
        break;
      }
    }
    phaseCache.set(id, phase);
    return phase;
  };
  const phases = new Map<string, number>();
  const self = new Map<string, number>();
  let totalUs = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    totalUs += dt;
    const phase = classify(id);
    phases.set(phase, (phases.get(phase) ?? 0) + dt);
    const f = byId.get(id)?.callFrame;
    const name = f
      ? `${f.functionName || "(anonymous)"} ${f.url ? `${path.basename(f.url)}:${f.lineNumber + 1}` : "(native)"}`
      : "?";
    self.set(name, (self.get(name) ?? 0) + dt);
  });
  const sorted = (m: Map<string, number>): [string, number][] =>
    [...m.entries()].map(([k, v]): [string, number] => [k, v / 1000]).sort((a, b) => b[1] - a[1]);
  return { totalMs: totalUs / 1000, phases: sorted(phases), top: sorted(self).slice(0, 15) };
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const source = argv.includes("--source") ? argv[argv.indexOf("--source") + 1] : "dir";
  if (source !== "dir" && source !== "s3") throw new Error("--source must be dir or s3");
  const params: ReplicaParams = {
    sizeMb: parseIntFlag(argv, "--size-mb", DEFAULT_PARAMS.sizeMb),
    iterations: parseIntFlag(argv, "--iterations", DEFAULT_PARAMS.iterations),
    seed: parseIntFlag(argv, "--seed", DEFAULT_PARAMS.seed),
    minCheckpointPageCount: parseIntFlag(
      argv,
      "--min-checkpoint-pages",
      DEFAULT_PARAMS.minCheckpointPageCount,
    ),
  };
  const intervalUs = parseIntFlag(argv, "--interval-us", 500);
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "walship-bench-profile-"));
  let server: S3Server | null = null;
  try {
    let url: string;
    const env: Record<string, string | undefined> = { ...process.env, AWS_EC2_METADATA_DISABLED: "true" };
    for (const k of Object.keys(env)) if (/^(AWS_|LITESTREAM_|WALSHIP_)/.test(k)) delete env[k];
    if (source === "s3") {
      server = await startS3Server({ buckets: ["bench"] });
      const s3 = {
        endpoint: server.endpoint,
        bucket: "bench",
        prefix: "restore/app.db",
        accessKeyId: server.accessKeyId,
        secretAccessKey: server.secretAccessKey,
      };
      await ensureReplica(params, { s3 });
      url = `${s3.endpoint}/${s3.bucket}/${s3.prefix}`;
      env.LITESTREAM_ACCESS_KEY_ID = s3.accessKeyId;
      env.LITESTREAM_SECRET_ACCESS_KEY = s3.secretAccessKey;
    } else {
      url = `file://${(await ensureReplica(params)).replicaDir}`;
    }
    const out = path.join(scratch, "restored.db");
    const profDir = path.join(scratch, "prof");
    const cmd = [
      process.execPath,
      "--cpu-prof",
      "--cpu-prof-dir",
      profDir,
      `--cpu-prof-interval=${intervalUs}`,
      path.join(REPO_ROOT, "src/cli/main.ts"),
      "restore",
      "-o",
      out,
      url,
    ];
    const started = performance.now();
    const proc = Bun.spawn(cmd, { env, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
    const timer = setTimeout(() => proc.kill("SIGKILL"), 600_000);
    const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
    clearTimeout(timer);
    const wallMs = performance.now() - started;
    const usage = proc.resourceUsage();
    if (code !== 0) throw new Error(`restore exited with ${code}:\n${stderr}`);
    const file = fs.readdirSync(profDir).find((n) => n.endsWith(".cpuprofile"));
    if (!file) throw new Error(`no .cpuprofile written in ${profDir}`);
    const profile = JSON.parse(fs.readFileSync(path.join(profDir, file), "utf8")) as CpuProfile;
    const b = breakdown(profile);
    const cpuMs = usage ? (Number(usage.cpuTime.user) + Number(usage.cpuTime.system)) / 1000 : Number.NaN;
    console.log(
      `walship restore from ${source} (source, under the profiler): wall ${(wallMs / 1000).toFixed(2)} s, ` +
        `CPU ${(cpuMs / 1000).toFixed(2)} s (user ${((Number(usage?.cpuTime.user) || 0) / 1e6).toFixed(2)} s, ` +
        `sys ${((Number(usage?.cpuTime.system) || 0) / 1e6).toFixed(2)} s), main-thread samples ${(b.totalMs / 1000).toFixed(2)} s`,
    );
    console.log(
      `restored ${(fs.statSync(out).size / 2 ** 20).toFixed(1)} MiB; ${stderr.trim().split("\n").pop()}`,
    );
    console.log("\nphase                                                   ms      %");
    for (const [phase, ms] of b.phases) {
      console.log(
        `${phase.padEnd(52)} ${ms.toFixed(0).padStart(7)} ${((100 * ms) / b.totalMs).toFixed(1).padStart(6)}`,
      );
    }
    console.log("\ntop functions by self time                              ms");
    for (const [name, ms] of b.top) console.log(`${name.padEnd(52)} ${ms.toFixed(0).padStart(7)}`);
    console.log(JSON.stringify({ bench: "restore-profile", source, wallMs, cpuMs, ...b }));
    return 0;
  } finally {
    await server?.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  let code = 1;
  try {
    code = await main();
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
  }
  process.exit(code);
}
