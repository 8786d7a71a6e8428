/**
 * Fuzzing the capture interface (initShadowWal, copyCommittedFrames) with WAL histories written the way
 * SQLite writes them; see targets/capture.ts for the property and harness.ts for the budget, seeds and
 * replay.
 */
import { expect, test } from "bun:test";
import { runTarget, share, testTimeoutMs } from "./harness.ts";

test(
  "capture: after every capture the shadow WAL is exactly the committed frames, wherever chunks are cut",
  async () => {
    const r = await runTarget("capture");
    expect(r.cases).toBe(r.expected);
    if (r.replaying) return;
    // Every kind of history was reached: transactions longer than a read chunk that rolled back and that
    // committed, pages rewritten in place before a commit, torn shadow tails, restarts.
    for (const label of ["long-rollback", "long-commit", "rewrite", "torn-tail", "restart"]) {
      expect({ label, share: share(r, label) > 0.05 }).toEqual({ label, share: true });
    }
  },
  testTimeoutMs("capture"),
);
