import { expect, test } from "bun:test";
import { GarbagePacer } from "../../src/runtime/garbage.ts";

test("a collection after every so many bytes received, whatever the sizes of the pieces", () => {
  let collections = 0;
  const pacer = new GarbagePacer(1000, () => collections++);
  for (let i = 0; i < 99; i++) pacer.count(30); // 2,970 bytes
  expect(collections).toBe(2);
  pacer.count(5000);
  expect(collections).toBe(3);
});
