/** `walship version`: the version and commit baked in at build time, and the runtime underneath. */
import pkg from "../../package.json" with { type: "json" };
import { RUNTIME_NAME, runtimeVersion } from "../runtime/host.ts";
import { openDatabase } from "../runtime/sqlite.ts";

// Replaced by build/compile.ts through `define`; absent when running from source.
declare const WALSHIP_VERSION: string | undefined;
declare const WALSHIP_COMMIT: string | undefined;

export function versionInfo(): { version: string; commit: string; runtime: string; sqlite: string } {
  const db = openDatabase(":memory:");
  const sqlite = String(db.query("SELECT sqlite_version()").values()[0]?.[0]);
  db.close();
  return {
    version: typeof WALSHIP_VERSION === "string" ? WALSHIP_VERSION : `${pkg.version}-dev`,
    commit: typeof WALSHIP_COMMIT === "string" ? WALSHIP_COMMIT : "unknown",
    runtime: `${RUNTIME_NAME} ${runtimeVersion()}`,
    sqlite,
  };
}

export function runVersion(out: (line: string) => void): number {
  const v = versionInfo();
  out(`walship ${v.version} (commit ${v.commit}, ${v.runtime}, sqlite ${v.sqlite})`);
  return 0;
}
