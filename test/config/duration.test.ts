import { describe, expect, test } from "bun:test";
import { parseDuration, tryParseDuration } from "../../src/config/duration.ts";

describe("parseDuration (Go time.ParseDuration)", () => {
  test.each([
    ["0", 0],
    ["-0", 0],
    ["+0", 0],
    ["1s", 1000],
    ["10s", 10_000],
    ["1m", 60_000],
    ["24h", 86_400_000],
    ["1h30m", 5_400_000],
    ["1h30m15s", 5_415_000],
    ["1.5m", 90_000],
    ["1.s", 1000],
    [".5s", 500],
    ["300ms", 300],
    ["1500us", 1.5],
    ["1500\u00b5s", 1.5],
    ["1500\u03bcs", 1.5],
    ["2000000ns", 2],
    ["1ns", 0.000001],
    ["-1.5h", -5_400_000],
    ["+2s", 2000],
    ["1h1h", 7_200_000],
    ["0.0000000001s", 0],
  ])("%s is %d ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  test.each([
    ["", "it is empty"],
    ["-", "it is empty"],
    ["10", "a unit is missing"],
    ["1d", 'unknown unit "d"'],
    ["1 s", 'unknown unit " s"'],
    ["s", 'expected a number at "s"'],
    [".s", 'expected a number at ".s"'],
    ["1s2", "a unit is missing"],
    ["1S", 'unknown unit "S"'],
  ])("%j is rejected: %s", (text, problem) => {
    expect(() => parseDuration(text)).toThrow(SyntaxError);
    expect(() => parseDuration(text)).toThrow(`Cannot parse duration "${text}": ${problem}`);
  });

  test("overflow past int64 nanoseconds is a RangeError", () => {
    expect(() => parseDuration("2562048h")).toThrow(RangeError);
    expect(parseDuration("2562047h")).toBe(2_562_047 * 3_600_000);
    expect(tryParseDuration("9999999999h")).toEqual({
      problem: "it is longer than about 292 years",
      overflow: true,
    });
  });
});
