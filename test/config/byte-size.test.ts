import { describe, expect, test } from "bun:test";
import { formatByteSize, tryParseByteSize } from "../../src/config/byte-size.ts";

describe("byte sizes", () => {
  test("binary and decimal units, any case, with or without a space", () => {
    expect(tryParseByteSize("256MiB")).toEqual({ bytes: 256 * 2 ** 20 });
    expect(tryParseByteSize("256mib")).toEqual({ bytes: 256 * 2 ** 20 });
    expect(tryParseByteSize("1.5 GiB")).toEqual({ bytes: 1.5 * 2 ** 30 });
    expect(tryParseByteSize("500MB")).toEqual({ bytes: 500e6 });
    expect(tryParseByteSize("64KB")).toEqual({ bytes: 64_000 });
    expect(tryParseByteSize("4096")).toEqual({ bytes: 4096 });
    expect(tryParseByteSize("10B")).toEqual({ bytes: 10 });
  });
  test("what is not a size says why", () => {
    expect(tryParseByteSize("lots")).toEqual({ problem: '"lots" is not a size' });
    expect(tryParseByteSize("-1MiB")).toEqual({ problem: '"-1MiB" is not a size' });
    expect(tryParseByteSize("3 parsecs")).toMatchObject({
      problem: expect.stringContaining('unknown unit "parsecs"'),
    });
    expect(tryParseByteSize("99999999999TiB")).toMatchObject({
      problem: expect.stringContaining("too large"),
    });
  });
  test("sizes are shown in the largest binary unit that divides them", () => {
    expect(formatByteSize(256 * 2 ** 20)).toBe("256MiB");
    expect(formatByteSize(2 ** 30)).toBe("1GiB");
    expect(formatByteSize(3 * 2 ** 10)).toBe("3KiB");
    expect(formatByteSize(1000)).toBe("1000B");
  });
});
