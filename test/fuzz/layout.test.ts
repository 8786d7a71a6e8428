/**
 * Fuzzing the replica layout name parsers (snapshot, WAL segment, shadow WAL, generation names) with random
 * strings and mutated valid names; see targets/layout.ts and harness.ts.
 */
import { expect, test } from "bun:test";
import { runTarget, share, testTimeoutMs } from "./harness.ts";

test(
  "layout names: whatever parses re-formats to the same name, with 32-bit indexes and offsets",
  async () => {
    const r = await runTarget("layout");
    expect(r.cases).toBe(r.expected);
    if (r.replaying) return;
    for (const kind of ["snapshot", "segment", "shadow", "generation"]) {
      expect(share(r, kind)).toBeGreaterThan(0.01);
    }
    expect(share(r, "rejected")).toBeGreaterThan(0.3);
  },
  testTimeoutMs("layout"),
);
