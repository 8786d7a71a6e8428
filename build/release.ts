/**
 * `npm run release` (`bun build/release.ts [--target linux-x64 ...] [--out DIR]`): one archive per
 * target in dist/release/, `walship-VERSION-TARGET.tar.gz` (`.zip` for Windows), each holding the
 * executable, README.md, LICENSE and etc/, a SHA256SUMS that `sha256sum -c` reads, and install.sh.
 *
 * Reproducible where Bun allows: each executable is built under its final file name (Bun embeds it),
 * and the archives carry a fixed time (SOURCE_DATE_EPOCH, else the last commit's), owner and order.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import pkg from "../package.json" with { type: "json" };
import { normalizeModes, writeTarGz, writeZip } from "./archive.ts";
import { type CompileOptions, compile } from "./compile.ts";
import { writeSha256Sums } from "./sha256sums.ts";

/** Archive name suffix → Bun's compile target. */
export const RELEASE_PLATFORMS = {
  "linux-x64": "bun-linux-x64",
  "linux-x64-musl": "bun-linux-x64-musl",
  "linux-arm64": "bun-linux-arm64",
  "linux-arm64-musl": "bun-linux-arm64-musl",
  "darwin-x64": "bun-darwin-x64",
  "darwin-arm64": "bun-darwin-arm64",
  "windows-x64": "bun-windows-x64",
} as const satisfies Record<string, NonNullable<CompileOptions["target"]>>;

export type ReleasePlatform = keyof typeof RELEASE_PLATFORMS;

const ROOT = path.join(import.meta.dir, "..");
export const DEFAULT_OUT = path.join(ROOT, "dist/release");

export interface ReleaseOptions {
  out?: string;
  /** Only these platforms (all by default); SHA256SUMS then covers only them. */
  platforms?: readonly ReleasePlatform[];
  /** Seconds since 1970 stamped on every archive entry. */
  epoch?: number;
  log?: (line: string) => void;
}

export interface ReleaseResult {
  archives: string[];
  sums: string;
}

export function archiveName(platform: ReleasePlatform, version = pkg.version): string {
  return `walship-${version}-${platform}${platform.startsWith("windows") ? ".zip" : ".tar.gz"}`;
}

/** SOURCE_DATE_EPOCH (the reproducible-builds convention), else the last commit's time. */
export function sourceDateEpoch(): number {
  const env = process.env.SOURCE_DATE_EPOCH;
  if (env !== undefined && /^\d+$/.test(env)) return Number(env);
  const r = Bun.spawnSync(["git", "log", "-1", "--format=%ct"], { cwd: ROOT, stderr: "ignore" });
  const t = Number(r.stdout.toString().trim());
  // Zip's DOS times start in 1980: without git, that is the fixed fallback.
  return r.exitCode === 0 && t > 315532800 ? t : 315532800;
}

export async function release(opts: ReleaseOptions = {}): Promise<ReleaseResult> {
  const out = opts.out ?? DEFAULT_OUT;
  const platforms = opts.platforms ?? (Object.keys(RELEASE_PLATFORMS) as ReleasePlatform[]);
  const epoch = opts.epoch ?? sourceDateEpoch();
  const log = opts.log ?? (() => {});
  fs.mkdirSync(out, { recursive: true });
  const archives: string[] = [];
  for (const platform of platforms) {
    const started = performance.now();
    const archive = path.join(out, archiveName(platform));
    await buildArchive(platform, out, archive, epoch);
    archives.push(archive);
    const ms = Math.round(performance.now() - started);
    log(`${path.basename(archive)}  ${fs.statSync(archive).size} bytes  ${ms} ms`);
  }
  const sums = path.join(out, "SHA256SUMS");
  writeSha256Sums(sums, archives);
  // Published beside the archives: it picks the host's archive and checks it against SHA256SUMS.
  fs.copyFileSync(path.join(ROOT, "install.sh"), path.join(out, "install.sh"));
  fs.chmodSync(path.join(out, "install.sh"), 0o755);
  return { archives, sums };
}

async function buildArchive(
  platform: ReleasePlatform,
  out: string,
  archive: string,
  epoch: number,
): Promise<void> {
  const name = path.basename(archive).replace(/\.(tar\.gz|zip)$/, "");
  const stage = path.join(out, `.stage-${platform}`);
  const dir = path.join(stage, name);
  fs.rmSync(stage, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, "etc"), { recursive: true });
  try {
    const exe = platform.startsWith("windows") ? "walship.exe" : "walship";
    await compile({ outfile: path.join(dir, exe), target: RELEASE_PLATFORMS[platform] });
    for (const file of ["README.md", "LICENSE"]) fs.copyFileSync(path.join(ROOT, file), path.join(dir, file));
    for (const file of ["walship.yml", "walship.service"]) {
      fs.copyFileSync(path.join(ROOT, "build/etc", file), path.join(dir, "etc", file));
    }
    normalizeModes(stage, new Set([exe]));
    if (archive.endsWith(".zip")) writeZip(stage, name, archive, epoch);
    else writeTarGz(stage, name, archive, epoch);
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}

function parseArgs(args: string[]): ReleaseOptions {
  const platforms: ReleasePlatform[] = [];
  let out: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const value = args[++i];
    if (arg === "--out" && value) out = path.resolve(value);
    else if (arg === "--target" && value && value in RELEASE_PLATFORMS)
      platforms.push(value as ReleasePlatform);
    else {
      console.error(
        `usage: bun build/release.ts [--target ${Object.keys(RELEASE_PLATFORMS).join("|")}]... [--out DIR]`,
      );
      process.exit(2);
    }
  }
  return { out, platforms: platforms.length ? platforms : undefined };
}

if (import.meta.main) {
  const opts = parseArgs(process.argv.slice(2));
  const started = performance.now();
  const { sums } = await release({ ...opts, log: (line) => console.log(line) });
  const s = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`${path.relative(process.cwd(), sums)} written; ${s} s in all`);
}
