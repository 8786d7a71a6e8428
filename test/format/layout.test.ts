import { describe, expect, test } from "bun:test";
import {
  compareIndexOffset,
  formatPos,
  isGenerationName,
  newGenerationName,
  parseShadowWalName,
  parseSnapshotName,
  parseWalSegmentName,
  snapshotName,
  snapshotPath,
  walSegmentName,
  walSegmentPath,
} from "../../src/format/layout.ts";

describe("layout names", () => {
  test("snapshot and WAL segment names round-trip", () => {
    for (const [i, o] of [
      [0, 0],
      [1, 0x1038],
      [0x7fffffff, 0xffffffff],
    ] as const) {
      expect(parseSnapshotName(snapshotName(i))).toEqual({ index: i });
      expect(parseWalSegmentName(walSegmentName(i, o))).toEqual({ index: i, offset: o });
    }
    expect(walSegmentName(1, 4152)).toBe("00000001_00001038.wal.lz4");
    expect(snapshotName(0)).toBe("00000000.snapshot.lz4");
  });

  test("names that are not ours are ignored, as Litestream does", () => {
    for (const bad of [
      "00000000.snapshot.lz4.tmp",
      "0000000.snapshot.lz4",
      "0000000A.snapshot.lz4",
      "00000000.wal.lz4",
      "00000000_0000000.wal.lz4",
      "../00000000_00000000.wal.lz4",
    ]) {
      expect(parseSnapshotName(bad)).toBeNull();
      expect(parseWalSegmentName(bad)).toBeNull();
    }
    expect(parseShadowWalName("00000002.wal")).toEqual({ index: 2 });
    expect(parseShadowWalName("00000002.wal.tmp")).toBeNull();
  });

  test("generation names are 16 lowercase hex characters", () => {
    const g = newGenerationName((n) => new Uint8Array(n).fill(0xab));
    expect(g).toBe("abababababababab");
    expect(isGenerationName(g)).toBe(true);
    expect(isGenerationName("ABABABABABABABAB")).toBe(false);
    expect(isGenerationName("abababababababa")).toBe(false);
  });

  test("paths under a root, including the empty root", () => {
    expect(snapshotPath("db", "0123456789abcdef", 0)).toBe(
      "db/generations/0123456789abcdef/snapshots/00000000.snapshot.lz4",
    );
    expect(walSegmentPath("", "0123456789abcdef", 1, 4152)).toBe(
      "generations/0123456789abcdef/wal/00000001_00001038.wal.lz4",
    );
  });

  test("positions format as Litestream prints them and sort by index then offset", () => {
    expect(formatPos({ generation: "0123456789abcdef", index: 1, offset: 4152 })).toBe(
      "0123456789abcdef/00000001:4152",
    );
    const sorted = [
      { index: 2, offset: 0 },
      { index: 1, offset: 4152 },
      { index: 1, offset: 0 },
    ].sort(compareIndexOffset);
    expect(sorted).toEqual([
      { index: 1, offset: 0 },
      { index: 1, offset: 4152 },
      { index: 2, offset: 0 },
    ]);
  });
});
