/**
 * Replicas walship encrypts with age, on a node that has only the recipients (it cannot read its own
 * backups): every stored object is an age file with no plaintext row or LZ4 frame in sight;
 * `litestream restore` and `walship restore` with the identity give back the database, also at an earlier
 * WAL index; a restart resumes the generation without decrypting anything; and a generation is never
 * continued with objects of the other kind, with other recipients, or without knowing where it ends.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { generateX25519Identity, identityToRecipient } from "age-encryption";
import { isAgeFile } from "../../src/format/age.ts";
import { encodeLz4Frame } from "../../src/format/lz4-frame.ts";
import { createDatabase, openApp, runWriter } from "../helpers/app-db.ts";
import { runCli, startCli, waitFor } from "../helpers/cli.ts";
import { writeDirAndS3Config } from "../helpers/config.ts";
import { readDatabase } from "../helpers/db-content.ts";
import { litestreamBinary } from "../helpers/litestream.ts";
import { pseudoRandomBytes } from "../helpers/pseudo-random.ts";
import { type S3Server, startS3Server } from "../helpers/s3-server.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

const litestream = litestreamBinary();
const BUCKET = "sealed";
/** A row whose text must never reach the storage in the clear. */
const MARKER = "walship-plaintext-marker-7f3a9c";
const LZ4_MAGIC = Buffer.from([0x04, 0x22, 0x4d, 0x18]);

describe.skipIf("skip" in litestream)("replicas walship encrypts with age", () => {
  const bin = "path" in litestream ? litestream.path : "";
  const dir = makeTempDir();
  const db = path.join(dir, "app.db");
  const replicaDir = path.join(dir, "replica");
  const recipientsFile = path.join(dir, "recipients.txt");
  let s3: S3Server;
  let identity: string;
  let recipient: string;
  /** The application's connection, open throughout as a running application's is (the last to close checkpoints the WAL away). */
  let app: ReturnType<typeof openApp>;

  /** `db` replicated to a directory and S3, with `age` lines for both. */
  const config = (name: string, age: string[]): string =>
    writeDirAndS3Config(path.join(dir, name), db, {
      replicaDir,
      s3,
      bucket: BUCKET,
      dbLines: ["monitor-interval: 100ms"],
      replicaLines: age,
    });
  /** The writing node's config: recipients only, from a file. */
  const writer = () => config("writer.yml", ["age:", `  recipients-file: ${recipientsFile}`]);
  /** The reading side's config: the identity. */
  const reader = () => config("reader.yml", ["age:", `  identities: [${identity}]`]);

  const objects = (): string[] =>
    fs
      .readdirSync(replicaDir, { recursive: true, encoding: "utf8" })
      .filter((p) => p.endsWith(".lz4"))
      .sort();
  const generations = () => fs.readdirSync(path.join(replicaDir, "generations")).sort();

  async function replicate(transactions: number, seed: number): Promise<string> {
    const proc = startCli(["replicate", "-config", writer()]);
    // Writes before walship looks at the WAL could restart it (it may be all checkpointed): a new
    // generation for a reason other than the one a test is after.
    await waitFor(() => proc.stderr().includes("initialized db"), 20_000, "walship to look at the WAL");
    await runWriter(db, transactions, seed, 10);
    await Bun.sleep(500);
    const r = await proc.stop("SIGTERM");
    expect(r.code).toBe(0);
    return r.stderr;
  }

  function expectRestored(file: string): void {
    const restored = readDatabase(file);
    expect(restored.integrity).toBe("ok");
    expect(restored.rows).toEqual(readDatabase(db).rows);
  }

  beforeAll(async () => {
    s3 = await startS3Server({ buckets: [BUCKET] });
    identity = await generateX25519Identity();
    recipient = await identityToRecipient(identity);
    fs.writeFileSync(recipientsFile, `# the backup key's public half\n${recipient}\n`);
    createDatabase(db);
    app = openApp(db);
    for (let i = 0; i < 50; i++) app.run("INSERT INTO items (name, qty) VALUES (?, ?)", [MARKER, i]);
    // Incompressible rows: a snapshot of several MiB, which restore decrypts on its worker threads.
    for (let i = 0; i < 24; i++)
      app.run("INSERT INTO items (name, qty, data) VALUES (?, ?, ?)", [
        "blob",
        i,
        pseudoRandomBytes(131_072, i + 1),
      ]);
    // Into the database file, which is what the first snapshot holds.
    app.run("PRAGMA wal_checkpoint(TRUNCATE)");
    await replicate(800, 3);
  });
  afterAll(async () => {
    app?.close();
    await s3?.stop();
    removeDir(dir);
  });

  test("every stored object is an age file: no plaintext row, no LZ4 frame", () => {
    const stored = objects();
    expect(stored.filter((p) => p.includes("snapshots")).length).toBeGreaterThan(0);
    expect(stored.filter((p) => p.includes("/wal/")).length).toBeGreaterThan(2);
    for (const p of stored) {
      const bytes = fs.readFileSync(path.join(replicaDir, p));
      expect({ p, age: isAgeFile(bytes) }).toEqual({ p, age: true });
      expect({ p, marker: bytes.includes(MARKER) }).toEqual({ p, marker: false });
      expect({ p, lz4: bytes.includes(LZ4_MAGIC) }).toEqual({ p, lz4: false });
    }
    // The local state that lets the node resume holds no key either.
    const state = fs.readFileSync(path.join(dir, ".app.db-litestream", "replicas", "dir.json"), "utf8");
    expect(state).not.toContain(recipient.slice(4));
  });

  test("litestream restore and walship restore open it with the identity, from a directory and S3", async () => {
    const cfg = reader();
    for (const replica of ["dir", "s3"]) {
      const theirs = path.join(dir, `litestream-${replica}.db`);
      const ls = Bun.spawnSync([bin, "restore", "-config", cfg, "-replica", replica, "-o", theirs, db]);
      expect({ replica, stderr: ls.exitCode === 0 ? "" : ls.stderr.toString() }).toEqual({
        replica,
        stderr: "",
      });
      expectRestored(theirs);
      const ours = path.join(dir, `walship-${replica}.db`);
      const r = await runCli(["restore", "-config", cfg, "-replica", replica, "-o", ours, db]);
      expect(r.code).toBe(0);
      expect(Buffer.from(fs.readFileSync(ours)).equals(fs.readFileSync(theirs))).toBe(true);
    }
    // The writing node cannot read its own backups, and says what it lacks.
    const r = await runCli([
      "restore",
      "-config",
      writer(),
      "-replica",
      "dir",
      "-o",
      path.join(dir, "x.db"),
      db,
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("no identity is configured");
  });

  test("point in time: walship and litestream agree on an earlier WAL index", async () => {
    const indexes = [
      ...new Set(
        objects()
          .filter((p) => p.includes("/wal/"))
          .map((p) => path.basename(p).slice(0, 8)),
      ),
    ];
    const index = indexes.at(-2) ?? indexes[0]!;
    const cfg = reader();
    const theirs = path.join(dir, "pitr-litestream.db");
    const args = ["-config", cfg, "-replica", "dir", "-index", index, "-o"];
    expect(Bun.spawnSync([bin, "restore", ...args, theirs, db]).exitCode).toBe(0);
    const ours = path.join(dir, "pitr-walship.db");
    expect((await runCli(["restore", ...args.slice(0, 3), "s3", ...args.slice(4), ours, db])).code).toBe(0);
    expect(Buffer.from(fs.readFileSync(ours)).equals(fs.readFileSync(theirs))).toBe(true);
  });

  test("a flipped bit deep in the encrypted snapshot: exit 1, one line naming it, no output left", async () => {
    const copy = path.join(dir, "tampered");
    fs.cpSync(replicaDir, copy, { recursive: true });
    const snapshot = fs
      .readdirSync(copy, { recursive: true, encoding: "utf8" })
      .find((p) => p.endsWith(".snapshot.lz4"))!;
    const file = path.join(copy, snapshot);
    const bytes = fs.readFileSync(file);
    expect(bytes.length).toBeGreaterThan(2 * 1024 * 1024);
    bytes[bytes.length - 1_500_000]! ^= 0x01;
    fs.writeFileSync(file, bytes);
    const key = path.join(dir, "identity.txt");
    fs.writeFileSync(key, `${identity}\n`);
    const out = path.join(dir, "tampered.db");
    const r = await runCli(["restore", "-age-identity-file", key, "-o", out, `file://${copy}`]);
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split("\n");
    expect(lines.at(-1)).toMatch(/snapshots\/00000000\.snapshot\.lz4: it is damaged .*does not authenticate/);
    expect(
      fs.readdirSync(dir).filter((n) => n.startsWith("tampered.db") || n.startsWith(".walship")),
    ).toEqual([]);
  });

  test("a restart resumes the generation from local state, without an identity", async () => {
    const before = generations();
    const log = await replicate(200, 5);
    expect(generations()).toEqual(before);
    expect(log).not.toContain("starting a new generation");
    const out = path.join(dir, "resumed.db");
    expect((await runCli(["restore", "-config", reader(), "-replica", "s3", "-o", out, db])).code).toBe(0);
    expectRestored(out);
  });

  test("a new generation, with the reason, when the newest object is plain, the recipients changed or the state is gone", async () => {
    const stateFile = path.join(dir, ".app.db-litestream", "replicas", "dir.json");
    const cases: [string, () => void | Promise<void>, string][] = [
      [
        "a plain object",
        () => {
          // What Litestream writes into this generation when its config keeps the keys in recipients-file.
          const generation = generations().at(-1)!;
          const wal = path.join(replicaDir, "generations", generation, "wal");
          const newest = fs.readdirSync(wal).sort().at(-1)!;
          const [index, offset] = newest
            .replace(".wal.lz4", "")
            .split("_")
            .map((h) => Number.parseInt(h, 16));
          const name = `${index!.toString(16).padStart(8, "0")}_${(offset! + 4096).toString(16).padStart(8, "0")}.wal.lz4`;
          fs.writeFileSync(path.join(wal, name), encodeLz4Frame(new Uint8Array(100)));
        },
        "is not encrypted, and this replica is configured with age recipients",
      ],
      [
        "other recipients",
        async () => {
          const other = await identityToRecipient(await generateX25519Identity());
          fs.writeFileSync(recipientsFile, `${other}\n${recipient}\n`);
        },
        "the age recipients changed since it was written",
      ],
      ["no local state", () => fs.rmSync(stateFile), "without an age identity that object cannot be read"],
    ];
    for (const [what, change, reason] of cases) {
      const before = generations();
      await change();
      const log = await replicate(50, 9);
      expect({ what, reason: log.includes(reason) }).toEqual({ what, reason: true });
      expect({ what, generations: generations().length }).toEqual({ what, generations: before.length + 1 });
    }
    const out = path.join(dir, "after.db");
    expect((await runCli(["restore", "-config", reader(), "-replica", "dir", "-o", out, db])).code).toBe(0);
    expectRestored(out);
  });

  test("an age entry without recipients is refused: what walship wrote would not be encrypted", async () => {
    const r = await runCli(["replicate", "-config", reader()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("has identities but no recipients");
    expect(r.stderr).not.toContain(identity.slice(16));
  });
});
