/**
 * SFTP replicas end to end, through the CLI, against OpenSSH's sshd on loopback (test/helpers/sshd.ts):
 * replicate under writes, restore exactly and to a point in time, list, retention, encryption, doctor,
 * the refusals at start-up (unknown host key, wrong key, wrong password), and the server's faults
 * (connections killed mid-upload, the server down and back).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { generateX25519Identity, identityToRecipient } from "age-encryption";
import { isAgeFile } from "../../src/format/age.ts";
import { createDatabase, openApp, runWriter } from "../helpers/app-db.ts";
import { runCli, startCli, waitFor } from "../helpers/cli.ts";
import { readDatabase } from "../helpers/db-content.ts";
import { SSHD, type SshServer, startSshd } from "../helpers/sshd.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

const available = fs.existsSync(SSHD) || !!process.env.CI;

describe.skipIf(!available)("SFTP replicas", () => {
  const dir = makeTempDir("walship-sftp-it-");
  const knownHosts = path.join(dir, "known_hosts");
  let server: SshServer;
  let n = 0;

  beforeAll(async () => {
    server = await startSshd({ password: true });
    fs.writeFileSync(knownHosts, `[${server.host}]:${server.port} ${server.hostPublicKey}\n`);
  });
  afterAll(async () => {
    await server?.stop();
    removeDir(dir);
  });

  /** A fresh database and a replica directory on the server, with the URL that names it. */
  function setup(name: string) {
    const work = path.join(dir, `${name}-${n++}`);
    fs.mkdirSync(work);
    const db = path.join(work, "app.db");
    createDatabase(db);
    const remote = path.join(server.root, path.basename(work));
    const url = `sftp://${server.user}@${server.host}:${server.port}${remote}`;
    const query = `?known-hosts=${encodeURIComponent(knownHosts)}&key-path=${encodeURIComponent(server.keyPath)}`;
    return { work, db, remote, url, cliUrl: `${url}${query}` };
  }

  function config(work: string, db: string, url: string, replicaLines: string[] = []): string {
    const file = path.join(work, "walship.yml");
    const lines = [
      "dbs:",
      `  - path: ${db}`,
      "    monitor-interval: 100ms",
      "    replicas:",
      `      - url: ${url}`,
      `        key-path: ${server.keyPath}`,
      `        known-hosts: ${knownHosts}`,
      "        sync-interval: 100ms",
      ...replicaLines.map((l) => `        ${l}`),
    ];
    fs.writeFileSync(file, `${lines.join("\n")}\n`);
    return file;
  }

  function expectSame(restored: string, source: string): void {
    const a = readDatabase(restored);
    expect(a.integrity).toBe("ok");
    expect(a.rows).toEqual(readDatabase(source).rows);
  }

  test("replicates under writes; restores exactly and to a point in time; lists what it holds", async () => {
    const { work, db, url, cliUrl } = setup("round-trip");
    const walship = startCli(["replicate", "-config", config(work, db, url)]);
    await waitFor(() => walship.stderr().includes("snapshot written"), 20_000, "the first snapshot");
    await runWriter(db, 400, 5, 10);
    // SFTP modification times have whole seconds: the mark falls between two of them.
    await Bun.sleep(1100);
    const mark = new Date();
    const atMark = path.join(work, "at-mark-source.db");
    await Bun.sleep(1100);
    fs.copyFileSync(db, atMark);
    for (const suffix of ["-wal", "-shm"])
      if (fs.existsSync(db + suffix)) fs.copyFileSync(db + suffix, atMark + suffix);
    const app = openApp(db);
    for (let i = 0; i < 50; i++) app.run("INSERT INTO items (name, qty) VALUES (?, ?)", ["after-mark", i]);
    app.close();
    await Bun.sleep(600);
    const stopped = await walship.stop();
    expect(stopped.code).toBe(0);

    const latest = path.join(work, "latest.db");
    const r = await runCli(["restore", "-o", latest, cliUrl]);
    expect({ code: r.code, err: r.code ? r.stderr : "" }).toEqual({ code: 0, err: "" });
    expectSame(latest, db);

    const earlier = path.join(work, "earlier.db");
    const p = await runCli(["restore", "-timestamp", mark.toISOString(), "-o", earlier, cliUrl]);
    expect({ code: p.code, err: p.code ? p.stderr : "" }).toEqual({ code: 0, err: "" });
    const rows = readDatabase(earlier).rows as { name: string }[];
    expect(rows.some((row) => row.name === "after-mark")).toBe(false);
    expect(rows).toEqual(readDatabase(atMark).rows as { name: string }[]);

    for (const command of ["generations", "snapshots", "wal"]) {
      const listed = await runCli([command, cliUrl]);
      expect({ command, code: listed.code, err: listed.stderr }).toEqual({ command, code: 0, err: "" });
      expect(listed.stdout.trim().split("\n").length).toBeGreaterThan(1);
    }
  });

  test("retention removes old snapshots on the server and keeps the replica restorable", async () => {
    const { work, db, remote, url, cliUrl } = setup("retention");
    const walship = startCli([
      "replicate",
      "-config",
      config(work, db, url, ["snapshot-interval: 1s", "retention: 2s", "retention-check-interval: 500ms"]),
    ]);
    await waitFor(() => walship.stderr().includes("snapshot written"), 20_000, "the first snapshot");
    for (let round = 0; round < 5; round++) {
      await runWriter(db, 20, 100 + round, 10);
      await Bun.sleep(1000);
    }
    const written = (walship.stderr().match(/snapshot written/g) ?? []).length;
    expect((await walship.stop()).code).toBe(0);
    const kept = fs
      .readdirSync(path.join(remote, "generations"), { recursive: true, encoding: "utf8" })
      .filter((p) => p.includes("snapshots/") && p.endsWith(".lz4"));
    expect(written).toBeGreaterThan(3);
    expect(kept.length).toBeLessThan(written);
    const out = path.join(work, "restored.db");
    expect((await runCli(["restore", "-o", out, cliUrl])).code).toBe(0);
    expectSame(out, db);
  });

  test("an encrypted replica on SFTP holds only age files and restores with the identity", async () => {
    const { work, db, remote, url } = setup("age");
    const identity = await generateX25519Identity();
    const recipient = await identityToRecipient(identity);
    const walship = startCli([
      "replicate",
      "-config",
      config(work, db, url, ["age:", `  recipients: [${recipient}]`]),
    ]);
    await waitFor(() => walship.stderr().includes("snapshot written"), 20_000, "the first snapshot");
    await runWriter(db, 200, 9, 10);
    await Bun.sleep(600);
    expect((await walship.stop()).code).toBe(0);
    const objects = fs
      .readdirSync(remote, { recursive: true, encoding: "utf8" })
      .filter((p) => p.endsWith(".lz4"));
    expect(objects.length).toBeGreaterThan(1);
    for (const o of objects)
      expect(isAgeFile(new Uint8Array(fs.readFileSync(path.join(remote, o))))).toBe(true);
    const readerConfig = config(path.join(work), db, url, ["age:", `  identities: [${identity}]`]);
    const out = path.join(work, "restored.db");
    const r = await runCli(["restore", "-config", readerConfig, "-o", out, db]);
    expect({ code: r.code, err: r.code ? r.stderr : "" }).toEqual({ code: 0, err: "" });
    expectSame(out, db);
  });

  test("doctor walks dns, tcp, host key, login, directory and a probe", async () => {
    const { cliUrl, url } = setup("doctor");
    const ok = await runCli(["doctor", "--json", cliUrl]);
    expect(ok.code).toBe(0);
    const steps = JSON.parse(ok.stdout).reports[0].steps as {
      name: string;
      status: string;
      detail: string;
    }[];
    expect(steps.map((s) => `${s.name}:${s.status}`)).toEqual([
      "understood:ok",
      "dns:ok",
      "tcp:ok",
      "host-key:ok",
      "login:ok",
      "directory:ok",
      "probe:ok",
      "encryption:skip",
    ]);

    const empty = path.join(dir, "empty_known_hosts");
    fs.writeFileSync(empty, "");
    const unknown = await runCli(["doctor", `${url}?known-hosts=${empty}&key-path=${server.keyPath}`]);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stdout).toContain(
      `[${server.host}]:${server.port} ${server.hostPublicKey.split(" ").slice(0, 2).join(" ")}`,
    );

    const stranger = path.join(dir, "stranger");
    Bun.spawnSync(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", stranger]);
    const login = await runCli(["doctor", "--json", `${url}?known-hosts=${knownHosts}&key-path=${stranger}`]);
    expect(login.code).not.toBe(0);
    const failed = (JSON.parse(login.stdout).reports[0].steps as { name: string; status: string }[]).find(
      (s) => s.status === "fail",
    );
    expect(failed?.name).toBe("login");
  });

  test("start-up refuses an unknown host key, a wrong key and a wrong password in one line, secrets unprinted", async () => {
    const { work, db, url } = setup("refusals");
    const empty = path.join(work, "known_hosts");
    fs.writeFileSync(empty, "");
    const stranger = path.join(work, "stranger");
    Bun.spawnSync(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", stranger]);
    const cases: [string, string[], RegExp][] = [
      ["unknown host key", [`known-hosts: ${empty}`, `key-path: ${server.keyPath}`], /host key SHA256:/],
      ["wrong key", [`known-hosts: ${knownHosts}`, `key-path: ${stranger}`], /refused to log in/],
      ["wrong password", [`known-hosts: ${knownHosts}`, "password: hunter2-wrong"], /refused to log in/],
    ];
    for (const [name, lines, expected] of cases) {
      const file = path.join(work, `${name.replaceAll(" ", "-")}.yml`);
      fs.writeFileSync(
        file,
        [
          "dbs:",
          `  - path: ${db}`,
          "    replicas:",
          `      - url: ${url}`,
          ...lines.map((l) => `        ${l}`),
        ].join("\n"),
      );
      const r = await runCli(["replicate", "-config", file], { timeoutMs: 30_000 });
      expect({ name, code: r.code }).toEqual({ name, code: 1 });
      expect(r.stderr).toMatch(expected);
      expect(r.stderr).not.toContain("hunter2");
      expect(r.stderr).toContain("Try:");
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
  });

  test("connections killed mid-upload and the server down and back: nothing lost, caught up in time", async () => {
    const { work, db, remote, url } = setup("faults");
    const walship = startCli(["replicate", "-config", config(work, db, url)]);
    await waitFor(() => walship.stderr().includes("snapshot written"), 20_000, "the first snapshot");
    const writing = runWriter(db, 600, 21, 5);
    for (let i = 0; i < 4; i++) {
      await Bun.sleep(300);
      server.dropConnections();
    }
    await writing;
    // Down with commits it has not seen: walship retries (backoff capped at 5 s) until it is back.
    await server.down();
    await runWriter(db, 100, 22, 5);
    await Bun.sleep(3000);
    await server.up();
    const back = Date.now();
    // Caught up: the replica (read straight from the server's disk) restores every commit.
    const probe = path.join(work, "probe.db");
    let caughtUpMs = -1;
    const want = readDatabase(db).rows.length;
    for (const deadline = Date.now() + 20_000; Date.now() < deadline; await Bun.sleep(250)) {
      fs.rmSync(probe, { force: true });
      const r = await runCli(["restore", "-o", probe, remote]);
      if (r.code === 0 && readDatabase(probe).rows.length === want) {
        caughtUpMs = Date.now() - back;
        break;
      }
    }
    expect((await walship.stop()).code).toBe(0);
    console.log(`sftp: caught up ${caughtUpMs} ms after the server returned`);
    // The acceptance bound: 3 sync intervals or the retry backoff's cap (5 s), the larger, plus one
    // poll and restore here.
    expect(caughtUpMs).toBeGreaterThanOrEqual(0);
    expect(caughtUpMs).toBeLessThan(5000 + 1500);
    const out = path.join(work, "restored.db");
    expect((await runCli(["restore", "-o", out, remote])).code).toBe(0);
    expectSame(out, db);
    // No upload cut short left a partial object under a real name.
    const partial = fs
      .readdirSync(remote, { recursive: true, encoding: "utf8" })
      .filter((p) => p.includes(".tmp-"));
    console.log(`sftp: ${partial.length} temporary file(s) left by cut uploads`);
  });
});
