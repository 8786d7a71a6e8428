/**
 * Validation (`validation-interval`) against every backend: while an application writes, validations
 * succeed (and say so in the metrics); after the newest snapshot's page data is changed under the
 * replica (still a valid LZ4 frame, re-encrypted when the replica is encrypted), the next one reports a
 * mismatch naming the generation and position; a garbled snapshot is a failure too, and the loop goes on.
 *
 * Each backend is a row of TARGETS: a factory that gives a ReplicaClient; SFTP and Azure rows need their
 * servers (sshd, Azurite), started before the tests.
 */
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { generateIdentity, identityToRecipient } from "age-encryption";
import { snapshotPath, walSegmentPath } from "../../src/format/layout.ts";
import { decodeLz4Frame, encodeLz4Frame } from "../../src/format/lz4-frame.ts";
import { renderMetrics } from "../../src/observe/metrics.ts";
import { Replica } from "../../src/replicate/replica.ts";
import { Replicator } from "../../src/replicate/replicator.ts";
import { Validator } from "../../src/replicate/validator.ts";
import { AgeDecryptor } from "../../src/storage/age-decryptor.ts";
import { AgeEncryptor } from "../../src/storage/age-encryptor.ts";
import { AzureBlobStore } from "../../src/storage/azure-blob.ts";
import { FileStore } from "../../src/storage/file.ts";
import { ReplicaClient } from "../../src/storage/replica-client.ts";
import { openApp } from "../helpers/app-db.ts";
import { type Azurite, azuriteMissing, startAzurite } from "../helpers/azurite.ts";
import { s3ForTests } from "../helpers/replicate-setup.ts";
import { openReplicatedDb } from "../helpers/replicated-db.ts";
import { SSHD, type SshServer, startSshd } from "../helpers/sshd.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

const dir = makeTempDir();
afterAll(() => removeDir(dir));

const BUCKET = "validation";
const s3 = s3ForTests({ buckets: [BUCKET] });
const identity = await generateIdentity();
const recipient = await identityToRecipient(identity);

/** One backend: a fresh, empty replica client for `name`. */
interface ValidationTarget {
  name: string;
  client(name: string): ReplicaClient;
}

const TARGETS: ValidationTarget[] = [
  { name: "directory", client: (name) => new ReplicaClient(new FileStore(path.join(dir, name, "replica"))) },
  { name: "s3", client: (name) => new ReplicaClient(s3.s3.store(BUCKET, name)) },
  {
    name: "directory, age-encrypted",
    client: (name) => sealed(new ReplicaClient(new FileStore(path.join(dir, name, "replica")))),
  },
  {
    name: "s3, age-encrypted",
    client: (name) => sealed(new ReplicaClient(s3.s3.store(BUCKET, name))),
  },
];

/** The client reading and writing age files with the test's identity. */
function sealed(client: ReplicaClient): ReplicaClient {
  return client.decrypting(new AgeDecryptor([identity])).encrypting(new AgeEncryptor([recipient]));
}

// SFTP (OpenSSH's sshd) and Azure Blob Storage (Azurite), when their servers can run here (always in CI).
let sshd: SshServer | undefined;
let azurite: Azurite | undefined;
const sftpMissing = fs.existsSync(SSHD) || process.env.CI ? undefined : `${SSHD} not found`;
const absMissing = process.env.CI ? undefined : azuriteMissing();
beforeAll(async () => {
  if (sftpMissing === undefined) sshd = await startSshd();
  if (absMissing === undefined) {
    azurite = await startAzurite();
    await azurite.createContainer(BUCKET);
  }
}, 60_000);
afterAll(async () => {
  await sshd?.stop();
  await azurite?.close();
});
function sftpClient(name: string): ReplicaClient {
  return new ReplicaClient(sshd!.store(`${sshd!.root}/${name}`));
}
function absClient(name: string): ReplicaClient {
  const server = azurite!;
  return new ReplicaClient(
    new AzureBlobStore({
      accountName: server.accountName,
      accountKey: server.accountKey,
      container: BUCKET,
      prefix: name,
      endpoint: server.endpoint,
    }),
  );
}
for (const [missing, rows] of [
  [
    sftpMissing,
    [
      { name: "sftp", client: sftpClient },
      { name: "sftp, age-encrypted", client: (n: string) => sealed(sftpClient(n)) },
    ],
  ],
  [
    absMissing,
    [
      { name: "abs", client: absClient },
      { name: "abs, age-encrypted", client: (n: string) => sealed(absClient(n)) },
    ],
  ],
] as const) {
  if (missing === undefined) TARGETS.push(...rows);
  else console.warn(`skipping validation over ${rows[0].name}: ${missing}`);
}

/** A marker in a table nobody writes after setup: its pages come from the snapshot alone on restore. */
const MARKER = "validation-marker-".repeat(20);

/** A database with content in the file (written before WAL mode) and the table the writes go to. */
function createDatabase(file: string): void {
  const db = new Database(file, { create: true });
  db.run("CREATE TABLE still (body TEXT)");
  db.run("INSERT INTO still VALUES (?)", [MARKER]);
  db.run("CREATE TABLE items (id INTEGER PRIMARY KEY, data BLOB)");
  db.close();
}

async function waitUntil(what: string, ok: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(25);
  }
}

/** Rewrites the newest snapshot of the replica's current generation with `change` applied to its database bytes. */
async function tamperSnapshot(
  client: ReplicaClient,
  change: (db: Uint8Array, stored: Uint8Array) => Uint8Array,
): Promise<void> {
  const [generation] = await client.generations();
  const snapshots = await client.snapshots(generation!);
  const key = snapshotPath("", generation!, snapshots[snapshots.length - 1]!.index);
  const stored = (await client.store.get(key))!;
  const database = decodeLz4Frame(await client.decrypt(key, stored));
  await client.store.put(key, change(database, stored));
}

/**
 * Flips a byte in the first page of the newest WAL segment (after the snapshot, on the newest restore
 * path): still a valid LZ4 frame after any capture-time prefix, re-encrypted when the replica is.
 */
async function tamperWalSegment(client: ReplicaClient): Promise<void> {
  const [generation] = await client.generations();
  const segments = await client.walSegments(generation!);
  const newest = segments[segments.length - 1]!;
  const key = walSegmentPath("", generation!, newest.index, newest.offset);
  const plain = await client.decrypt(key, (await client.store.get(key))!);
  const at = Buffer.from(plain).indexOf(LZ4_MAGIC);
  const frames = decodeLz4Frame(plain.subarray(at));
  frames[WAL_FRAME_HEADER + 100] = frames[WAL_FRAME_HEADER + 100]! ^ 0xff;
  const changed = Buffer.concat([plain.subarray(0, at), encodeLz4Frame(frames)]);
  await client.store.put(key, client.encryptor ? client.encryptor.bytes(changed) : changed);
}

const LZ4_MAGIC = Buffer.from([0x04, 0x22, 0x4d, 0x18]);
const WAL_FRAME_HEADER = 24;

/** A database replicated to a fresh replica of `target`, validated every 200 ms, with an application writing. */
function validating(target: ValidationTarget, label: string) {
  const name = `${target.name.replace(/\W+/g, "-")}-${label}`;
  fs.mkdirSync(path.join(dir, name));
  const file = path.join(dir, name, "app.db");
  createDatabase(file);
  const { db, log, lines } = openReplicatedDb(file, { minCheckpointPageCount: 1000 });
  const client = target.client(name);
  const replica = new Replica(db, { name: "backup", client, syncIntervalMs: 100, log });
  const validator = new Validator(replica, db, 200, log);
  const set = { db, replicas: [replica], monitorIntervalMs: 50, validators: [validator] };
  const replicator = new Replicator([set], log);
  const app = openApp(file);
  let writing = true;
  const writer = (async () => {
    for (let i = 0; writing; i++) {
      app.run("INSERT INTO items (data) VALUES (randomblob(?))", [200 + (i % 7) * 600]);
      await Bun.sleep(15);
    }
  })();
  const metric = (family: string, status = "") => {
    const text = renderMetrics([set], { version: "t", commit: "t" });
    const labels = `db="${db.path}",name="backup"${status ? `,status="${status}"` : ""}`;
    const line = text.split("\n").find((l) => l.startsWith(`${family}{${labels}}`));
    return Number(line?.split(" ").pop() ?? Number.NaN);
  };
  replicator.start();
  return {
    file,
    db,
    client,
    validator,
    runs: validator.stats.runs,
    lines,
    metric,
    async stop() {
      writing = false;
      await writer;
      app.close();
      await replicator.stop();
    },
  };
}

describe.each(TARGETS)("validation of a $name replica", (target) => {
  test("succeeds while the application writes, and fails once the snapshot is changed", async () => {
    const { file, db: _db, client, validator, runs, lines, metric, stop } = validating(target, "snapshot");
    try {
      await waitUntil("two successful validations", () => runs.ok >= 2);
      expect(runs).toEqual({ ok: runs.ok, mismatch: 0, error: 0 });
      expect(metric("walship_validation_runs_total", "ok")).toBeGreaterThanOrEqual(2);
      expect(metric("walship_validation_failures_total")).toBe(0);
      expect(metric("walship_validation_last_success_timestamp_seconds")).toBeGreaterThan(
        Date.now() / 1000 - 60,
      );
      expect(metric("walship_validation_downloaded_bytes_total")).toBeGreaterThan(0);
      // Pinning a position holds the writers for a capture and a BEGIN, not for the checksum.
      expect(validator.stats.writerHoldSeconds / runs.ok).toBeLessThan(0.05);
      expect(lines.filter((l) => l.includes("level=ERROR"))).toEqual([]);

      // One byte of the marker, inside the snapshot's LZ4 frame: it still decodes, to other content.
      await tamperSnapshot(client, (database) => {
        const at = Buffer.from(database).indexOf(MARKER);
        expect(at).toBeGreaterThan(0);
        database[at + 5] = database[at + 5]! ^ 0x20;
        const lz4 = encodeLz4Frame(database);
        return client.encryptor ? client.encryptor.bytes(lz4) : lz4;
      });
      await waitUntil("a mismatch", () => runs.mismatch >= 1);
      const mismatch = lines.find((l) => l.includes("validation failed: the replica restores to other"))!;
      const [generation] = await client.generations();
      expect(mismatch).toContain(`generation=${generation}`);
      expect(mismatch).toMatch(/position=\S+\/[0-9a-f]{8}:\d+ index=[0-9a-f]{8} offset=\d+/);
      const sums = /db_checksum=([0-9a-f]{64}) replica_checksum=([0-9a-f]{64})/.exec(mismatch);
      expect(sums?.[1]).not.toBe(sums?.[2]);
      expect(mismatch).toContain("difference=");
      expect(metric("walship_validation_failures_total")).toBeGreaterThanOrEqual(1);
      expect(metric("walship_validation_runs_total", "mismatch")).toBeGreaterThanOrEqual(1);

      // A snapshot that no longer decodes (or decrypts) is a failed validation too, and the loop goes on.
      await tamperSnapshot(client, (_db, stored) => stored.subarray(0, Math.floor(stored.length / 2)));
      const before = runs.error;
      await waitUntil("a failure to restore", () => runs.error > before);
      const after = runs.error + runs.mismatch + runs.ok;
      await waitUntil("another run after it", () => runs.error + runs.mismatch + runs.ok > after);
      expect(lines.some((l) => l.includes("validation failed: the replica could not be restored"))).toBe(
        true,
      );
    } finally {
      await stop();
    }
    // The restored copies went with each run.
    expect(
      fs.existsSync(path.join(`${path.dirname(file)}`, ".app.db-litestream", "validation", "backup")),
    ).toBe(false);
  }, 60_000);

  test("fails once a WAL segment after the snapshot is changed", async () => {
    const { client, runs, lines, stop } = validating(target, "wal");
    try {
      await waitUntil("a successful validation", () => runs.ok >= 1);
      await tamperWalSegment(client);
      const before = runs.mismatch + runs.error;
      await waitUntil("a failed validation", () => runs.mismatch + runs.error > before);
      // The restore's checksum chain refuses the changed frame (or the pages differ): either way a failure.
      const failed = lines.find((l) => l.includes("level=ERROR") && l.includes("validation failed"));
      expect(failed).toMatch(/generation=[0-9a-f]{16} position=/);
    } finally {
      await stop();
    }
  }, 60_000);
});
