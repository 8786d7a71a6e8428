/** What this process is: the compiled executable or the sources run by Bun or Deno, and how to run it again. */
import * as path from "node:path";
import { entryPoint, IS_BUN, sourceCommand, whichExecutable } from "./host.ts";

/** In `bun build --compile` output, the entry point lives in Bun's embedded file system. */
export function isCompiledExecutable(): boolean {
  return IS_BUN && (Bun.main.startsWith("/$bunfs/") || Bun.main.includes("~BUN"));
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
