/**
 * Fuzzing the replica URL parser (parseReplicaUrl) with mutated URLs, random endpoint variables and config
 * settings; see targets/url.ts and harness.ts.
 */
import { expect, test } from "bun:test";
import { runTarget, share, testTimeoutMs } from "./harness.ts";
import { verifyUrlCase } from "./targets/url.ts";

test(
  "replica URL parser: only ReplicaUrlError/ConfigError, and an accepted URL gives a well-formed target",
  async () => {
    const r = await runTarget("url");
    expect(r.cases).toBe(r.expected);
    if (r.replaying) return;
    expect(share(r, "rejected-url")).toBeGreaterThan(0.2);
    for (const kind of ["file", "s3-aws", "s3-endpoint"]) expect(share(r, kind)).toBeGreaterThan(0.02);
  },
  testTimeoutMs("url"),
);

test("found by fuzzing: a URL one slash short (or with a tab or CR in its //) never shows its password", () => {
  // redactUrl only strips `user:password@` after a literal `scheme://`, and these URLs are rejected
  // ("must be followed by //", or an unsupported scheme) with the input echoed whole.
  for (const input of [
    "s3:/AKIAEXAMPLE:sup3rSecret9@bkt/db",
    "https:/user:sup3rSecret9@s3.example.com/bkt/db",
    "https:/\t/user:sup3rSecret9@s3.example.com/bkt/db",
    "gcs:/user:sup3rSecret9@bkt/db",
  ]) {
    expect(() => verifyUrlCase({ input, env: {} })).not.toThrow();
  }
});

test("found by fuzzing: a key prefix never keeps a `..` segment (an encoded slash after it)", () => {
  for (const input of ["s3://sfTP://..%2F/", "s3://bkt/..%2F..%2Fdb", "s3://bkt/a/..%2F..%2F..%2Fdb"]) {
    expect(() => verifyUrlCase({ input, env: {} })).not.toThrow();
  }
});
