/**
 * Which runtime runs walship, decided once at load: Bun when its global is there (the default, and the
 * only runtime of the compiled executable), else Deno. Kept small: worker threads load it too.
 */
import { deno } from "./deno-api.ts";

export const IS_BUN = typeof Bun !== "undefined";

export type RuntimeName = "bun" | "deno";

export const RUNTIME_NAME: RuntimeName = IS_BUN ? "bun" : "deno";

/** The runtime's own version: "1.4.5" under Bun, "2.9.6" under Deno. */
export function runtimeVersion(): string {
  return IS_BUN ? Bun.version : (deno?.version.deno ?? "unknown");
}
