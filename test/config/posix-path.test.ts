import { expect, test } from "bun:test";
import { cleanPath, expandPath, resolvePath } from "../../src/config/posix-path.ts";

test.each([
  ["", "."],
  [".", "."],
  ["a/b/", "a/b"],
  ["//a//b", "/a/b"],
  ["/../a", "/a"],
  ["a/../../b", "../b"],
  ["./a/./b/..", "a"],
  ["/", "/"],
])("cleanPath(%j) is %j", (input, expected) => {
  expect(cleanPath(input)).toBe(expected);
});

test("resolvePath and expandPath", () => {
  expect(resolvePath("/srv", "db/app.db")).toBe("/srv/db/app.db");
  expect(resolvePath("/srv", "/abs/../x")).toBe("/x");
  const dirs = { cwd: "/srv", home: "/home/u/" };
  expect(expandPath("~", dirs)).toBe("/home/u");
  expect(expandPath("~/a", dirs)).toBe("/home/u/a");
  expect(expandPath("~user/a", dirs)).toBe("/srv/~user/a");
  expect(expandPath("../a", dirs)).toBe("/a");
});
