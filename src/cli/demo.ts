/**
 * `walship demo [DIR]`: proves the executable works on this machine with no setup. It creates a sample
 * database, replicates it to a directory while writing to it, stops with a final sync, restores the
 * replica and compares the restored rows with the source.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DEFAULT_MAX_WAL_BYTES } from "../config/config.ts";
import { DEFAULT_TRUNCATE_PAGE_COUNT, ReplicatedDatabase } from "../replicate/database.ts";
import { Replica } from "../replicate/replica.ts";
import { Replicator } from "../replicate/replicator.ts";
import { planRestore } from "../restore/plan.ts";
import { executeRestore } from "../restore/restore.ts";
import { selfCommand, shellWord } from "../runtime/executable.ts";
import { sleep } from "../runtime/sleep.ts";
import { openDatabase } from "../runtime/sqlite.ts";
import { FileStore } from "../storage/file.ts";
import { ReplicaClient } from "../storage/replica-client.ts";
import { EXIT_FAILURE, EXIT_OK, UsageError } from "./errors.ts";
import { loggerFor } from "./logger.ts";
import { requireReplicationSupport } from "./runtime-support.ts";

const TRANSACTIONS = 300;

export async function runDemo(dirArg: string | undefined, out: (line: string) => void): Promise<number> {
  requireReplicationSupport("demo");
  const dir = dirArg ? path.resolve(dirArg) : fs.mkdtempSync(path.join(os.tmpdir(), "walship-demo-"));
  if (dirArg && fs.existsSync(dir) && fs.readdirSync(dir).length > 0) {
    throw new UsageError(
      `Cannot run the demo in ${dir}: the directory is not empty`,
      "give a new or empty directory",
    );
  }
  fs.mkdirSync(dir, { recursive: true });
  const dbPath = path.join(dir, "app.db");
  const replicaDir = path.join(dir, "replica");
  const restored = path.join(dir, "restored.db");
  const log = loggerFor({ logging: { level: "warn", type: "text", stderr: true } });

  const app = openDatabase(dbPath, { create: true });
  app.run("PRAGMA journal_mode = wal");
  app.run("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL, at TEXT NOT NULL)");
  out(`walship demo: replicating ${dbPath} to ${replicaDir}`);

  const db = new ReplicatedDatabase({
    path: dbPath,
    checkpointIntervalMs: 60_000,
    minCheckpointPageCount: 50,
    maxCheckpointPageCount: 10_000,
    maxWalBytes: DEFAULT_MAX_WAL_BYTES,
    truncatePageCount: DEFAULT_TRUNCATE_PAGE_COUNT,
    log,
  });
  const client = new ReplicaClient(new FileStore(replicaDir));
  const replica = new Replica(db, { name: "file", client, syncIntervalMs: 100, log });
  const replicator = new Replicator([{ db, replicas: [replica], monitorIntervalMs: 100 }], log);
  replicator.start();

  const insert = app.prepare("INSERT INTO notes (body, at) VALUES (?, ?)");
  for (let i = 0; i < TRANSACTIONS; i++) {
    insert.run(`note ${i}: ${"walship ".repeat(1 + (i % 20))}`, new Date().toISOString());
    if (i % 10 === 0) await sleep(50);
  }
  const expected = app.query("SELECT count(*) AS n, total(length(body)) AS len FROM notes").get();
  app.close();
  if (!(await replicator.stop())) {
    out("walship demo: the final sync failed; see the log above");
    return EXIT_FAILURE;
  }

  const replicas = [{ name: "file", client }];
  const plan = await planRestore(replicas, {});
  const result = await executeRestore(plan, { output: restored, log, verify: "full" });
  const check = openDatabase(restored, { readonly: true });
  const actual = check.query("SELECT count(*) AS n, total(length(body)) AS len FROM notes").get();
  check.close();
  fs.rmSync(`${restored}-wal`, { force: true });
  fs.rmSync(`${restored}-shm`, { force: true });

  const segments = (await client.walSegments(plan.generation)).length;
  out(
    `walship demo: ${TRANSACTIONS} transactions shipped as 1 snapshot and ${segments} WAL segments (generation ${plan.generation})`,
  );
  out(`walship demo: restored to ${result.output} in ${result.elapsedMs} ms, integrity_check ok`);
  const same = JSON.stringify(actual) === JSON.stringify(expected);
  out(
    `walship demo: restored rows ${same ? "match" : "DO NOT match"} the source (${JSON.stringify(actual)})`,
  );
  // A command that runs as printed, from where the demo was started, whether or not walship is on PATH.
  const copy = path.join(dir, "copy.db");
  out(
    `walship demo: try it yourself: ${selfCommand()} restore -o ${shellWord(copy)} ${shellWord(replicaDir)}`,
  );
  return same ? EXIT_OK : EXIT_FAILURE;
}
