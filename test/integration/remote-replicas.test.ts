/**
 * SFTP and Azure Blob Storage replicas end to end, through the CLI, against real servers on loopback
 * (OpenSSH's sshd, test/helpers/sshd.ts; Azurite, test/helpers/azurite.ts), one backend per row:
 * replicate under writes, restore exactly and to a point in time, list, retention, encryption, doctor,
 * the refusals at start-up (one line with the fix, no secret printed), and the server's faults
 * (connections killed mid-upload, the server down and back).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { generateX25519Identity, identityToRecipient } from "age-encryption";
import { parseReplicaUrl } from "../../src/config/replica-url.ts";
import { isAgeFile } from "../../src/format/age.ts";
import { openReplicaClient } from "../../src/storage/open.ts";
import { createDatabase, openApp, runWriter } from "../helpers/app-db.ts";
import { type Azurite, azuriteMissing, startAzurite } from "../helpers/azurite.ts";
import { runCli, startCli, waitFor } from "../helpers/cli.ts";
import { readDatabase } from "../helpers/db-content.ts";
import { SSHD, type SshServer, startSshd } from "../helpers/sshd.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

const dir = makeTempDir("walship-remote-it-");
afterAll(() => removeDir(dir));

/** One storage backend on loopback, and how a test names a replica on it. */
interface Backend {
  name: string;
  /** Why it cannot run here (only outside CI), or undefined. */
  missing: string | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The replica `name` as a URL for the command line, with what it needs to connect in its parameters. */
  cliUrl(name: string): string;
  /** The replica `name` in a config: its `url` and keys. */
  replicaLines(name: string): string[];
  /** Environment for walship (credentials from variables). */
  env(): Record<string, string>;
  /** Config keys that make start-up fail, each with what stderr must say. */
  refusals(work: string): [string, string[], RegExp][];
  doctorSteps: string[];
  /** Connections are dropped mid-upload (where the server can do that to its sessions). */
  dropConnections?(): void;
  down(): Promise<void>;
  up(): Promise<void>;
}

function sftpBackend(): Backend {
  let server: SshServer;
  /** A second server whose SFTP refuses every write: a replica directory without permission. */
  let readOnly: SshServer;
  const knownHosts = path.join(dir, "known_hosts");
  return {
    name: "sftp",
    missing: fs.existsSync(SSHD) || process.env.CI ? undefined : `${SSHD} not found`,
    async start() {
      server = await startSshd({ password: true });
      readOnly = await startSshd({ readOnly: true });
      fs.writeFileSync(
        knownHosts,
        [server, readOnly].map((s) => `[${s.host}]:${s.port} ${s.hostPublicKey}\n`).join(""),
      );
    },
    async stop() {
      await readOnly?.stop();
      await server?.stop();
    },
    cliUrl: (name) =>
      `sftp://${server.user}@${server.host}:${server.port}${server.root}/${name}?known-hosts=${knownHosts}&key-path=${server.keyPath}`,
    replicaLines: (name) => [
      `url: sftp://${server.user}@${server.host}:${server.port}${server.root}/${name}`,
      `key-path: ${server.keyPath}`,
      `known-hosts: ${knownHosts}`,
    ],
    env: () => ({}),
    refusals(work) {
      const url = `url: sftp://${server.user}@${server.host}:${server.port}${server.root}/refused`;
      const empty = path.join(work, "known_hosts");
      fs.writeFileSync(empty, "");
      const stranger = path.join(work, "stranger");
      Bun.spawnSync(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", stranger]);
      return [
        [
          "unknown host key",
          [url, `known-hosts: ${empty}`, `key-path: ${server.keyPath}`],
          /host key SHA256:/,
        ],
        ["wrong key", [url, `known-hosts: ${knownHosts}`, `key-path: ${stranger}`], /refused to log in/],
        [
          "wrong password",
          [url, `known-hosts: ${knownHosts}`, "password: hunter2-wrong"],
          /refused to log in/,
        ],
        [
          "directory without permission",
          [
            `url: sftp://${readOnly.user}@${readOnly.host}:${readOnly.port}${readOnly.root}/refused`,
            `known-hosts: ${knownHosts}`,
            `key-path: ${readOnly.keyPath}`,
          ],
          /give the SSH user write access/,
        ],
      ];
    },
    doctorSteps: ["understood", "dns", "tcp", "host-key", "login", "directory", "probe", "encryption:skip"],
    dropConnections: () => server.dropConnections(),
    down: () => server.down(),
    up: () => server.up(),
  };
}

function absBackend(): Backend {
  let server: Azurite;
  const container = "replicas";
  return {
    name: "abs",
    missing: process.env.CI ? undefined : azuriteMissing(),
    async start() {
      server = await startAzurite();
      await server.createContainer(container);
    },
    stop: () => server?.close(),
    // The account key comes from LITESTREAM_AZURE_ACCOUNT_KEY (env()); the URL cannot carry it.
    cliUrl: (name) => `abs://${server.accountName}@${container}/${name}?endpoint=${server.endpoint}`,
    replicaLines: (name) => [
      `url: abs://${server.accountName}@${container}/${name}`,
      `endpoint: ${server.endpoint}`,
    ],
    env: () => ({ LITESTREAM_AZURE_ACCOUNT_KEY: server.accountKey }),
    refusals: () => [
      [
        "wrong account key",
        [
          `url: abs://${server.accountName}@${container}/refused`,
          `endpoint: ${server.endpoint}`,
          `account-key: ${Buffer.from("hunter2-wrong-key-hunter2-wrong-key").toString("base64")}`,
        ],
        /account-key|LITESTREAM_AZURE_ACCOUNT_KEY/,
      ],
      [
        "missing container",
        [`url: abs://${server.accountName}@missing/refused`, `endpoint: ${server.endpoint}`],
        /create the container "missing"/,
      ],
    ],
    doctorSteps: [
      "understood",
      "dns",
      "tcp",
      "tls:skip",
      "credentials",
      "container",
      "probe",
      "encryption:skip",
    ],
    down: () => server.stop(),
    up: () => server.restart(),
  };
}

describe.each([sftpBackend(), absBackend()])("$name replicas", (backend) => {
  const available = backend.missing === undefined;
  if (!available) console.warn(`skipping the ${backend.name} end-to-end tests: ${backend.missing}`);
  let n = 0;
  beforeAll(async () => {
    if (available) await backend.start();
  }, 60_000);
  afterAll(async () => {
    if (available) await backend.stop();
  });

  /** A fresh database and a replica name on the server. */
  function setup(label: string) {
    const name = `${label}-${n++}`;
    const work = path.join(dir, `${backend.name}-${name}`);
    fs.mkdirSync(work);
    const db = path.join(work, "app.db");
    createDatabase(db);
    return { work, db, name, cliUrl: backend.cliUrl(name) };
  }

  function config(work: string, db: string, name: string, replicaLines: string[] = []): string {
    const file = path.join(work, "walship.yml");
    const [first, ...rest] = [...backend.replicaLines(name), "sync-interval: 100ms", ...replicaLines];
    const lines = [
      "dbs:",
      `  - path: ${db}`,
      "    monitor-interval: 100ms",
      "    replicas:",
      `      - ${first}`,
      ...rest.map((l) => `        ${l}`),
    ];
    fs.writeFileSync(file, `${lines.join("\n")}\n`);
    return file;
  }

  const cli = (args: string[]) => runCli(args, { env: backend.env() });
  const replicate = (file: string) => startCli(["replicate", "-config", file], { env: backend.env() });

  /** Every object of replica `name`, read through the store. */
  async function objects(name: string): Promise<{ key: string; data: Uint8Array }[]> {
    const target = parseReplicaUrl(backend.cliUrl(name), { cwd: dir, home: dir });
    const store = openReplicaClient(target, {}, (k) => backend.env()[k]).store;
    const listing = await store.list("", { delimiter: false });
    return Promise.all(listing.objects.map(async (o) => ({ key: o.key, data: (await store.get(o.key))! })));
  }

  function expectSame(restored: string, source: string): void {
    const a = readDatabase(restored);
    expect(a.integrity).toBe("ok");
    expect(a.rows).toEqual(readDatabase(source).rows);
  }

  test.skipIf(!available)(
    "replicates under writes; restores exactly and to a point in time; lists what it holds",
    async () => {
      const { work, db, name, cliUrl } = setup("round-trip");
      const walship = replicate(config(work, db, name));
      await waitFor(() => walship.stderr().includes("snapshot written"), 20_000, "the first snapshot");
      await runWriter(db, 400, 5, 10);
      // SFTP modification times have whole seconds: the mark falls between two of them.
      await Bun.sleep(1100);
      const mark = new Date();
      const rowsAtMark = readDatabase(db).rows;
      await Bun.sleep(1100);
      const app = openApp(db);
      for (let i = 0; i < 50; i++) app.run("INSERT INTO items (name, qty) VALUES (?, ?)", ["after-mark", i]);
      app.close();
      await Bun.sleep(600);
      expect((await walship.stop()).code).toBe(0);

      const latest = path.join(work, "latest.db");
      const r = await cli(["restore", "-o", latest, cliUrl]);
      expect({ code: r.code, err: r.code ? r.stderr : "" }).toEqual({ code: 0, err: "" });
      expectSame(latest, db);

      const earlier = path.join(work, "earlier.db");
      const p = await cli(["restore", "-timestamp", mark.toISOString(), "-o", earlier, cliUrl]);
      expect({ code: p.code, err: p.code ? p.stderr : "" }).toEqual({ code: 0, err: "" });
      expect(readDatabase(earlier).rows).toEqual(rowsAtMark);

      for (const command of ["generations", "snapshots", "wal"]) {
        const listed = await cli([command, cliUrl]);
        expect({ command, code: listed.code, err: listed.stderr }).toEqual({ command, code: 0, err: "" });
        expect(listed.stdout.trim().split("\n").length).toBeGreaterThan(1);
      }
    },
  );

  test.skipIf(!available)("retention removes old snapshots and keeps the replica restorable", async () => {
    const { work, db, name, cliUrl } = setup("retention");
    const walship = replicate(
      config(work, db, name, ["snapshot-interval: 1s", "retention: 2s", "retention-check-interval: 500ms"]),
    );
    await waitFor(() => walship.stderr().includes("snapshot written"), 20_000, "the first snapshot");
    for (let round = 0; round < 5; round++) {
      await runWriter(db, 20, 100 + round, 10);
      await Bun.sleep(1000);
    }
    const written = (walship.stderr().match(/snapshot written/g) ?? []).length;
    expect((await walship.stop()).code).toBe(0);
    const kept = (await objects(name)).filter((o) => o.key.includes("/snapshots/"));
    expect(written).toBeGreaterThan(3);
    expect(kept.length).toBeLessThan(written);
    const out = path.join(work, "restored.db");
    expect((await cli(["restore", "-o", out, cliUrl])).code).toBe(0);
    expectSame(out, db);
  });

  test.skipIf(!available)(
    "an encrypted replica holds only age files and restores with the identity",
    async () => {
      const { work, db, name } = setup("age");
      const identity = await generateX25519Identity();
      const recipient = await identityToRecipient(identity);
      const walship = replicate(config(work, db, name, ["age:", `  recipients: [${recipient}]`]));
      await waitFor(() => walship.stderr().includes("snapshot written"), 20_000, "the first snapshot");
      await runWriter(db, 200, 9, 10);
      await Bun.sleep(600);
      expect((await walship.stop()).code).toBe(0);
      const stored = (await objects(name)).filter((o) => o.key.endsWith(".lz4"));
      expect(stored.length).toBeGreaterThan(1);
      for (const o of stored)
        expect({ key: o.key, age: isAgeFile(o.data) }).toEqual({ key: o.key, age: true });
      const readerConfig = config(work, db, name, ["age:", `  identities: [${identity}]`]);
      const out = path.join(work, "restored.db");
      const r = await cli(["restore", "-config", readerConfig, "-o", out, db]);
      expect({ code: r.code, err: r.code ? r.stderr : "" }).toEqual({ code: 0, err: "" });
      expectSame(out, db);
    },
  );

  test.skipIf(!available)("doctor walks every step to a probe", async () => {
    const { cliUrl } = setup("doctor");
    const ok = await cli(["doctor", "--json", cliUrl]);
    const steps = JSON.parse(ok.stdout).reports[0].steps as { name: string; status: string }[];
    expect(steps.map((s) => (s.status === "ok" ? s.name : `${s.name}:${s.status}`))).toEqual(
      backend.doctorSteps,
    );
    expect(ok.code).toBe(0);
  });

  test.skipIf(!available)(
    "start-up refusals are one line with the fix and an exit code, secrets unprinted",
    async () => {
      const { work, db } = setup("refusals");
      for (const [label, lines, expected] of backend.refusals(work)) {
        const file = path.join(work, `${label.replaceAll(" ", "-")}.yml`);
        const [first, ...rest] = lines;
        fs.writeFileSync(
          file,
          [
            "dbs:",
            `  - path: ${db}`,
            "    replicas:",
            `      - ${first}`,
            ...rest.map((l) => `        ${l}`),
          ].join("\n"),
        );
        const r = await cli(["replicate", "-config", file]);
        expect({ label, code: r.code }).toEqual({ label, code: 1 });
        expect(r.stderr).toMatch(expected);
        expect(r.stderr).not.toContain("hunter2");
        expect(r.stderr).not.toContain(Buffer.from("hunter2-wrong-key-hunter2-wrong-key").toString("base64"));
        expect(r.stderr).toContain("Try:");
        expect(r.stderr.trim().split("\n")).toHaveLength(1);
        // Doctor names the same failure, as a step.
        const d = await cli(["doctor", "-config", file, db]);
        expect({ label, code: d.code }).toEqual({ label, code: 1 });
        expect(d.stdout).toContain("FAIL");
      }
    },
  );

  test.skipIf(!available)(
    "connections killed mid-upload and the server down and back: nothing lost, caught up in time",
    async () => {
      const { work, db, name, cliUrl } = setup("faults");
      const walship = replicate(config(work, db, name));
      await waitFor(() => walship.stderr().includes("snapshot written"), 20_000, "the first snapshot");
      const writing = runWriter(db, 600, 21, 5);
      for (let i = 0; i < 4 && backend.dropConnections; i++) {
        await Bun.sleep(300);
        backend.dropConnections();
      }
      await writing;
      // Down with commits it has not seen: walship retries (backoff capped at 5 s) until it is back.
      await backend.down();
      await runWriter(db, 100, 22, 5);
      await Bun.sleep(3000);
      await backend.up();
      const back = Date.now();
      const probe = path.join(work, "probe.db");
      const want = readDatabase(db).rows.length;
      let caughtUpMs = -1;
      for (const deadline = Date.now() + 20_000; Date.now() < deadline; await Bun.sleep(250)) {
        fs.rmSync(probe, { force: true });
        const r = await cli(["restore", "-o", probe, cliUrl]);
        if (r.code === 0 && readDatabase(probe).rows.length === want) {
          caughtUpMs = Date.now() - back;
          break;
        }
      }
      expect((await walship.stop()).code).toBe(0);
      console.log(`${backend.name}: caught up ${caughtUpMs} ms after the server returned`);
      // The bound: 3 sync intervals or the retry backoff's cap (5 s), the larger, plus one poll and restore.
      expect(caughtUpMs).toBeGreaterThanOrEqual(0);
      expect(caughtUpMs).toBeLessThan(5000 + 1500);
      const out = path.join(work, "restored.db");
      expect((await cli(["restore", "-o", out, cliUrl])).code).toBe(0);
      expectSame(out, db);
    },
  );
});
