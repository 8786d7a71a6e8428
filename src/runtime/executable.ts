/**
 * What this process is: the compiled executable or the sources run by Bun or Deno, and how to run it
 * again.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { deno } from "./deno-api.ts";
import { IS_BUN } from "./host.ts";

/** In `bun build --compile` output, the entry point lives in Bun's embedded file system. */
export function isCompiledExecutable(): boolean {
  return IS_BUN && (Bun.main.startsWith("/$bunfs/") || Bun.main.includes("~BUN"));
}

/** The path of the entry point the runtime was started with. */
export function entryPoint(): string {
  if (IS_BUN) return Bun.main;
  const main = deno?.mainModule ?? "";
  return main.startsWith("file:") ? fileURLToPath(main) : main;
}

/** The command line that runs `entry` from source with this runtime (Deno needs its permissions). */
export function sourceCommand(entry: string = entryPoint()): string[] {
  return IS_BUN ? [process.execPath, entry] : [process.execPath, "run", "-A", entry];
}

/** The executable `name` resolves to on PATH, or null. */
export function whichExecutable(name: string): string | null {
  if (IS_BUN) return Bun.which(name);
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    const candidate = path.join(dir || ".", name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {}
  }
  return null;
}

/** Quotes a word for a POSIX shell only when it needs it. */
export function shellWord(word: string): string {
  return /^[\w./:=@%+,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * A command line that runs this walship again from `cwd`, for hints printed to the user: `walship` when
 * that name on PATH is this executable, else its path (relative when it sits below `cwd`); from source,
 * the runtime's binary and the entry point.
 */
export function selfCommand(cwd: string = process.cwd()): string {
  if (!isCompiledExecutable()) return sourceCommand(entryPoint()).map(shellWord).join(" ");
  const exe = process.execPath;
  if (whichExecutable("walship") === exe) return "walship";
  const rel = path.relative(cwd, exe);
  return shellWord(rel.startsWith("..") || path.isAbsolute(rel) ? exe : `./${rel}`);
}
