/**
 * What a file that should be an SQLite database holds, told from its first bytes, so that a wrong file
 * is refused with what was found instead of SQLite's bare "file is not a database". Pure: takes bytes.
 */
import { isAgeFile } from "../format/age.ts";
import { hasSqliteMagic } from "./db-header.ts";
import { WAL_MAGIC_BE, WAL_MAGIC_LE } from "./wal.ts";

/** How many leading bytes identifyDatabaseFile looks at (fewer when the file is shorter). */
export const FILE_KIND_PROBE_BYTES = 512;

export type FileKind =
  /** A 0-byte file: SQLite treats it as an empty database and writes the header on the first write. */
  | "empty"
  | "sqlite"
  | "zero-filled"
  | "sqlite-wal"
  | "sqlite-journal"
  | "lz4"
  | "gzip"
  | "zip"
  | "xz"
  | "zstd"
  | "bzip2"
  | "age"
  | "text"
  | "binary";

export interface FileIdentity {
  kind: FileKind;
  /** Whether SQLite can open it as a database. */
  database: boolean;
  /** What was found, for an error message: "gzip data", "a zero-filled header", ... */
  description: string;
}

const DESCRIPTIONS: Record<FileKind, string> = {
  empty: "an empty file",
  sqlite: "an SQLite database",
  "zero-filled": "a zero-filled header",
  "sqlite-wal": "an SQLite WAL file",
  "sqlite-journal": "an SQLite rollback journal",
  lz4: "an LZ4 frame (a replica's snapshot or WAL segment)",
  gzip: "gzip data",
  zip: "a zip archive",
  xz: "xz data",
  zstd: "zstd data",
  bzip2: "bzip2 data",
  age: "an age-encrypted file",
  text: "text",
  binary: "unrecognised binary data",
};

/** Leading bytes of each recognised kind (besides SQLite's own, the age intro and zeros). */
const SIGNATURES: [FileKind, number[]][] = [
  ["sqlite-journal", [0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7]],
  ["lz4", [0x04, 0x22, 0x4d, 0x18]],
  ["gzip", [0x1f, 0x8b]],
  ["zip", [0x50, 0x4b, 0x03, 0x04]],
  ["xz", [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ["zstd", [0x28, 0xb5, 0x2f, 0xfd]],
  ["bzip2", [0x42, 0x5a, 0x68]],
];

/** `head` is the file's first bytes (FILE_KIND_PROBE_BYTES, or all of a shorter file); `size` its size. */
export function identifyDatabaseFile(head: Uint8Array, size: number): FileIdentity {
  const kind = kindOf(head, size);
  return { kind, database: kind === "empty" || kind === "sqlite", description: DESCRIPTIONS[kind] };
}

function kindOf(head: Uint8Array, size: number): FileKind {
  if (size === 0) return "empty";
  if (hasSqliteMagic(head)) return "sqlite";
  const header = head.subarray(0, 16);
  if (header.every((b) => b === 0)) return "zero-filled";
  if (head.length >= 4) {
    const magic = ((head[0]! << 24) | (head[1]! << 16) | (head[2]! << 8) | head[3]!) >>> 0;
    if (magic === WAL_MAGIC_LE || magic === WAL_MAGIC_BE) return "sqlite-wal";
  }
  for (const [kind, sig] of SIGNATURES) {
    if (head.length >= sig.length && sig.every((b, i) => head[i] === b)) return kind;
  }
  if (isAgeFile(head)) return "age";
  return isText(head) ? "text" : "binary";
}

/** No NUL and almost only printable ASCII, whitespace or UTF-8 bytes: what a config or CSV looks like. */
function isText(b: Uint8Array): boolean {
  let odd = 0;
  for (const c of b) {
    if (c === 0) return false;
    if (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) odd++;
  }
  return odd * 20 <= b.length;
}
