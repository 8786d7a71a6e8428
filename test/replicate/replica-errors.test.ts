/**
 * What a replica that cannot go on from where it is tells the operator: a ReplicaStateError whose code
 * says which case it is and whose hint says what happens next, under the message it always had.
 */
import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { walSegmentPath } from "../../src/format/layout.ts";
import { Replica } from "../../src/replicate/replica.ts";
import { ReplicaStateError } from "../../src/replicate/replica-state-error.ts";
import { FileStore } from "../../src/storage/file.ts";
import { ReplicaClient } from "../../src/storage/replica-client.ts";
import { createDatabase } from "../helpers/app-db.ts";
import { openReplicatedDb } from "../helpers/replicated-db.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

const dir = makeTempDir();
afterAll(() => removeDir(dir));

/** A directory store that can be told to lose WAL segments between listing and reading them. */
class VanishingStore extends FileStore {
  vanish = false;

  override get(key: string): Promise<Uint8Array | null> {
    return this.vanish && key.endsWith(".wal.lz4") ? Promise.resolve(null) : super.get(key);
  }
}

/** A database with ten rows uploaded to a directory replica; `replica()` is one as after a restart. */
async function uploaded(name: string) {
  const file = path.join(dir, `${name}.db`);
  const root = path.join(dir, `${name}-replica`);
  createDatabase(file);
  const app = new Database(file);
  const { db, log } = openReplicatedDb(file);
  const store = new VanishingStore(root);
  const client = new ReplicaClient(store);
  const replica = () => new Replica(db, { name: "file", client, syncIntervalMs: 100, log });
  const write = (n: number) => {
    for (let i = 0; i < n; i++) app.run("INSERT INTO items (name, qty) VALUES ('r', ?)", [i]);
    db.sync();
  };
  write(10);
  await replica().sync();
  const close = () => {
    app.close();
    db.close();
  };
  return { root, db, store, replica, write, close };
}

async function failure(sync: Promise<void>): Promise<ReplicaStateError> {
  const err = await sync.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ReplicaStateError);
  return err as ReplicaStateError;
}

test("a shadow WAL file the replica still needs is gone: shadow-wal-missing, and a new generation", async () => {
  const t = await uploaded("shadow-missing");
  t.db.checkpoint("RESTART");
  t.write(5);
  expect(t.db.pos()!.index).toBe(1);
  fs.rmSync(t.db.shadowPath(0));

  const err = await failure(t.replica().sync());
  expect(err.code).toBe("shadow-wal-missing");
  expect(err.message).toMatch(/^shadow wal .* is missing; starting a new generation$/);
  expect(err.hint).toContain("the next sync starts a new generation");
  t.close();
});

test("a replica ahead of the local shadow WAL: replica-ahead, and a new generation", async () => {
  const t = await uploaded("ahead");
  const at = t.db.pos()!;
  // A segment past the local end, as a replica written from a newer copy of the database would hold.
  const first = path.join(t.root, walSegmentPath("", at.generation, at.index, 0));
  fs.copyFileSync(first, path.join(t.root, walSegmentPath("", at.generation, at.index, at.offset)));

  const err = await failure(t.replica().sync());
  expect(err.code).toBe("replica-ahead");
  expect(err.message).toMatch(
    /^replica position .* is ahead of the local shadow wal .*; starting a new generation$/,
  );
  expect(err.hint).toContain("the next sync starts a new generation");
  t.close();
});

test("the newest segment listed but gone when read: segment-vanished", async () => {
  const t = await uploaded("vanished");
  t.store.vanish = true;

  const err = await failure(t.replica().sync());
  expect(err.code).toBe("segment-vanished");
  expect(err.message).toMatch(/^wal segment .* vanished while reading$/);
  expect(err.hint).toContain("the next sync lists the replica again");
  t.close();
});
