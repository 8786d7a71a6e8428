/**
 * Compiles walship into one executable: `bun build/compile.ts [--target bun-linux-arm64 ...] [--outfile PATH]`.
 * The executable never reads `.env` or `bunfig.toml` from the working directory: a tool that holds S3
 * keys must not let a stray file change its credentials or behaviour.
 */
import * as path from "node:path";
import type { BunPlugin } from "bun";
import pkg from "../package.json" with { type: "json" };

/** Release targets Bun can cross-compile for (it fetches each target's runtime from the npm registry). */
export const RELEASE_TARGETS = [
  "bun-linux-x64",
  "bun-linux-arm64",
  "bun-linux-x64-musl",
  "bun-linux-arm64-musl",
  "bun-darwin-arm64",
  "bun-darwin-x64",
  "bun-windows-x64",
] as const;

export interface CompileOptions {
  outfile: string;
  target?: (typeof RELEASE_TARGETS)[number];
}

const ROOT = path.join(import.meta.dir, "..");

/**
 * ssh2's optional native addons (sshcrypto, cpu-features) are built by node-gyp for the build host: in
 * another target's executable they are dead weight that fails to load, and in any they make the bytes
 * depend on the host's compiler. ssh2 catches the failed require and uses node:crypto and its own
 * JavaScript instead, so every target gets that.
 */
const noNativeAddons: BunPlugin = {
  name: "no-native-addons",
  setup(build) {
    build.onResolve({ filter: /\.node$/ }, (args) => ({ path: args.path, namespace: "no-native-addon" }));
    build.onLoad({ filter: /.*/, namespace: "no-native-addon" }, () => ({
      contents: 'throw new Error("native addons are not embedded in the walship executable");',
      loader: "js",
    }));
  },
};

async function gitCommit(): Promise<string> {
  try {
    const proc = Bun.spawn(["git", "rev-parse", "--short=12", "HEAD"], {
      cwd: ROOT,
      stdout: "pipe",
      stderr: "ignore",
    });
    const out = (await new Response(proc.stdout).text()).trim();
    return (await proc.exited) === 0 && out ? out : "unknown";
  } catch {
    return "unknown";
  }
}

export async function compile(opts: CompileOptions): Promise<void> {
  const result = await Bun.build({
    // Worker threads are entry points of their own (see src/runtime/worker-thread.ts).
    entrypoints: [
      path.join(ROOT, "src/cli/main.ts"),
      path.join(ROOT, "src/restore/decode-worker.ts"),
      path.join(ROOT, "src/storage/download-worker.ts"),
    ],
    minify: true,
    // Size against start-up (issue 20, measured on linux-x64): bytecode made the executable 11.2 MB
    // larger than an empty Bun one, against 2.0 MB without. Code splitting gets most of bytecode's
    // start-up back: the storage SDKs (AWS, Azure, ssh2, age) are imported lazily, so their chunks
    // are parsed only by a command that uses them; `version` and `help` stay within a few ms.
    bytecode: false,
    format: "esm",
    splitting: true,
    plugins: [noNativeAddons],
    define: {
      WALSHIP_VERSION: JSON.stringify(pkg.version),
      WALSHIP_COMMIT: JSON.stringify(await gitCommit()),
    },
    compile: {
      outfile: opts.outfile,
      ...(opts.target ? { target: opts.target } : {}),
      autoloadDotenv: false,
      autoloadBunfig: false,
    },
  });
  if (!result.success) {
    for (const log of result.logs) console.error(log);
    throw new Error("build failed");
  }
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const target = args.includes("--target") ? args[args.indexOf("--target") + 1] : undefined;
  if (target && !(RELEASE_TARGETS as readonly string[]).includes(target)) {
    console.error(`unknown target ${target}; one of: ${RELEASE_TARGETS.join(", ")}`);
    process.exit(2);
  }
  const outfile = args.includes("--outfile")
    ? args[args.indexOf("--outfile") + 1]!
    : path.join(ROOT, "dist", target ? `walship-${target.slice(4)}` : "walship");
  await compile({ outfile, target: target as CompileOptions["target"] });
  console.log(`built ${path.relative(process.cwd(), outfile) || outfile}`);
}
