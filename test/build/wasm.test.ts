/** The committed WebAssembly kernels are what build/wasm.ts makes from build/wasm/kernels.c, byte for byte. */
import { expect, test } from "bun:test";
import * as fs from "node:fs";
import { buildWasm, findClang, GENERATED, generatedModule } from "../../build/wasm.ts";

const clang = findClang();
if (!clang && !process.env.CI) {
  console.warn(
    "SKIPPED: the WebAssembly rebuild check needs clang-14. Try: apt-get install -y clang-14 lld-14",
  );
}

test.skipIf(!clang && !process.env.CI)(
  "src/format/wasm-kernels.generated.ts is a fresh build of build/wasm/*.c",
  async () => {
    expect(clang, "clang-14 is missing (.ci/run installs clang-14 and lld-14)").not.toBeNull();
    const text = generatedModule(await buildWasm(clang!));
    expect(fs.readFileSync(GENERATED, "utf8") === text).toBe(true);
  },
  60_000,
);
