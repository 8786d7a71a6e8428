import { expect, test } from "bun:test";
import { didYouMean, editDistance } from "../../src/config/did-you-mean.ts";

const keys = ["sync-interval", "retention", "retention-check-interval", "snapshot-interval", "url", "path"];

test("edit distances", () => {
  expect(editDistance("", "")).toBe(0);
  expect(editDistance("", "abc")).toBe(3);
  expect(editDistance("kitten", "sitting")).toBe(3);
  expect(editDistance("url", "uri")).toBe(1);
  expect(editDistance("paht", "path")).toBe(1);
  expect(editDistance("ca", "abc")).toBe(3);
});

test.each([
  ["sync-intervall", "sync-interval"],
  ["synch-interval", "sync-interval"],
  ["retension", "retention"],
  ["snapshotInterval", "snapshot-interval"],
  ["retention_check_interval", "retention-check-interval"],
  ["uri", "url"],
  ["paht", "path"],
  ["pth", "path"],
  ["pa", undefined], // two edits on a short word is too far
  ["bucket", undefined],
])("%s suggests %s", (input, expected) => {
  expect(didYouMean(input, keys)).toBe(expected);
});
