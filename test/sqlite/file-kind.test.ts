import { describe, expect, test } from "bun:test";
import { gzipSync } from "node:zlib";
import { FILE_KIND_PROBE_BYTES, type FileKind, identifyDatabaseFile } from "../../src/sqlite/file-kind.ts";

const text = (s: string) => new TextEncoder().encode(s);
const bytes = (...b: number[]) => new Uint8Array([...b, ...new Array(32).fill(7)]);

describe("what a database path holds, from its first bytes", () => {
  test("an empty file and an SQLite header are databases", () => {
    expect(identifyDatabaseFile(new Uint8Array(0), 0)).toMatchObject({ kind: "empty", database: true });
    const header = new Uint8Array(100);
    header.set(text("SQLite format 3\0"));
    expect(identifyDatabaseFile(header, 4096)).toMatchObject({ kind: "sqlite", database: true });
  });

  test("anything else is named", () => {
    const cases: [Uint8Array, FileKind, string][] = [
      [new Uint8Array(64), "zero-filled", "a zero-filled header"],
      [text("SQLite format 3 (no NUL)"), "text", "text"],
      [text("SQLite fo"), "text", "text"],
      [text("name,qty\nwidget,3\n"), "text", "text"],
      [gzipSync(text("x")), "gzip", "gzip data"],
      [bytes(0x50, 0x4b, 0x03, 0x04), "zip", "a zip archive"],
      [bytes(0x04, 0x22, 0x4d, 0x18), "lz4", "an LZ4 frame (a replica's snapshot or WAL segment)"],
      [bytes(0x37, 0x7f, 0x06, 0x82), "sqlite-wal", "an SQLite WAL file"],
      [bytes(0x37, 0x7f, 0x06, 0x83), "sqlite-wal", "an SQLite WAL file"],
      [bytes(0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7), "sqlite-journal", "an SQLite rollback journal"],
      [bytes(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00), "xz", "xz data"],
      [bytes(0x28, 0xb5, 0x2f, 0xfd), "zstd", "zstd data"],
      [text("BZh91AY&SY"), "bzip2", "bzip2 data"],
      [text("age-encryption.org/v1\n-> X25519 abc\n"), "age", "an age-encrypted file"],
      [bytes(0x01, 0x02, 0x00, 0x9f), "binary", "unrecognised binary data"],
    ];
    for (const [head, kind, description] of cases) {
      expect(identifyDatabaseFile(head, head.length)).toEqual({
        kind,
        database: false,
        description,
      });
    }
  });

  test("a probe is at most FILE_KIND_PROBE_BYTES; a larger file is judged by them", () => {
    expect(FILE_KIND_PROBE_BYTES).toBeGreaterThanOrEqual(100);
    expect(identifyDatabaseFile(text("a".repeat(FILE_KIND_PROBE_BYTES)), 10_000_000).kind).toBe("text");
  });
});
