/** `walship version`: the version and commit baked in at build time, and the runtime underneath. */
import { Database } from "bun:sqlite";
import pkg from "../../package.json" with { type: "json" };

// Replaced by build/compile.ts through `define`; absent when running from source.
declare const WALSHIP_VERSION: string | undefined;
declare const WALSHIP_COMMIT: string | undefined;

export function versionInfo(): { version: string; commit: string; bun: string; sqlite: string } {
  const db = new Database(":memory:");
  const sqlite = String(db.query("SELECT sqlite_version()").values()[0]?.[0]);
  db.close();
  return {
    version: typeof WALSHIP_VERSION === "string" ? WALSHIP_VERSION : `${pkg.version}-dev`,
    commit: typeof WALSHIP_COMMIT === "string" ? WALSHIP_COMMIT : "unknown",
    bun: Bun.version,
    sqlite,
  };
}

export function runVersion(out: (line: string) => void): number {
  const v = versionInfo();
  out(`walship ${v.version} (commit ${v.commit}, bun ${v.bun}, sqlite ${v.sqlite})`);
  return 0;
}
