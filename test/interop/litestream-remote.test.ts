/**
 * Interop with the real Litestream 0.3.13 over SFTP (OpenSSH's sshd) and Azure Blob Storage (Azurite),
 * both directions: one litestream.yml (Litestream's own keys) drives both tools; for SFTP walship adds
 * only its host key check (`known-hosts`), which Litestream would not understand.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import type { ReplicaTarget } from "../../src/config/replica-target.ts";
import { parseReplicaUrl } from "../../src/config/replica-url.ts";
import { openReplicaClient } from "../../src/storage/open.ts";
import { createDatabase, runWriter } from "../helpers/app-db.ts";
import { type Azurite, azuriteMissing, startAzurite } from "../helpers/azurite.ts";
import { runCli, startCli, waitFor } from "../helpers/cli.ts";
import { readDatabase } from "../helpers/db-content.ts";
import { litestreamBinary } from "../helpers/litestream.ts";
import { SSHD, type SshServer, startSshd } from "../helpers/sshd.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

const litestream = litestreamBinary();
const dir = makeTempDir("walship-remote-interop-");
afterAll(() => removeDir(dir));

interface Backend {
  name: string;
  missing: string | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The replica's keys in Litestream's own words; `walship` adds walship-only keys. */
  replicaLines(name: string, walship: boolean): string[];
  /** The replica as a URL for walship's command line. */
  url(name: string): string;
  env(): Record<string, string>;
}

function sftp(): Backend {
  let server: SshServer;
  const knownHosts = path.join(dir, "known_hosts");
  return {
    name: "sftp",
    missing: fs.existsSync(SSHD) || process.env.CI ? undefined : `${SSHD} not found`,
    async start() {
      server = await startSshd();
      fs.writeFileSync(knownHosts, `[${server.host}]:${server.port} ${server.hostPublicKey}\n`);
    },
    stop: () => server?.stop(),
    replicaLines: (name, walship) => [
      "type: sftp",
      `host: ${server.host}:${server.port}`,
      `user: ${server.user}`,
      `key-path: ${server.keyPath}`,
      `path: ${server.root}/${name}`,
      ...(walship ? [`known-hosts: ${knownHosts}`] : []),
    ],
    url: (name) =>
      `sftp://${server.user}@${server.host}:${server.port}${server.root}/${name}?known-hosts=${knownHosts}&key-path=${server.keyPath}`,
    env: () => ({}),
  };
}

function abs(): Backend {
  let server: Azurite;
  return {
    name: "abs",
    missing: process.env.CI ? undefined : azuriteMissing(),
    async start() {
      server = await startAzurite();
      await server.createContainer("interop");
    },
    stop: () => server?.close(),
    replicaLines: (name) => [
      "type: abs",
      `account-name: ${server.accountName}`,
      `account-key: ${server.accountKey}`,
      "bucket: interop",
      `path: ${name}`,
      `endpoint: ${server.endpoint}`,
    ],
    url: (name) => `abs://${server.accountName}@interop/${name}?endpoint=${server.endpoint}`,
    env: () => ({ LITESTREAM_AZURE_ACCOUNT_KEY: server.accountKey }),
  };
}

describe.skipIf("skip" in litestream).each([sftp(), abs()])(
  "Litestream 0.3.13 interop over $name",
  (backend) => {
    const bin = "path" in litestream ? litestream.path : "";
    const available = backend.missing === undefined;
    beforeAll(async () => {
      if (available) await backend.start();
    }, 60_000);
    afterAll(async () => {
      if (available) await backend.stop();
    });

    function config(work: string, db: string, name: string, walship: boolean): string {
      const file = path.join(work, walship ? "walship.yml" : "litestream.yml");
      const [first, ...rest] = [...backend.replicaLines(name, walship), "sync-interval: 100ms"];
      const lines = [
        "dbs:",
        `  - path: ${db}`,
        "    replicas:",
        `      - ${first}`,
        ...rest.map((l) => `        ${l}`),
      ];
      fs.writeFileSync(file, `${lines.join("\n")}\n`);
      return file;
    }

    function setup(name: string) {
      const work = path.join(dir, `${backend.name}-${name}`);
      fs.mkdirSync(work);
      const db = path.join(work, "app.db");
      createDatabase(db);
      const target: ReplicaTarget = parseReplicaUrl(backend.url(name), { cwd: dir, home: dir });
      const client = openReplicaClient(target, {}, (k) => backend.env()[k]);
      let seen = false;
      const hasGeneration = async () => (seen ||= (await client.generations()).length > 0);
      return { work, db, name, hasGeneration };
    }

    function expectSame(restored: string, source: string): void {
      const a = readDatabase(restored);
      const b = readDatabase(source);
      expect(a.integrity).toBe("ok");
      expect(b.rows.length).toBeGreaterThan(100);
      expect(a.rows).toEqual(b.rows);
    }

    test.skipIf(!available)("litestream restores what walship wrote", async () => {
      const { work, db, name, hasGeneration } = setup("w2l");
      const walship = startCli(["replicate", "-config", config(work, db, name, true)]);
      await waitFor(hasGeneration, 20_000, "the first snapshot");
      await runWriter(db, 600, 31, 10);
      await Bun.sleep(500);
      expect((await walship.stop()).code).toBe(0);
      const out = path.join(work, "by-litestream.db");
      const proc = Bun.spawn([bin, "restore", "-config", config(work, db, name, false), "-o", out, db], {
        stdout: "pipe",
        stderr: "pipe",
      });
      const code = await proc.exited;
      expect({ code, err: code ? await new Response(proc.stderr).text() : "" }).toEqual({ code: 0, err: "" });
      expectSame(out, db);
    });

    test.skipIf(!available)("walship restores what litestream wrote, by config and by URL", async () => {
      const { work, db, name, hasGeneration } = setup("l2w");
      const ls = startCli(["replicate", "-config", config(work, db, name, false)], { binary: bin });
      await waitFor(hasGeneration, 20_000, "the first snapshot");
      await runWriter(db, 600, 37, 10);
      // Litestream ships on its own clock (a second); let it see the last commits before the final sync.
      await Bun.sleep(1500);
      expect((await ls.stop("SIGTERM")).code).toBe(0);

      const byConfig = path.join(work, "by-config.db");
      const r1 = await runCli(["restore", "-config", config(work, db, name, true), "-o", byConfig, db]);
      expect({ code: r1.code, err: r1.code ? r1.stderr : "" }).toEqual({ code: 0, err: "" });
      expectSame(byConfig, db);

      const byUrl = path.join(work, "by-url.db");
      const r2 = await runCli(["restore", "-o", byUrl, backend.url(name)], { env: backend.env() });
      expect({ code: r2.code, err: r2.code ? r2.stderr : "" }).toEqual({ code: 0, err: "" });
      expectSame(byUrl, db);
    });
  },
);
