import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ConfigError } from "../../src/config/errors.ts";
import { loadConfig, loadConfigFile, resolveConfigPath } from "../../src/config/load.ts";

let dir = "";
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "walship-config-"));
  fs.writeFileSync(
    path.join(dir, "walship.yml"),
    // biome-ignore lint/suspicious/noTemplateCurlyInString: literal ${VAR} text is the input under test
    "dbs:\n  - path: ./app.db\n    replica:\n      url: s3://${BKT}/x\n",
  );
  fs.writeFileSync(path.join(dir, "litestream.yml"), "addr: ':9090'\n");
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const env =
  (values: Record<string, string> = {}) =>
  (name: string) =>
    values[name];

function thrown(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("resolveConfigPath", () => {
  const dirs = { cwd: "/srv", home: "/home/u" };
  test("-config wins over the environment", () => {
    expect(resolveConfigPath({ ...dirs, path: "w.yml", env: env({ WALSHIP_CONFIG: "/x.yml" }) })).toEqual({
      path: "/srv/w.yml",
      source: "flag",
    });
  });
  test("WALSHIP_CONFIG wins over LITESTREAM_CONFIG", () => {
    expect(
      resolveConfigPath({ ...dirs, env: env({ WALSHIP_CONFIG: "~/w.yml", LITESTREAM_CONFIG: "/l.yml" }) }),
    ).toEqual({ path: "/home/u/w.yml", source: "WALSHIP_CONFIG" });
  });
  test("LITESTREAM_CONFIG is used next", () => {
    expect(
      resolveConfigPath({ ...dirs, env: env({ WALSHIP_CONFIG: "", LITESTREAM_CONFIG: "/l.yml" }) }),
    ).toEqual({
      path: "/l.yml",
      source: "LITESTREAM_CONFIG",
    });
  });
  test("the first existing default path is used", () => {
    const defaultPaths = [path.join(dir, "missing.yml"), path.join(dir, "litestream.yml")];
    expect(resolveConfigPath({ ...dirs, env: env(), defaultPaths })).toEqual({
      path: path.join(dir, "litestream.yml"),
      source: "default",
    });
  });
  test("no default file is an error with a hint", () => {
    const error = thrown(() =>
      resolveConfigPath({ ...dirs, env: env(), defaultPaths: ["/nonexistent/a.yml", "/nonexistent/b.yml"] }),
    );
    expect(error.message).toBe(
      "Cannot load config: no config file found (looked for /nonexistent/a.yml and /nonexistent/b.yml)",
    );
    expect(error.hint).toContain("-config PATH");
  });
});

describe("loadConfig", () => {
  test("reads, expands and parses the file", () => {
    const loaded = loadConfigFile({
      path: path.join(dir, "walship.yml"),
      env: env({ BKT: "b1" }),
      cwd: "/srv",
    });
    expect(loaded.source).toBe("flag");
    expect(loaded.config.dbs[0]?.path).toBe("/srv/app.db");
    expect(loaded.config.dbs[0]?.replicas[0]?.target).toMatchObject({ bucket: "b1" });
  });
  test("-no-expand-env leaves $ alone", () => {
    const error = thrown(() =>
      loadConfig({ path: path.join(dir, "walship.yml"), expandEnv: false, env: env() }),
    );
    // "${BKT}" is not a valid host, so the URL is rejected rather than silently used.
    expect(error.key).toBe("dbs[0].replica.url");
    expect(error.file).toBe(path.join(dir, "walship.yml"));
  });
  test("a missing file names the path and where it came from", () => {
    const missing = path.join(dir, "nope.yml");
    const error = thrown(() => loadConfig({ env: env({ LITESTREAM_CONFIG: missing }) }));
    expect(error.message).toBe(`Cannot load config: file not found: "${missing}" (from LITESTREAM_CONFIG)`);
    expect(error.hint).toBe("check the path, or create the file");
  });
  test("a directory is explained", () => {
    expect(thrown(() => loadConfig({ path: dir, env: env() })).message).toContain("is a directory");
  });
});
