/** `restore` from a place with no backups says where backups are, one level up or down. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { retarget } from "../../src/cli/nearby-advice.ts";
import { runCli } from "../helpers/cli.ts";
import { s3Keys } from "../helpers/replicate-setup.ts";
import { type S3Server, startS3Server } from "../helpers/s3-server.ts";

const FIXTURE = path.join(import.meta.dirname, "../fixtures/litestream-0.3.13");
const EXPECTED = fs.readFileSync(path.join(FIXTURE, "expected-restored.db"));

/** Every file of the fixture replica, as keys relative to its root. */
function fixtureFiles(): string[] {
  return (fs.readdirSync(path.join(FIXTURE, "generations"), { recursive: true }) as string[])
    .map((rel) => path.join("generations", rel))
    .filter((rel) => fs.statSync(path.join(FIXTURE, rel)).isFile());
}

describe("no backups here, but next to it", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "walship-nearby-"));
  const env = { WALSHIP_CONFIG: path.join(dir, "absent.yml") };
  let s3: S3Server;

  beforeAll(async () => {
    s3 = await startS3Server({ buckets: ["nearby"] });
    // A config without path: puts the replica at the bucket root.
    const store = s3.store("nearby", "");
    for (const rel of fixtureFiles()) await store.put(rel, fs.readFileSync(path.join(FIXTURE, rel)));
    fs.cpSync(path.join(FIXTURE, "generations"), path.join(dir, "backups/app/generations"), {
      recursive: true,
    });
  });
  afterAll(async () => {
    await s3?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("a directory one level above the replica names the replica below and the command", async () => {
    const out = path.join(dir, "below.db");
    const parent = path.join(dir, "backups");
    const r = await runCli(["restore", "-o", out, parent], { env });
    expect(r.code).toBe(1);
    const below = path.join(parent, "app");
    expect(r.stderr).toContain(`found backups one level down at ${below}`);
    expect(r.stderr).toContain(`Try: walship restore -o ${out} ${below}`);
    expect(fs.existsSync(out)).toBe(false);
    // The suggested command works as printed.
    expect((await runCli(["restore", "-o", out, below], { env })).code).toBe(0);
    expect(fs.readFileSync(out)).toEqual(EXPECTED);
  });

  test("an S3 URL one level below a replica at the bucket root names the bucket root", async () => {
    const out = path.join(dir, "above.db");
    const url = `s3://nearby/app.db?endpoint=${s3.endpoint}&force-path-style=true`;
    const creds = s3Keys(s3);
    const r = await runCli(["restore", "-o", out, url], { env: { ...env, ...creds } });
    expect(r.code).toBe(1);
    const root = `s3://nearby/?endpoint=${encodeURIComponent(s3.endpoint)}&force-path-style=true`;
    expect(r.stderr).toContain("found backups one level up at s3://nearby");
    const suggested = /Try: walship restore -o \S+ (\S+)/.exec(r.stderr)?.[1];
    expect(suggested).toBeDefined();
    expect((await runCli(["restore", "-o", out, suggested!], { env: { ...env, ...creds } })).code).toBe(0);
    expect(fs.readFileSync(out)).toEqual(EXPECTED);
    expect(decodeURIComponent(suggested!)).toBe(decodeURIComponent(root));
  });

  test("with -if-replica-exists it still exits 0, and warns where the backups are", async () => {
    const r = await runCli(
      ["restore", "-if-replica-exists", "-o", path.join(dir, "skip.db"), path.join(dir, "backups")],
      {
        env,
      },
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("found backups one level down");
  });

  test("retarget swaps the trailing path of what was typed", () => {
    expect(retarget("s3://b/a/app.db?x=1", "a/app.db", "a")).toBe("s3://b/a?x=1");
    expect(retarget("s3://b/a/app.db", "a/app.db", "")).toBe("s3://b/");
    expect(retarget("s3://b", "", "app")).toBe("s3://b/app");
    expect(retarget("https://minio.lan/bkt/app.db", "app.db", "")).toBe("https://minio.lan/bkt");
    expect(retarget("file:///var/b", "/var/b", "/var/b/app")).toBe("file:///var/b/app");
    expect(retarget("/var/b", "/var/b", "/var")).toBe("/var");
  });
});
