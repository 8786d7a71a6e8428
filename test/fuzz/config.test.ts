/**
 * Fuzzing the config parser (parseConfig) with mutated configs and random environments; see
 * targets/config.ts and harness.ts.
 */
import { expect, test } from "bun:test";
import { runTarget, share, testTimeoutMs } from "./harness.ts";
import { verifyConfigCase } from "./targets/config.ts";

test(
  "config parser: only ConfigError, and an accepted config is well-formed",
  async () => {
    const r = await runTarget("config");
    expect(r.cases).toBe(r.expected);
    if (r.replaying) return;
    expect(share(r, "rejected")).toBeGreaterThan(0.2);
    expect(share(r, "accepted-with-dbs")).toBeGreaterThan(0.05);
  },
  testTimeoutMs("config"),
);

test("found by fuzzing: a dir pattern that cannot compile is a ConfigError, not a later SyntaxError", () => {
  // parseConfig accepted this, then coversFile threw "Invalid regular expression: range out of order in
  // character class" from `walship replicate` and `walship restore -config`.
  for (const pattern of ["[z-a]", "[~-a]*.db"]) {
    const text = `dbs:\n  - dir: /var/lib/tenants\n    pattern: "${pattern}"\n    replicas:\n      - url: s3://bkt/t\n`;
    expect(verifyConfigCase({ text, env: {}, expandEnv: false })).toBe("rejected");
  }
});
