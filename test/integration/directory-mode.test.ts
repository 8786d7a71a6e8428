import { afterAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { createDatabase, openApp } from "../helpers/app-db.ts";
import { runCli, startCli, waitFor } from "../helpers/cli.ts";
import { readDatabase } from "../helpers/db-content.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

function write(file: string, rows: number): void {
  const db = openApp(file);
  for (let i = 0; i < rows; i++)
    db.run("INSERT INTO items (name, qty) VALUES (?, ?)", [path.basename(file), i]);
  db.close();
}

describe("directory mode", () => {
  const root = makeTempDir();
  afterAll(() => removeDir(root));

  test("existing and new databases are replicated under their relative paths", async () => {
    const data = path.join(root, "data");
    const replica = path.join(root, "replica");
    fs.mkdirSync(path.join(data, "sub"), { recursive: true });
    createDatabase(path.join(data, "a.db"));
    createDatabase(path.join(data, "sub", "b.db"));
    createDatabase(path.join(data, "c.sqlite")); // does not match the pattern
    fs.writeFileSync(path.join(data, "notes.db"), "not a database");
    const config = path.join(root, "walship.yml");
    fs.writeFileSync(
      config,
      [
        "dbs:",
        `  - dir: ${data}`,
        '    pattern: "*.db"',
        "    recursive: true",
        "    watch: true",
        "    monitor-interval: 100ms",
        "    replicas:",
        `      - url: file://${replica}`,
        "        sync-interval: 100ms",
        "",
      ].join("\n"),
    );
    const walship = startCli(["replicate", "-config", config]);
    await waitFor(
      () => (walship.stderr().match(/snapshot written/g) ?? []).length >= 2,
      20_000,
      "two snapshots",
    );
    write(path.join(data, "a.db"), 10);
    write(path.join(data, "sub", "b.db"), 20);

    // Created while walship runs, one of them in a new subdirectory.
    fs.mkdirSync(path.join(data, "later"));
    createDatabase(path.join(data, "d.db"));
    createDatabase(path.join(data, "later", "e.db"));
    await waitFor(
      () => (walship.stderr().match(/snapshot written/g) ?? []).length >= 4,
      20_000,
      "the new databases",
    );
    write(path.join(data, "d.db"), 30);
    write(path.join(data, "later", "e.db"), 40);
    await Bun.sleep(500);
    expect((await walship.stop()).code).toBe(0);

    const replicated = ["a.db", "sub/b.db", "d.db", "later/e.db"];
    for (const rel of replicated) expect(fs.existsSync(path.join(replica, rel, "generations"))).toBe(true);
    expect(fs.existsSync(path.join(replica, "c.sqlite"))).toBe(false);
    expect(fs.existsSync(path.join(replica, "notes.db"))).toBe(false);

    for (const rel of replicated) {
      const out = path.join(root, `restored-${rel.replace("/", "-")}`);
      const r = await runCli(["restore", "-o", out, `file://${path.join(replica, rel)}`]);
      expect(r.code).toBe(0);
      expect(readDatabase(out).rows).toEqual(readDatabase(path.join(data, rel)).rows);
    }
    // By database path through the directory entry of the config.
    const viaConfig = path.join(root, "via-config.db");
    const r = await runCli(["restore", "-config", config, "-o", viaConfig, path.join(data, "later", "e.db")]);
    expect(r.code).toBe(0);
    expect(readDatabase(viaConfig).rows.length).toBe(40);
  }, 60_000);
});
