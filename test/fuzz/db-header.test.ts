/**
 * Fuzzing the SQLite database header reader (decodeDbHeader); see targets/db-header.ts and harness.ts.
 */
import { expect, test } from "bun:test";
import { runTarget, share, testTimeoutMs } from "./harness.ts";

test(
  "database header reader: only DbFormatError, and what it accepts matches the header bytes",
  async () => {
    const r = await runTarget("db-header");
    expect(r.cases).toBe(r.expected);
    if (r.replaying) return;
    expect(share(r, "accepted")).toBeGreaterThan(0.1);
    expect(share(r, "rejected-page-size")).toBeGreaterThan(0.05);
    expect(share(r, "rejected")).toBeGreaterThan(0.1);
  },
  testTimeoutMs("db-header"),
);
