/**
 * A replica whose newest object is damaged (a store that filled its disk left it truncated) must not
 * wedge replication: the object is uploaded again from the shadow WAL when it still holds that range, and
 * otherwise a new generation starts. A download that fails is only retried, and an encrypted object is
 * never mistaken for damage.
 */
import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseWalSegmentName, snapshotsPath, walPath } from "../../src/format/layout.ts";
import { Replica } from "../../src/replicate/replica.ts";
import { planRestore, type RestoreTarget } from "../../src/restore/plan.ts";
import { executeRestore } from "../../src/restore/restore.ts";
import { FileStore } from "../../src/storage/file.ts";
import type { ObjectStore } from "../../src/storage/object-store.ts";
import { ReplicaClient } from "../../src/storage/replica-client.ts";
import { createDatabase } from "../helpers/app-db.ts";
import { readDatabase } from "../helpers/db-content.ts";
import { openReplicatedDb } from "../helpers/replicated-db.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

const dir = makeTempDir();
afterAll(() => removeDir(dir));

/** A database, its replica in a directory, and the application's connection. */
function setUp(name: string, store?: (root: string) => ObjectStore) {
  const file = path.join(dir, `${name}.db`);
  const root = path.join(dir, `${name}-replica`);
  createDatabase(file);
  const app = new Database(file);
  const { db, log, lines } = openReplicatedDb(file);
  const client = new ReplicaClient(store ? store(root) : new FileStore(root));
  /** A replica object as after a restart of walship: it knows no position yet. */
  const replica = () => new Replica(db, { name: "file", client, syncIntervalMs: 100, log });
  const write = (n: number) => {
    for (let i = 0; i < n; i++) app.run("INSERT INTO items (name, qty) VALUES ('r', ?)", [i]);
    db.sync();
  };
  const newest = () => {
    const segDir = path.join(root, walPath("", db.pos()!.generation));
    const names = fs.readdirSync(segDir).filter((n) => parseWalSegmentName(n));
    return path.join(segDir, names.sort().at(-1)!);
  };
  const restore = async (out: string, target: RestoreTarget = {}) => {
    await executeRestore(await planRestore([{ name: "file", client }], target), { output: out, log });
    return readDatabase(out);
  };
  const close = () => {
    app.close();
    db.close();
  };
  /** A snapshot and two uploads of ten rows each, by replica objects as after restarts. */
  const twoUploads = async () => {
    for (let round = 0; round < 2; round++) {
      write(10);
      await replica().sync();
    }
    return db.pos()!;
  };
  return { file, root, db, lines, replica, write, newest, restore, close, twoUploads };
}

function truncateHalf(file: string): void {
  fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2));
}

test("a truncated newest segment is uploaded again from the shadow WAL", async () => {
  const t = setUp("reupload");
  const { generation } = await t.twoUploads();
  truncateHalf(t.newest());

  t.write(10);
  await t.replica().sync();
  expect(t.lines.join("\n")).toContain("newest wal segment is unreadable; uploading it again");
  expect(t.db.pos()!.generation).toBe(generation);
  const restored = await t.restore(path.join(dir, "reupload-restored.db"));
  expect(restored.integrity).toBe("ok");
  expect(restored.rows).toEqual(readDatabase(t.file).rows);
  t.close();
});

test("when the shadow WAL no longer holds it, a new generation starts; the old one restores up to the damage", async () => {
  const t = setUp("newgen");
  const old = await t.twoUploads();
  // The WAL restarts into index 1; the replica never uploads it, and index 0's shadow file is gone.
  t.db.checkpoint("RESTART");
  t.write(5);
  expect(t.db.pos()!.index).toBe(1);
  const damaged = t.newest();
  truncateHalf(damaged);
  fs.rmSync(t.db.shadowPath(0));

  const r = t.replica();
  await expect(r.sync()).rejects.toThrow(/unreadable and the shadow wal no longer holds it/);
  t.db.sync();
  expect(t.db.pos()!.generation).not.toBe(old.generation);
  await r.sync();
  const latest = await t.restore(path.join(dir, "newgen-latest.db"));
  expect(latest.rows).toEqual(readDatabase(t.file).rows);

  // The old generation, at a time before the damaged object was written: everything before it.
  const hourAgo = new Date(Date.now() - 3_600_000);
  const genDir = path.join(t.root, "generations", old.generation);
  for (const d of [walPath("", old.generation), snapshotsPath("", old.generation)]) {
    for (const f of fs.readdirSync(path.join(t.root, d))) {
      if (path.join(t.root, d, f) !== damaged) fs.utimesSync(path.join(t.root, d, f), hourAgo, hourAgo);
    }
  }
  expect(fs.existsSync(genDir)).toBe(true);
  const before = await t.restore(path.join(dir, "newgen-old.db"), {
    generation: old.generation,
    timestamp: new Date(Date.now() - 1_800_000),
  });
  expect(before.integrity).toBe("ok");
  expect(before.rows.length).toBeGreaterThanOrEqual(10);
  t.close();
});

/** A directory store whose next `failures` downloads fail as a dropped connection would. */
class FlakyStore extends FileStore {
  failures = 0;

  override get(key: string): Promise<Uint8Array | null> {
    if (this.failures === 0) return super.get(key);
    this.failures--;
    return Promise.reject(new Error("connection reset"));
  }
}

test("a download that fails is retried, never taken for damage", async () => {
  let store: FlakyStore | undefined;
  const t = setUp("flaky", (root) => {
    store = new FlakyStore(root);
    return store;
  });
  const { generation } = await t.twoUploads();
  const newest = t.newest();
  const before = new Uint8Array(fs.readFileSync(newest));

  const r = t.replica();
  store!.failures = 1;
  await expect(r.sync()).rejects.toThrow("connection reset");
  t.write(1);
  await r.sync();
  expect(t.db.pos()!.generation).toBe(generation);
  expect(t.lines.join("\n")).not.toContain("unreadable");
  expect(new Uint8Array(fs.readFileSync(newest))).toEqual(before);
  t.close();
});

test("an encrypted newest object in a plain replica is not damage to repair: the objects' kinds never mix, a new generation starts", async () => {
  const t = setUp("encrypted");
  const { generation } = await t.twoUploads();
  const newest = t.newest();
  const age = new TextEncoder().encode("age-encryption.org/v1\n-> X25519 stanza\n--- mac\n\x00\x01binary");
  fs.writeFileSync(newest, age);

  await expect(t.replica().sync()).rejects.toThrow(
    /is encrypted \(age\), and this replica is configured without encryption; starting a new generation/,
  );
  t.db.sync();
  expect(t.db.pos()!.generation).not.toBe(generation);
  expect(new Uint8Array(fs.readFileSync(newest))).toEqual(age);
  t.close();
});
