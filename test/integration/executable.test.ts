/**
 * The compiled executable alone: copied into an empty directory and run with a PATH that holds neither
 * node nor bun, it replicates to S3 and restores. A `.env` and a `bunfig.toml` in its working directory
 * change nothing, credentials included. It also talks SFTP and Azure with only what is inside it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { compile } from "../../build/compile.ts";
import { createDatabase, runWriter } from "../helpers/app-db.ts";
import { type Azurite, startAzurite } from "../helpers/azurite.ts";
import { runCli, startCli, waitFor } from "../helpers/cli.ts";
import { readDatabase } from "../helpers/db-content.ts";
import { demoHintRuns } from "../helpers/demo-hint.ts";
import { type S3Server, startS3Server } from "../helpers/s3-server.ts";
import { SSHD, type SshServer, startSshd } from "../helpers/sshd.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

describe("the compiled executable", () => {
  const dir = makeTempDir();
  const bin = path.join(dir, "bin");
  const exe = path.join(bin, "walship");
  let s3: S3Server;

  beforeAll(async () => {
    s3 = await startS3Server({ buckets: ["exe"] });
    const buildDir = path.join(dir, "build");
    await compile({ outfile: path.join(buildDir, "walship") });
    fs.mkdirSync(bin);
    fs.copyFileSync(path.join(buildDir, "walship"), exe);
    fs.chmodSync(exe, 0o755);
    removeDir(buildDir);
  }, 120_000);
  afterAll(async () => {
    await s3?.stop();
    removeDir(dir);
  });

  test("replicates and restores with no node, no bun and no node_modules, ignoring .env and bunfig.toml", async () => {
    expect(fs.readdirSync(bin)).toEqual(["walship"]);
    const work = path.join(dir, "work");
    fs.mkdirSync(work);
    // If the executable loaded these, it would use wrong keys and run a preload that leaves a marker.
    fs.writeFileSync(
      path.join(work, ".env"),
      "LITESTREAM_ACCESS_KEY_ID=WRONGKEY\nLITESTREAM_SECRET_ACCESS_KEY=WRONGSECRET\n",
    );
    fs.writeFileSync(path.join(work, "bunfig.toml"), 'preload = ["./preload.ts"]\n');
    fs.writeFileSync(
      path.join(work, "preload.ts"),
      `require("node:fs").writeFileSync(${JSON.stringify(path.join(work, "PRELOADED"))}, "x");\n`,
    );

    const env = {
      PATH: bin,
      HOME: work,
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    };
    const opts = { binary: exe, cwd: work, env };
    const version = await runCli(["version"], opts);
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^walship \d+\.\d+\.\d+ \(commit \w+/);

    const db = path.join(work, "app.db");
    createDatabase(db);
    const url = `${s3.endpoint}/exe/app`;
    const replicate = startCli(["replicate", db, url], opts);
    await waitFor(() => hasSnapshot(s3.dir), 20_000, "the first snapshot");
    await runWriter(db, 500, 3, 10);
    const stopped = await replicate.stop();
    expect(stopped.stderr).not.toContain("WRONGKEY");
    expect(stopped.code).toBe(0);

    const out = path.join(work, "restored.db");
    const restore = await runCli(["restore", "-o", out, url], opts);
    expect(restore.code).toBe(0);
    expect(readDatabase(out).rows).toEqual(readDatabase(db).rows);
    expect(fs.existsSync(path.join(work, "PRELOADED"))).toBe(false);

    // The decode workers are entry points embedded in the executable: they start, with no source tree.
    const config = path.join(work, "debug.yml");
    const replicas = `    replicas:\n      - url: ${url}\n`;
    fs.writeFileSync(config, `logging:\n  level: debug\ndbs:\n  - path: ${db}\n${replicas}`);
    const out2 = path.join(work, "restored-2.db");
    const again = await runCli(["restore", "-config", config, "-o", out2, db], opts);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(
      os.availableParallelism() >= 2 ? /worker_threads=[1-9]/ : /worker_threads=0/,
    );
    expect(readDatabase(out2).rows).toEqual(readDatabase(db).rows);

    // The demo's closing hint names the executable as the shell finds it, and runs as printed.
    expect(await demoHintRuns({ binary: exe, cwd: work, env: { ...env, PATH: bin } })).toStartWith(
      "walship restore",
    );
  });
});

describe.skipIf(!fs.existsSync(SSHD) && !process.env.CI)(
  "the compiled executable over SFTP and Azure",
  () => {
    const dir = makeTempDir();
    const exe = path.join(dir, "walship");
    let sshd: SshServer;
    let azurite: Azurite;
    beforeAll(async () => {
      [sshd, azurite] = await Promise.all([startSshd(), startAzurite()]);
      await azurite.createContainer("exe");
      await compile({ outfile: exe });
    }, 120_000);
    afterAll(async () => {
      await sshd?.stop();
      await azurite?.close();
      removeDir(dir);
    });

    // ssh2's native parts are left out of the executable (build/compile.ts): its pure JavaScript must do.
    test("restores from SFTP and from Azure Blob Storage with what is inside it", async () => {
      const db = path.join(dir, "app.db");
      createDatabase(db);
      await runWriter(db, 200, 4, 10);
      const knownHosts = path.join(dir, "known_hosts");
      fs.writeFileSync(knownHosts, `[${sshd.host}]:${sshd.port} ${sshd.hostPublicKey}\n`);
      const urls = [
        `sftp://${sshd.user}@${sshd.host}:${sshd.port}${sshd.root}/exe?known-hosts=${knownHosts}&key-path=${sshd.keyPath}`,
        `abs://${azurite.accountName}@exe/app?endpoint=${azurite.endpoint}`,
      ];
      const env = { PATH: "/nonexistent", HOME: dir, LITESTREAM_AZURE_ACCOUNT_KEY: azurite.accountKey };
      const replicate = startCli(["replicate", db, ...urls], { binary: exe, env });
      await waitFor(
        () => (replicate.stderr().match(/snapshot written/g) ?? []).length >= 2,
        20_000,
        "both snapshots",
      );
      expect((await replicate.stop()).code).toBe(0);
      for (const [i, url] of urls.entries()) {
        const out = path.join(dir, `restored-${i}.db`);
        const r = await runCli(["restore", "-o", out, url], { binary: exe, env });
        expect({ url, code: r.code, err: r.code ? r.stderr : "" }).toEqual({ url, code: 0, err: "" });
        expect(readDatabase(out).rows).toEqual(readDatabase(db).rows);
      }
    });
  },
);

function hasSnapshot(root: string): boolean {
  const walk = (d: string): boolean =>
    fs
      .readdirSync(d, { withFileTypes: true })
      .some((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : e.name.includes(".snapshot.lz4")));
  return walk(root);
}
