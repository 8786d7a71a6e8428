// biome-ignore-all lint/suspicious/noTemplateCurlyInString: literal ${VAR} text is the input under test
import { describe, expect, test } from "bun:test";
import { expandEnv } from "../../src/config/env-expand.ts";

const vars: Record<string, string> = {
  HOME: "/home/u",
  A: "a",
  A_1: "a1",
  "1": "one",
  $: "pid",
  "*": "star",
  "A:-x": "literal",
  EMPTY: "",
};
const lookup = (name: string) => vars[name];

describe("expandEnv (Go os.ExpandEnv)", () => {
  test.each([
    ["$HOME/x", "/home/u/x"],
    ["${HOME}/x", "/home/u/x"],
    ["$A_1-", "a1-"],
    ["${A}_1", "a_1"],
    ["$UNSET.", "."],
    ["${UNSET}", ""],
    ["$EMPTY!", "!"],
    ["$1", "one"],
    ["$10", "one0"],
    ["${1}", "one"],
    ["$$", "pid"],
    ["$*", "star"],
    ["${*}", "star"],
    ["${A:-x}", "literal"],
    ["a${}b", "ab"],
    ["a${A", "aA"],
    ["${", ""],
    ["cost: 5$", "cost: 5$"],
    ["$ A", "$ A"],
    ["$/path", "$/path"],
    ["$é", "$é"],
    ["no dollars", "no dollars"],
    ["# comment $A", "# comment a"],
    ["$A$A${A}", "aaa"],
  ])("%j becomes %j", (input, expected) => {
    expect(expandEnv(input, lookup)).toBe(expected);
  });
  test("a password with $ is mangled, as in Litestream", () => {
    expect(expandEnv("secret-access-key: ab$cd", lookup)).toBe("secret-access-key: ab");
  });
});
