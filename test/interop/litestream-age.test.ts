/**
 * Replicas that Litestream 0.3.13 encrypted with age (every object `age(lz4)`): walship restores them
 * with the identity from the config, from a directory and from S3, byte for byte as `litestream restore`
 * does; without the identity, with another one, or from a tampered object it fails naming the object and
 * leaves nothing behind.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { generateIdentity, identityToRecipient } from "age-encryption";
import { isAgeFile } from "../../src/format/age.ts";
import { createDatabase, runWriter } from "../helpers/app-db.ts";
import { runCli, startCli, waitFor } from "../helpers/cli.ts";
import { writeDirAndS3Config } from "../helpers/config.ts";
import { litestreamBinary } from "../helpers/litestream.ts";
import { type S3Server, startS3Server } from "../helpers/s3-server.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

const litestream = litestreamBinary();
const BUCKET = "encrypted";

describe.skipIf("skip" in litestream)("replicas Litestream 0.3.13 encrypted with age", () => {
  const bin = "path" in litestream ? litestream.path : "";
  const dir = makeTempDir();
  const db = path.join(dir, "app.db");
  const replicaDir = path.join(dir, "replica");
  let s3: S3Server;
  let identity: string;
  let recipient: string;
  /** What `litestream restore` makes of the dir replica: what walship must produce, byte for byte. */
  const expected = path.join(dir, "litestream-restored.db");

  /** A config for `db` with a directory and an S3 replica, both encrypted with `identities`. */
  const config = (name: string, identities: string[]): string =>
    writeDirAndS3Config(path.join(dir, name), db, {
      replicaDir,
      s3,
      bucket: BUCKET,
      replicaLines: ["age:", `  identities: [${identities.join(", ")}]`, `  recipients: [${recipient}]`],
    });

  beforeAll(async () => {
    s3 = await startS3Server({ buckets: [BUCKET] });
    identity = await generateIdentity();
    recipient = await identityToRecipient(identity);
    createDatabase(db);
    const proc = startCli(["replicate", "-config", config("litestream.yml", [identity])], { binary: bin });
    await waitFor(() => fs.existsSync(path.join(replicaDir, "generations")), 20_000, "the first snapshot");
    await runWriter(db, 1500, 5, 10);
    await Bun.sleep(1200);
    expect((await proc.stop("SIGTERM")).code).toBe(0);
    const cfg = config("litestream-restore.yml", [identity]);
    expect(
      Bun.spawnSync([bin, "restore", "-config", cfg, "-replica", "dir", "-o", expected, db]).exitCode,
    ).toBe(0);
  });
  afterAll(async () => {
    await s3?.stop();
    removeDir(dir);
  });

  const objects = (root: string): string[] =>
    fs.readdirSync(root, { recursive: true, encoding: "utf8" }).filter((p) => p.endsWith(".lz4"));

  test("every object Litestream stored is an age file", () => {
    const stored = objects(replicaDir);
    expect(stored.length).toBeGreaterThan(2);
    for (const p of stored)
      expect(isAgeFile(new Uint8Array(fs.readFileSync(path.join(replicaDir, p))))).toBe(true);
  });

  test("walship restores them with the identity, byte for byte as litestream restore", async () => {
    const cfg = config("walship.yml", [identity]);
    const before = fs.readdirSync(replicaDir, { recursive: true }).sort();
    for (const replica of ["dir", "s3"]) {
      const out = path.join(dir, `walship-${replica}.db`);
      const r = await runCli(["restore", "-config", cfg, "-replica", replica, "-o", out, db]);
      expect(r.stderr).toContain("restored");
      expect(r.code).toBe(0);
      expect(Buffer.from(fs.readFileSync(out)).equals(fs.readFileSync(expected))).toBe(true);
    }
    // Plaintext never lands in the replica: decrypted files go beside the output.
    expect(fs.readdirSync(replicaDir, { recursive: true }).sort()).toEqual(before);
  });

  test("without an identity, with another one, from a tampered or truncated object: exit 1, the object named", async () => {
    const other = await generateIdentity();
    const cases: [string, string[], RegExp][] = [
      [
        "no identity",
        ["restore", `file://${replicaDir}`],
        /is encrypted \(age\), and no identity is configured/,
      ],
      [
        "another identity",
        ["restore", "-config", config("other.yml", [other]), "-replica", "dir", db],
        /none of the 1 configured identity opens it: it is encrypted for other keys, or its header is damaged/,
      ],
    ];
    // Copies of the replica, each damaged in one object.
    const damaged = (name: string, damage: (file: string) => void, which: (p: string) => boolean): string => {
      const copy = path.join(dir, name);
      fs.cpSync(replicaDir, copy, { recursive: true });
      damage(path.join(copy, objects(copy).filter(which).sort().at(-1)!));
      const cfg = config(`${name}.yml`, [identity]);
      fs.writeFileSync(cfg, fs.readFileSync(cfg, "utf8").replace(`path: ${replicaDir}`, `path: ${copy}`));
      return cfg;
    };
    const flip = (at: (length: number) => number) => (file: string) => {
      const bytes = fs.readFileSync(file);
      bytes[at(bytes.length)]! ^= 1;
      fs.writeFileSync(file, bytes);
    };
    const isSnapshot = (p: string) => p.includes("snapshots");
    const isSegment = (p: string) => p.includes("wal");
    const restoreWith = (cfg: string) => ["restore", "-config", cfg, "-replica", "dir", db];
    cases.push(
      [
        "a flipped bit in the ciphertext",
        restoreWith(
          damaged(
            "t1",
            flip((n) => n - 100),
            isSnapshot,
          ),
        ),
        /is damaged/,
      ],
      // In the header's key stanza, which looks like a key that does not match; other objects opened.
      [
        "a flipped bit in a header",
        restoreWith(
          damaged(
            "t2",
            flip(() => 40),
            isSegment,
          ),
        ),
        /is damaged/,
      ],
      [
        "a truncated object",
        restoreWith(damaged("t3", (f) => fs.truncateSync(f, fs.statSync(f).size - 50), isSegment)),
        /is damaged/,
      ],
    );

    for (const [what, args, message] of cases) {
      const out = path.join(dir, `failed-${what.replace(/ /g, "-")}.db`);
      const r = await runCli([...args.slice(0, 1), "-o", out, ...args.slice(1)]);
      expect({ what, code: r.code }).toEqual({ what, code: 1 });
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/generations\/[0-9a-f]{16}\//);
      expect(r.stderr).not.toContain(identity.slice(16));
      expect(fs.readdirSync(dir).filter((n) => n.includes(path.basename(out)))).toEqual([]);
    }
  });

  test("point in time: up to an earlier WAL index, as litestream restore -index", async () => {
    const indexes = [
      ...new Set(
        objects(replicaDir)
          .filter((p) => p.includes("wal"))
          .map((p) => path.basename(p).slice(0, 8)),
      ),
    ].sort();
    // Litestream checkpoints after 1,000 WAL pages: the writer leaves two indexes or more, as a rule.
    const index = indexes.at(-2) ?? indexes[0]!;
    const cfg = config("pitr.yml", [identity]);
    const theirs = path.join(dir, "pitr-litestream.db");
    const ls = Bun.spawnSync([
      bin,
      "restore",
      "-config",
      cfg,
      "-replica",
      "dir",
      "-index",
      index,
      "-o",
      theirs,
      db,
    ]);
    expect(ls.exitCode).toBe(0);
    const ours = path.join(dir, "pitr-walship.db");
    const r = await runCli(["restore", "-config", cfg, "-replica", "s3", "-index", index, "-o", ours, db]);
    expect(r.code).toBe(0);
    expect(Buffer.from(fs.readFileSync(ours)).equals(fs.readFileSync(theirs))).toBe(true);
    if (indexes.length > 1)
      expect(Buffer.from(fs.readFileSync(ours)).equals(fs.readFileSync(expected))).toBe(false);
  });

  test("from a URL alone, with the identity in a file (the rescue shell)", async () => {
    const idFile = path.join(dir, "key.txt");
    fs.writeFileSync(idFile, `# created: by age-keygen\n# public key: ${recipient}\n${identity}\n`, {
      mode: 0o600,
    });
    const out = path.join(dir, "from-url.db");
    const r = await runCli(["restore", "-age-identity-file", idFile, "-o", out, `file://${replicaDir}`]);
    expect(r.code).toBe(0);
    expect(Buffer.from(fs.readFileSync(out)).equals(fs.readFileSync(expected))).toBe(true);

    // A recipient where an identity belongs, and a file that is not there: exit 2, line named, key not.
    const wrong = path.join(dir, "wrong.txt");
    fs.writeFileSync(wrong, `# comment\n\n${recipient}\n`);
    const bad = await runCli([
      "restore",
      "-age-identity-file",
      wrong,
      "-o",
      `${out}2`,
      `file://${replicaDir}`,
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`${wrong}: line 3 is not usable: it is a recipient`);
    expect(bad.stderr).not.toContain(recipient.slice(5));
    const missing = await runCli([
      "restore",
      "-age-identity-file",
      `${wrong}.gone`,
      "-o",
      `${out}2`,
      `file://${replicaDir}`,
    ]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`Cannot read the age identity file ${wrong}.gone (ENOENT)`);
    expect(fs.existsSync(`${out}2`)).toBe(false);
  });

  test("doctor says whether the configured identities open the newest object", async () => {
    const encryption = async (args: string[]) => {
      const r = await runCli(["doctor", "--json", ...args]);
      const { reports } = JSON.parse(r.stdout) as {
        reports: { replica: string; steps: { name: string; status: string; detail: string }[] }[];
      };
      return {
        code: r.code,
        steps: reports.flatMap((rep) =>
          rep.steps.filter((st) => st.name === "encryption").map((st) => ({ replica: rep.replica, ...st })),
        ),
      };
    };
    const good = await encryption(["-config", config("doctor.yml", [identity]), db]);
    expect(good.steps.map((st) => [st.replica, st.status])).toEqual([
      ["dir", "ok"],
      ["s3", "ok"],
    ]);
    expect(good.steps[0]!.detail).toContain("the configured identities open the newest object");
    expect(good.code).toBe(0);

    const wrong = await encryption(["-config", config("doctor-other.yml", [await generateIdentity()]), db]);
    expect(wrong.steps.map((st) => st.status)).toEqual(["fail", "fail"]);
    expect(wrong.code).toBe(1);

    const bare = await encryption([`file://${replicaDir}`]);
    expect(bare.steps.map((st) => st.status)).toEqual(["fail"]);
    expect(bare.steps[0]!.detail).toContain("is encrypted (age), and no identity is configured");
  });
});
