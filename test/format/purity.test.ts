/** src/sqlite and src/format are pure: they take and return bytes and import nothing from the runtime. */
import { expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";

const SRC = path.join(import.meta.dir, "../../src");
// Pure libraries: bytes in, bytes out (@scure/base decodes the Bech32 of age keys).
const ALLOWED_PACKAGES = new Set(["lz4js", "@scure/base"]);

for (const layer of ["sqlite", "format"]) {
  test(`src/${layer} imports only pure modules`, () => {
    for (const file of fs.readdirSync(path.join(SRC, layer))) {
      const text = fs.readFileSync(path.join(SRC, layer, file), "utf8");
      for (const m of text.matchAll(
        /(?:import|export)[^"']*from\s+["']([^"']+)["']|import\(["']([^"']+)["']\)/g,
      )) {
        const spec = m[1] ?? m[2] ?? "";
        const ok =
          spec.startsWith("./") ||
          ALLOWED_PACKAGES.has(spec) ||
          (spec.startsWith("../") && /^\.\.\/(sqlite|format)\//.test(spec));
        expect({ file, spec, ok }).toEqual({ file, spec, ok: true });
      }
      expect(text).not.toMatch(/\bBun\.\w+\(|require\(/);
    }
  });
}
