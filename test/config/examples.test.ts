/** The example config in build/etc parses with walship's strict reader. */
import { expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseConfig } from "../../src/config/config.ts";

test("build/etc/walship.yml is a valid config", () => {
  const file = path.join(import.meta.dirname, "../../build/etc/walship.yml");
  const config = parseConfig(fs.readFileSync(file, "utf8"), {
    file,
    expandEnv: true,
    env: () => undefined,
    cwd: "/",
    home: "/root",
  });
  expect(config.dbs.length).toBe(2);
  expect(config.dbs[1]?.directory).toEqual({ pattern: "*.db", recursive: true, watch: true });
  expect(config.dbs[0]?.replicas.map((r) => r.name)).toEqual(["local", "minio"]);
  expect(config.addr).toBe("127.0.0.1:9090");
});
