/**
 * Fuzzing the LZ4 frame decoder (decodeLz4Frame with maxOutputBytes) with mutated frames from
 * encodeLz4Frame, hand-built frames and the Litestream fixtures; see targets/lz4.ts and harness.ts.
 */
import { expect, test } from "bun:test";
import { runTarget, share, testTimeoutMs } from "./harness.ts";

test(
  "LZ4 frame decoder: mutated frames decode correctly within the limit or throw Lz4FormatError",
  async () => {
    const r = await runTarget("lz4");
    expect(r.cases).toBe(r.expected);
    if (r.replaying) return;
    expect(share(r, "rejected")).toBeGreaterThan(0.2);
    expect(share(r, "rejected-limit")).toBeGreaterThan(0.01);
    expect(share(r, "decoded-pristine")).toBeGreaterThan(0.01);
    // Re-sealed mutations that still decode: the block decoder met damaged sequences and agreed.
    expect(share(r, "decoded-mutated")).toBeGreaterThan(0.02);
    expect(share(r, "bad-option")).toBeGreaterThan(0.005);
  },
  testTimeoutMs("lz4"),
);
