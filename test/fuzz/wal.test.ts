/**
 * Fuzzing the WAL reader (decodeWalHeader, scanWal, scanFrames) with mutated real WAL files; see
 * targets/wal.ts for the properties and harness.ts for the budget, seeds and replay.
 */
import { expect, test } from "bun:test";
import { runTarget, share, testTimeoutMs } from "./harness.ts";

test(
  "WAL reader: mutated WAL files give a bounded, frame-aligned scan or a WalFormatError",
  async () => {
    const r = await runTarget("wal");
    expect(r.cases).toBe(r.expected);
    if (r.replaying) return;
    // Both sides of the reader were reached: rejected headers, and scans that stop inside the frames.
    expect(share(r, "header-rejected")).toBeGreaterThan(0.05);
    expect(share(r, "committed", "commit-then-partial-txn")).toBeGreaterThan(0.1);
    expect(share(r, "commit-then-partial-txn", "frames-without-commit")).toBeGreaterThan(0.01);
    expect(share(r, "no-valid-frames")).toBeGreaterThan(0.01);
  },
  testTimeoutMs("wal"),
);
