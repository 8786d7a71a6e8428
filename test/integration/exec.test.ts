/**
 * `replicate -exec`: the application runs as a child with walship's environment; signals are forwarded;
 * when the child exits walship does its final sync and exits with the child's code (128+N for signal N).
 */
import { afterAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { createDatabase } from "../helpers/app-db.ts";
import { runCli, startCli, waitFor } from "../helpers/cli.ts";
import { readDatabase } from "../helpers/db-content.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

const CHILD = `
import { Database } from "bun:sqlite";
const [db, mode, marker] = process.argv.slice(2);
const conn = new Database(db);
conn.run("PRAGMA busy_timeout = 5000");
for (let i = 0; i < 50; i++) conn.run("INSERT INTO items (name, qty) VALUES (?, ?)", [process.env.CHILD_TAG ?? "none", i]);
conn.close();
if (mode === "wait") {
  process.on("SIGTERM", () => process.exit(0));
  require("node:fs").writeFileSync(marker, "ready");
  await Bun.sleep(60000);
}
if (mode === "kill") process.kill(process.pid, "SIGKILL");
process.exit(Number(mode));
`;

describe("replicate -exec", () => {
  const dir = makeTempDir();
  const script = path.join(dir, "child.ts");
  fs.writeFileSync(script, CHILD);
  afterAll(() => removeDir(dir));

  async function runWithChild(name: string, mode: string) {
    const db = path.join(dir, `${name}.db`);
    const replica = path.join(dir, `${name}-replica`);
    createDatabase(db);
    const r = await runCli(
      ["replicate", "-exec", `${process.execPath} ${script} ${db} ${mode}`, db, `file://${replica}`],
      {
        env: { CHILD_TAG: `tag-${name}` },
      },
    );
    return { r, db, replica };
  }

  async function expectReplicated(db: string, replica: string, tag: string) {
    const out = `${replica}-restored.db`;
    expect((await runCli(["restore", "-o", out, `file://${replica}`])).code).toBe(0);
    const rows = readDatabase(out).rows as { name: string }[];
    expect(rows.length).toBe(50);
    expect(rows.every((row) => row.name === tag)).toBe(true);
    expect(rows as unknown[]).toEqual(readDatabase(db).rows);
  }

  test("a child that exits 0: its writes are replicated by the final sync, exit 0", async () => {
    const { r, db, replica } = await runWithChild("zero", "0");
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("subprocess exited");
    await expectReplicated(db, replica, "tag-zero");
  });

  test("a child that exits 3: walship exits 3, after the final sync", async () => {
    const { r, db, replica } = await runWithChild("three", "3");
    expect(r.code).toBe(3);
    await expectReplicated(db, replica, "tag-three");
  });

  test("a child killed by a signal: walship exits 128 + the signal number", async () => {
    const { r, db, replica } = await runWithChild("killed", "kill");
    expect(r.code).toBe(128 + 9);
    await expectReplicated(db, replica, "tag-killed");
  });

  test("SIGTERM to walship is forwarded to the child", async () => {
    const db = path.join(dir, "fwd.db");
    const replica = path.join(dir, "fwd-replica");
    const marker = path.join(dir, "fwd-ready");
    createDatabase(db);
    const p = startCli(
      ["replicate", "-exec", `${process.execPath} ${script} ${db} wait ${marker}`, db, `file://${replica}`],
      {
        env: { CHILD_TAG: "tag-fwd" },
      },
    );
    await waitFor(() => fs.existsSync(marker), 20_000, "the child to start");
    const r = await p.stop("SIGTERM");
    expect(r.stderr).toContain("forwarding to subprocess");
    expect(r.code).toBe(0);
    await expectReplicated(db, replica, "tag-fwd");
  });
});
