/**
 * The CLI from source under Deno (`npm run deno -- ARGS`), run from the Bun suite: it restores the
 * Litestream fixture to exactly the bytes Bun restores, names its runtime, and refuses replication in
 * one line. Deno comes from the `deno` devDependency; a missing one fails here instead of skipping.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { runCli } from "../helpers/cli.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

const ROOT = path.join(import.meta.dirname, "../..");
const DENO = path.join(ROOT, "node_modules/.bin/deno");
const FIXTURE = path.join(ROOT, "test/fixtures/litestream-0.3.13");

/** `npm run -s deno -- ...args`, from the repository, as a user types it. */
function npmRunDeno(args: string[]) {
  const r = spawnSync("npm", ["run", "-s", "deno", "--", ...args], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 120_000,
    env: { ...process.env, NO_COLOR: "1" },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("walship under Deno", () => {
  const dir = makeTempDir("walship-deno-cli-");
  afterAll(() => removeDir(dir));

  test("deno is installed (the deno devDependency)", () => {
    expect(fs.existsSync(DENO), `${DENO} is missing: npm ci installs it`).toBe(true);
  });

  test("npm run deno -- restore restores the Litestream fixture to exactly the bytes Bun restores", async () => {
    const underDeno = path.join(dir, "deno.db");
    const underBun = path.join(dir, "bun.db");
    const deno = npmRunDeno(["restore", "-o", underDeno, `file://${FIXTURE}`]);
    expect({ code: deno.code, stderr: deno.stderr }).toMatchObject({ code: 0 });
    const bun = await runCli(["restore", "-o", underBun, `file://${FIXTURE}`]);
    expect(bun.code).toBe(0);
    const expected = fs.readFileSync(path.join(FIXTURE, "expected-restored.db"));
    expect(Buffer.compare(fs.readFileSync(underDeno), fs.readFileSync(underBun))).toBe(0);
    expect(Buffer.compare(fs.readFileSync(underDeno), expected)).toBe(0);
  }, 120_000);

  test("the inspection commands and doctor read the fixture", () => {
    const url = `file://${FIXTURE}`;
    const generations = npmRunDeno(["generations", "--json", url]);
    expect(generations.code).toBe(0);
    expect(JSON.parse(generations.stdout).generations[0].generation).toBe("f41a8a980bb2ee26");
    for (const command of ["snapshots", "wal", "doctor"]) {
      const r = npmRunDeno([command, url]);
      expect({ command, code: r.code, stderr: r.stderr }).toEqual({ command, code: 0, stderr: "" });
    }
  });

  test("skip-verify and ca-file, which Deno's fetch cannot apply, are refused rather than ignored", () => {
    const r = npmRunDeno([
      "restore",
      "-o",
      path.join(dir, "tls.db"),
      "s3://bkt/db?endpoint=https://127.0.0.1:9&skip-verify",
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("sets skip-verify, which walship cannot apply under Deno");
    expect(fs.existsSync(path.join(dir, "tls.db"))).toBe(false);
  });

  test("version names Deno as the runtime", () => {
    const r = npmRunDeno(["version"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^walship \S+ \(commit \S+, deno 2\.\d+\.\d+, sqlite 3\.\d+\.\d+\)\n$/);
  });

  test("replicate is refused in one line, with exit code 2, saying what works", () => {
    const r = npmRunDeno(["replicate", path.join(dir, "app.db"), `file://${path.join(dir, "replica")}`]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("needs Bun's SQLite file controls");
    expect(r.stderr).toContain("under Deno, restore, doctor and the inspection commands work");
    expect(fs.existsSync(path.join(dir, "app.db"))).toBe(false);
  });
});
