/**
 * A database path that names a file SQLite cannot open as a database is refused with what was found
 * and the fix: exit 1 when it is the only database, and refused alone (shown in /healthz) when there are
 * others, which go on. A 0-byte file is an empty SQLite database and replicates.
 */
import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { createDatabase, openApp } from "../helpers/app-db.ts";
import { runCli, startCli, waitFor } from "../helpers/cli.ts";
import { readDatabase } from "../helpers/db-content.ts";
import { startReplicating, statusUrl } from "../helpers/replicate-setup.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

describe("a file that is not an SQLite database", () => {
  const dir = makeTempDir();
  afterAll(() => removeDir(dir));

  /** Everything in `d`, to show that a refusal writes nothing. */
  function tree(d: string): string[] {
    return fs.readdirSync(d, { recursive: true }).map(String).sort();
  }

  const cases: [string, Uint8Array, RegExp][] = [
    ["notes.db", new TextEncoder().encode("name,qty\nwidget,3\n"), /found text, 18 bytes/],
    ["archive.db", gzipSync(new Uint8Array(8192)), /found gzip data, \d+ bytes/],
    ["zeroed.db", new Uint8Array(4096), /found a zero-filled header, 4096 bytes/],
  ];
  for (const [name, bytes, found] of cases) {
    test(`the only database (${name}): exit 1 with the path, what was found and the fix; nothing written`, async () => {
      const sub = path.join(dir, name.replace(".db", ""));
      fs.mkdirSync(sub);
      const db = path.join(sub, name);
      fs.writeFileSync(db, bytes);
      const before = tree(sub);
      const r = await runCli(["replicate", db, `file://${sub}/replica`], { timeoutMs: 20_000 });
      expect(r.code).toBe(1);
      const lines = r.stderr.trim().split("\n");
      expect(lines.length).toBe(1);
      expect(lines[0]).toStartWith(`walship: Cannot replicate ${db}: it is not an SQLite database`);
      expect(lines[0]).toMatch(found);
      expect(lines[0]).toContain("Try: ");
      expect(tree(sub)).toEqual(before);
      expect(fs.readFileSync(db)).toEqual(Buffer.from(bytes));
    });
  }

  test("one of two databases: refused with the same line and shown in /healthz; the other replicates", async () => {
    const good = path.join(dir, "good.db");
    const bad = path.join(dir, "bad.db");
    createDatabase(good);
    fs.writeFileSync(bad, "this is not a database\n");
    const walship = startReplicating(path.join(dir, "two.yml"), {
      keys: { addr: '"127.0.0.1:0"' },
      dbs: [good, bad].map((db) => ({
        path: db,
        keys: { "monitor-interval": "100ms" },
        replicas: [{ url: `file://${db}-replica`, keys: { "sync-interval": "100ms" } }],
      })),
    });
    const url = await statusUrl(walship);

    const refused = walship
      .stderr()
      .split("\n")
      .filter((l) => l.includes('msg="database refused"'));
    expect(refused.length).toBe(1);
    expect(refused[0]).toContain("level=ERROR");
    expect(refused[0]).toContain(
      `Cannot replicate ${bad}: it is not an SQLite database (found text, 23 bytes`,
    );
    expect(refused[0]).toContain('hint="check that the path names');
    expect(fs.existsSync(path.join(dir, ".bad.db-litestream"))).toBe(false);

    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(503);
    const text = await health.text();
    expect(text).toContain("databases refused:");
    expect(text).toContain(`Cannot replicate ${bad}: it is not an SQLite database`);

    const app = openApp(good);
    for (let i = 0; i < 20; i++) app.run("INSERT INTO items (name, qty) VALUES ('good', ?)", [i]);
    app.close();
    const out = path.join(dir, "good-restored.db");
    await waitFor(
      async () => {
        fs.rmSync(out, { force: true });
        const r = await runCli(["restore", "-o", out, `file://${good}-replica`]);
        return r.code === 0 && readDatabase(out).rows.length === 20;
      },
      20_000,
      "the good database to replicate",
    );

    // Once the file is fixed (a database moved into place), it is replicated.
    const fixed = path.join(dir, "fixed.db");
    createDatabase(fixed);
    const conn = new Database(fixed);
    conn.run("INSERT INTO items (name, qty) VALUES ('fixed', 1)");
    conn.run("PRAGMA journal_mode = DELETE");
    conn.close();
    fs.renameSync(fixed, bad);
    await waitFor(async () => (await fetch(`${url}/healthz`)).status === 200, 20_000, "/healthz to pass");
    await waitFor(
      () => fs.existsSync(`${bad}-replica/generations`),
      20_000,
      "the fixed database to replicate",
    );

    const stopped = await walship.stop();
    expect(stopped.code).toBe(0);
    expect(stopped.stderr).not.toContain("file is not a database");
    expect(stopped.stderr.match(/msg="database refused"/g)?.length).toBe(1);
    const restored = path.join(dir, "fixed-restored.db");
    expect((await runCli(["restore", "-o", restored, `file://${bad}-replica`])).code).toBe(0);
    expect(readDatabase(restored).rows).toEqual([{ id: 1, name: "fixed", qty: 1, data: null }]);
  }, 90_000);

  test("an empty (0-byte) file is an empty SQLite database: it replicates", async () => {
    const db = path.join(dir, "empty.db");
    fs.writeFileSync(db, "");
    const walship = startCli(["replicate", db, `file://${dir}/empty-replica`]);
    await waitFor(() => walship.stderr().includes("snapshot written"), 20_000, "a snapshot");
    expect((await walship.stop()).code).toBe(0);
    const out = path.join(dir, "empty-restored.db");
    expect((await runCli(["restore", "-o", out, `file://${dir}/empty-replica`])).code).toBe(0);
    const restored = new Database(out, { readonly: true });
    expect(restored.query("PRAGMA integrity_check").values()).toEqual([["ok"]]);
    restored.close();
  });
});
