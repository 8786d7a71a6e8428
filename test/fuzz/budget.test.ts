/**
 * The fuzz set's case budget (the table in harness.ts): at least 100,000 cases at the default scale. Each
 * target's own test asserts that it ran exactly its share (casesFor), so together they ran the total.
 */
import { expect, test } from "bun:test";
import { casesFor, fuzzScale, MIN_TOTAL_CASES, TARGETS, type TargetName } from "./harness.ts";

test("the fuzz targets run at least 100,000 cases in all at the default scale", () => {
  const names = Object.keys(TARGETS) as TargetName[];
  const total = names.reduce((n, t) => n + TARGETS[t].cases, 0);
  expect(total).toBeGreaterThanOrEqual(MIN_TOTAL_CASES);
  for (const t of names) expect(casesFor(t)).toBe(Math.max(1, Math.round(TARGETS[t].cases * fuzzScale())));
});
