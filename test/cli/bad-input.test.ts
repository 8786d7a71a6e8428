/**
 * Bad input gets one clear error line naming the thing and the fix, exit code 1 (operational) or 2
 * (usage/config), and no damage: nothing written, nothing overwritten.
 */
import { afterAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { runCli } from "../helpers/cli.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

const FIXTURE = path.join(import.meta.dirname, "../fixtures/litestream-0.3.13");

/** Runs walship in `cwd` and checks the error contract: one line, the expected code, the named thing. */
async function expectFailure(args: string[], cwd: string, code: 1 | 2, mentions: RegExp[], env = {}) {
  const before = listTree(cwd);
  const r = await runCli(args, { cwd, env });
  expect(r.code).toBe(code);
  const lines = r.stderr.trim().split("\n");
  expect(lines.length).toBe(1);
  expect(lines[0]).toStartWith("walship: ");
  for (const m of mentions) expect(lines[0]).toMatch(m);
  expect(r.stdout).toBe("");
  expect(listTree(cwd)).toEqual(before);
  return lines[0]!;
}

function listTree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      out.push(`${path.relative(dir, p)}:${e.isFile() ? fs.statSync(p).size : "dir"}`);
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

describe("bad input", () => {
  const dir = makeTempDir();
  afterAll(() => removeDir(dir));

  test("a missing database", async () => {
    const line = await expectFailure(
      ["replicate", path.join(dir, "nope.db"), `file://${dir}/replica`],
      dir,
      2,
      [/nope\.db/, /does not exist/, /Try: /],
    );
    expect(line).not.toContain("replica/");
  });

  // replicate waits for an unreachable replica instead (test/integration/unreachable-replica.test.ts).
  test("an unreachable endpoint, for restore", async () => {
    const env = {
      LITESTREAM_ACCESS_KEY_ID: "AKIAEXAMPLEKEY42",
      LITESTREAM_SECRET_ACCESS_KEY: "sEcReTvAlUe987",
    };
    const line = await expectFailure(
      ["restore", "-o", "out.db", "http://127.0.0.1:9/bucket/db"],
      dir,
      1,
      [/127\.0\.0\.1:9/, /bucket=bucket/, /Try: check the port in the endpoint/],
      env,
    );
    expect(line).not.toMatch(/AKIAEXAMPLEKEY42|sEcReTvAlUe987/);
  });

  test("a replica URL it cannot parse", async () => {
    await expectFailure(["restore", "-o", "out.db", "gcs://bucket/db"], dir, 2, [
      /gcs:\/\/bucket\/db/,
      /not supported yet/,
      /Try: /,
    ]);
    await expectFailure(["restore", "-o", "out.db", "s3://"], dir, 2, [/s3:\/\//, /Try: /]);
    await expectFailure(["restore", "-o", "out.db", "s3://user:hunter2@bucket/db"], dir, 2, [/Try: /]).then(
      (line) => expect(line).not.toContain("hunter2"),
    );
  });

  test("an http:// endpoint with skip-verify: the two contradict each other", async () => {
    await expectFailure(
      ["restore", "-o", "out.db", "http://127.0.0.1:9/bucket/db?skip-verify=true"],
      dir,
      2,
      [
        /the endpoint http:\/\/127\.0\.0\.1:9 \(from the URL\) is plain HTTP, but skip-verify only applies to HTTPS/,
        /Try: write the endpoint as https:\/\/127\.0\.0\.1:9 if the server speaks HTTPS, or remove skip-verify/,
      ],
    );
  });

  test("an output path that exists is never overwritten", async () => {
    const out = path.join(dir, "exists.db");
    fs.writeFileSync(out, "precious");
    await expectFailure(["restore", "-o", out, `file://${FIXTURE}`], dir, 2, [
      /exists\.db/,
      /already exists/,
      /Try: /,
    ]);
    expect(fs.readFileSync(out, "utf8")).toBe("precious");
  });

  test("a config file with a type error", async () => {
    const config = path.join(dir, "bad.yml");
    fs.writeFileSync(
      config,
      `dbs:\n  - path: ${dir}/app.db\n    min-checkpoint-page-count: lots\n    replicas:\n      - url: file://${dir}/r\n`,
    );
    await expectFailure(["replicate", "-config", config], dir, 2, [
      /bad\.yml/,
      /line 3/,
      /min-checkpoint-page-count/,
      /Try: /,
    ]);
    await expectFailure(["restore", "-config", config, `${dir}/app.db`], dir, 2, [
      /min-checkpoint-page-count/,
    ]);
  });

  test("usage mistakes", async () => {
    await expectFailure(["replicate", path.join(dir, "app.db")], dir, 2, [/no replica URL/, /Try: /]);
    await expectFailure(["restore", `file://${FIXTURE}`], dir, 2, [/output path/, /Try: walship restore -o/]);
    await expectFailure(["restore", "--bogus", "x"], dir, 2, [/bogus/, /Try: /]);
    await expectFailure(["frobnicate"], dir, 2, [/unknown command/]);
  });
});
