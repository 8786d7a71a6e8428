/**
 * Which runtime runs walship, decided once at load: Bun when its global is there (the default, and the
 * only runtime of the compiled executable), else Deno. Also what only the runtime knows: its name and
 * version, the entry point, and how to run these sources again.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { deno } from "./deno-api.ts";

export const IS_BUN = typeof Bun !== "undefined";

export type RuntimeName = "bun" | "deno";

export const RUNTIME_NAME: RuntimeName = IS_BUN ? "bun" : "deno";

/** The runtime's own version: "1.4.5" under Bun, "2.9.6" under Deno. */
export function runtimeVersion(): string {
  return IS_BUN ? Bun.version : (deno?.version.deno ?? "unknown");
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
