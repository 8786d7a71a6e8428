import { describe, expect, test } from "bun:test";
import { MAX_WAL_INDEX } from "../../src/format/layout.ts";
import { type ContinuityFacts, decideContinuity } from "../../src/replicate/continuity.ts";

/** A shadow WAL that continues the real one: one frame in, same header, same last frame. */
const steady: ContinuityFacts = {
  forcedReason: "",
  generation: "0123456789abcdef",
  index: 3,
  shadowSize: 32 + 4120,
  walSize: 32 + 2 * 4120,
  sameHeader: true,
  sameLastFrame: true,
};

describe("continuity", () => {
  test("a shadow WAL that matches the real one continues", () => {
    expect(decideContinuity(steady)).toEqual({ kind: "continue" });
    // A shadow WAL with only its header continues too, whatever the frames say.
    expect(decideContinuity({ ...steady, shadowSize: 32, sameLastFrame: true })).toEqual({
      kind: "continue",
    });
  });

  test("another header means SQLite restarted the WAL: a new index, not a new generation", () => {
    expect(decideContinuity({ ...steady, sameHeader: false, walSize: 32 })).toEqual({ kind: "restart" });
  });

  const newGeneration: [string, Partial<ContinuityFacts>, string][] = [
    [
      "a reason given elsewhere wins over everything",
      { forcedReason: "machine restarted while replicating" },
      "machine restarted while replicating",
    ],
    ["no generation yet", { generation: "", index: null }, "no generation exists"],
    ["the generation has no shadow file", { index: null }, "no shadow wal"],
    ["the index ran out", { index: MAX_WAL_INDEX }, "max index exceeded"],
    ["a shadow file shorter than a WAL header", { shadowSize: 0 }, "short shadow wal"],
    ["the real WAL is shorter than the shadow", { walSize: 32 }, "wal truncated by another process"],
    [
      "the real WAL holds another frame where the shadow ends",
      { sameLastFrame: false },
      "wal overwritten by another process",
    ],
  ];
  for (const [name, change, reason] of newGeneration) {
    test(`new generation: ${name}`, () => {
      expect(decideContinuity({ ...steady, ...change })).toEqual({ kind: "new-generation", reason });
    });
  }
});
