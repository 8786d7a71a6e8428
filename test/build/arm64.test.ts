/**
 * The linux-arm64 executable (what a Raspberry Pi runs), cross-compiled here and run under qemu's user
 * mode with Debian's arm64 glibc: it starts, and it restores the Litestream fixture to the same bytes as
 * walship from source. Needs qemu-user-static and libc6-arm64-cross (.ci/run installs both); in CI a
 * missing one fails, elsewhere the test skips and says why.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { compile } from "../../build/compile.ts";
import { runCli } from "../helpers/cli.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

const FIXTURE = path.join(import.meta.dir, "../fixtures/litestream-0.3.13");
const QEMU = Bun.which("qemu-aarch64-static");
/** Debian's arm64 glibc and loader, which the executable's interpreter /lib/ld-linux-aarch64.so.1 needs. */
const SYSROOT = "/usr/aarch64-linux-gnu";
const missing =
  QEMU === null
    ? "qemu-aarch64-static is not installed"
    : fs.existsSync(path.join(SYSROOT, "lib/ld-linux-aarch64.so.1"))
      ? null
      : `${SYSROOT}/lib/ld-linux-aarch64.so.1 is missing`;
const SKIP = missing !== null && !process.env.CI;
if (SKIP) {
  console.warn(
    `SKIPPED: ${missing}, so the linux-arm64 executable is not run. ` +
      "Try: apt-get install --no-install-recommends qemu-user-static libc6-arm64-cross",
  );
}

describe.skipIf(SKIP)("the linux-arm64 executable under qemu", () => {
  const dir = makeTempDir("walship-arm64-");
  const exe = path.join(dir, "walship");
  const opts = { timeoutMs: 110_000 };
  const arm64 = (args: string[]) => {
    if (missing !== null)
      throw new Error(`${missing} (CI is set, so this does not skip); .ci/run installs it`);
    return runCli(["-L", SYSROOT, exe, ...args], { ...opts, binary: QEMU! });
  };

  beforeAll(async () => {
    await compile({ outfile: exe, target: "bun-linux-arm64" });
  }, 120_000);
  afterAll(() => removeDir(dir));

  test("is an arm64 executable and prints its version", async () => {
    // ELF header: e_machine 183 is AArch64.
    expect(fs.readFileSync(exe).readUInt16LE(18)).toBe(183);
    const r = await arm64(["version"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^walship \d+\.\d+\.\d+ \(commit \w+, bun /);
  }, 120_000);

  test("restores the Litestream fixture byte for byte as walship from source does", async () => {
    const out = path.join(dir, "arm64.db");
    const r = await arm64(["restore", "-o", out, `file://${FIXTURE}`]);
    expect(r.code).toBe(0);
    const source = path.join(dir, "source.db");
    expect((await runCli(["restore", "-o", source, `file://${FIXTURE}`])).code).toBe(0);
    expect(Buffer.compare(fs.readFileSync(out), fs.readFileSync(source))).toBe(0);
    expect(
      Buffer.compare(fs.readFileSync(out), fs.readFileSync(path.join(FIXTURE, "expected-restored.db"))),
    ).toBe(0);
  }, 120_000);
});
