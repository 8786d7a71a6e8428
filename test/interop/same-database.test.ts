/**
 * walship and Litestream on one database share the meta directory `.<db>-litestream` and would overwrite
 * each other's state: walship refuses to start beside a running Litestream (naming it), and stops
 * replicating a database whose generation file Litestream starts writing while walship runs.
 */
import { afterAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { createDatabase, openApp } from "../helpers/app-db.ts";
import { runCli, startCli, waitFor } from "../helpers/cli.ts";
import { litestreamBinary, litestreamConfig } from "../helpers/litestream.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

const litestream = litestreamBinary();

describe.skipIf("skip" in litestream)("walship and Litestream on the same database", () => {
  const bin = "path" in litestream ? litestream.path : "";
  const dir = makeTempDir();
  afterAll(() => removeDir(dir));

  function setUp(name: string) {
    const db = path.join(dir, `${name}.db`);
    createDatabase(db);
    const lsConfig = path.join(dir, `${name}-litestream.yml`);
    fs.writeFileSync(lsConfig, litestreamConfig(db, [{ dir: path.join(dir, `${name}-ls-replica`) }]));
    return { db, lsConfig, walshipReplica: `file://${path.join(dir, `${name}-ws-replica`)}` };
  }

  test("walship refuses to start while Litestream replicates the database", async () => {
    const { db, lsConfig, walshipReplica } = setUp("first");
    const ls = startCli(["replicate", "-config", lsConfig], { binary: bin });
    try {
      await waitFor(
        () => fs.existsSync(path.join(dir, ".first.db-litestream", "generation")),
        20_000,
        "Litestream",
      );
      const r = await runCli(["replicate", db, walshipReplica], { timeoutMs: 20_000 });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`Litestream (pid ${ls.pid}) replicates it too`);
      expect(r.stderr).toContain("Try: run one replicator per database");
    } finally {
      await ls.stop("SIGTERM");
    }
  }, 60_000);

  test("walship stops replicating when Litestream starts writing the same meta directory", async () => {
    const { db, lsConfig, walshipReplica } = setUp("second");
    const walship = startCli(["replicate", db, walshipReplica]);
    await waitFor(() => walship.stderr().includes("snapshot written"), 20_000, "walship's snapshot");
    const app = openApp(db);
    const ls = startCli(["replicate", "-config", lsConfig], { binary: bin });
    // The application goes on writing; Litestream copies the new frames into the shared shadow WAL.
    const writes = setInterval(() => app.run("INSERT INTO items (name, qty) VALUES ('x', 1)"), 100);
    try {
      await waitFor(
        () => walship.stderr().includes("so it replicates this database too"),
        20_000,
        "walship to notice Litestream",
      );
      expect(walship.stderr()).toContain(`(Litestream, pid ${ls.pid})`);
    } finally {
      clearInterval(writes);
      app.close();
      await ls.stop("SIGTERM");
      await walship.stop("SIGTERM");
    }
  }, 60_000);
});
