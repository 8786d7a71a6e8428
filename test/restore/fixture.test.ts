import { afterAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { planRestore } from "../../src/restore/plan.ts";
import { executeRestore, OutputExistsError } from "../../src/restore/restore.ts";
import { openDatabase } from "../../src/runtime/sqlite.ts";
import { FileStore } from "../../src/storage/file.ts";
import { ReplicaClient } from "../../src/storage/replica-client.ts";
import { MAIN } from "../helpers/cli.ts";
import { memoryLogger } from "../helpers/quiet-log.ts";
import { which } from "../helpers/test-runtime.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

const FIXTURE = path.join(import.meta.dirname, "../fixtures/litestream-0.3.13");

describe("restore of a replica written by Litestream 0.3.13", () => {
  const dir = makeTempDir();
  afterAll(() => removeDir(dir));
  const replicas = [{ name: "file", client: new ReplicaClient(new FileStore(FIXTURE)) }];

  test("plan picks the only generation, its snapshot and all 18 segments", async () => {
    const plan = await planRestore(replicas, {});
    expect(plan.generation).toBe("f41a8a980bb2ee26");
    expect(plan.snapshot.index).toBe(0);
    expect(plan.segments.length).toBe(18);
  });

  test("restores byte-identically to what litestream restore produced", async () => {
    const out = path.join(dir, "out.db");
    const plan = await planRestore(replicas, {});
    const result = await executeRestore(plan, { output: out, log: memoryLogger().log, verify: "full" });
    expect(result.output).toBe(out);
    const expected = fs.readFileSync(path.join(FIXTURE, "expected-restored.db"));
    expect(Buffer.compare(fs.readFileSync(out), expected)).toBe(0);
    expect(fs.readdirSync(dir).sort()).toEqual(["out.db"]);
    const db = openDatabase(out, { readonly: true });
    expect(db.query("SELECT count(*) AS n, sum(qty) AS s FROM items").get()).toEqual({ n: 499, s: 279741 });
    db.close();
  });

  // A machine with one core has no decode workers: every frame is decoded on the main thread. The CLI
  // runs under Bun here (under Deno, test/runtime/deno-restore.test.ts runs it).
  test.skipIf(typeof Bun === "undefined" || !which("taskset"))(
    "on one core (no worker threads), byte-identical too",
    async () => {
      const out = path.join(dir, "one-core.db");
      const proc = Bun.spawn(
        ["taskset", "-c", "0", process.execPath, MAIN, "restore", "-v", "-o", out, FIXTURE],
        {
          stdout: "pipe",
          stderr: "pipe",
        },
      );
      const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
      expect({ code, stderr: code === 0 ? "" : stderr }).toEqual({ code: 0, stderr: "" });
      expect(stderr).toContain("worker_threads=0");
      const expected = fs.readFileSync(path.join(FIXTURE, "expected-restored.db"));
      expect(Buffer.compare(fs.readFileSync(out), expected)).toBe(0);
    },
  );

  test("refuses to overwrite an existing output and leaves nothing behind", async () => {
    const out = path.join(dir, "exists.db");
    fs.writeFileSync(out, "keep me");
    const plan = await planRestore(replicas, {});
    await expect(executeRestore(plan, { output: out, log: memoryLogger().log })).rejects.toBeInstanceOf(
      OutputExistsError,
    );
    expect(fs.readFileSync(out, "utf8")).toBe("keep me");
    expect(fs.readdirSync(dir).filter((n) => n.includes("exists"))).toEqual(["exists.db"]);
  });
});
