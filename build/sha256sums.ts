/** A SHA256SUMS file in the format `sha256sum -c` reads: `HEX  NAME`, names relative to its directory. */
import * as fs from "node:fs";
import * as path from "node:path";

export function sha256File(file: string): string {
  const hasher = new Bun.CryptoHasher("sha256");
  const fd = fs.openSync(file, "r");
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (let n = fs.readSync(fd, buf); n > 0; n = fs.readSync(fd, buf)) hasher.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return hasher.digest("hex");
}

/** Writes `sumsFile` for `files`, which must sit in the same directory; lines sorted by name. */
export function writeSha256Sums(sumsFile: string, files: readonly string[]): void {
  const dir = path.dirname(sumsFile);
  const lines = files
    .map((f) => {
      if (path.dirname(f) !== dir) throw new Error(`${f} is not in ${dir}`);
      return `${sha256File(f)}  ${path.basename(f)}\n`;
    })
    .sort((a, b) => (a.slice(66) < b.slice(66) ? -1 : 1));
  fs.writeFileSync(sumsFile, lines.join(""));
}
