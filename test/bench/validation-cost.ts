/**
 * What one validation costs on a database of a given size while an application writes: how long the
 * writers waited, how long the read transaction stayed pinned, the download and the whole run
 * (`bun test/bench/validation-cost.ts [MiB]`, default 256).
 */
import { Database } from "bun:sqlite";
import * as path from "node:path";
import { Replica } from "../../src/replicate/replica.ts";
import { Replicator } from "../../src/replicate/replicator.ts";
import { Validator } from "../../src/replicate/validator.ts";
import { FileStore } from "../../src/storage/file.ts";
import { ReplicaClient } from "../../src/storage/replica-client.ts";
import { openApp } from "../helpers/app-db.ts";
import { openReplicatedDb } from "../helpers/replicated-db.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

const mib = Number(process.argv[2] ?? 256);
const dir = makeTempDir();
try {
  const file = path.join(dir, "app.db");
  const setup = new Database(file, { create: true });
  setup.run("PRAGMA journal_mode = wal");
  setup.run("CREATE TABLE items (id INTEGER PRIMARY KEY, data BLOB)");
  setup.run("BEGIN");
  for (let i = 0; i < mib * 16; i++) setup.run("INSERT INTO items (data) VALUES (randomblob(65000))");
  setup.run("COMMIT");
  setup.run("PRAGMA wal_checkpoint(TRUNCATE)");
  setup.close();
  const { db, log, lines } = openReplicatedDb(file, {
    minCheckpointPageCount: 1000,
    maxCheckpointPageCount: 10_000,
  });
  const client = new ReplicaClient(new FileStore(path.join(dir, "replica")));
  const replica = new Replica(db, { name: "bench", client, syncIntervalMs: 1000, log });
  const validator = new Validator(replica, db, 0, log);
  const replicator = new Replicator([{ db, replicas: [replica], monitorIntervalMs: 100 }], log);
  replicator.start();
  const app = openApp(file);
  let writing = true;
  const writer = (async () => {
    while (writing) {
      app.run("INSERT INTO items (data) VALUES (randomblob(1000))");
      await Bun.sleep(2);
    }
  })();
  await Bun.sleep(3000); // the first snapshot
  for (let i = 0; i < 3; i++) console.log(await validator.run());
  writing = false;
  await writer;
  app.close();
  await replicator.stop();
  for (const l of lines.filter((l) => l.includes("validation")))
    console.log(l.replace(/db_checksum.*pages=/, "pages="));
} finally {
  removeDir(dir);
}
