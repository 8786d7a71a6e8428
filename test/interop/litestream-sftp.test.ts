/**
 * Interop with the real Litestream 0.3.13 over SFTP, both directions, against OpenSSH's sshd on loopback:
 * the same litestream.yml (type: sftp, host, user, key-path, path) drives both tools; walship adds only the
 * host key check (known-hosts), which Litestream would ignore.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { createDatabase, runWriter } from "../helpers/app-db.ts";
import { runCli, startCli, waitFor } from "../helpers/cli.ts";
import { readDatabase } from "../helpers/db-content.ts";
import { litestreamBinary } from "../helpers/litestream.ts";
import { SSHD, type SshServer, startSshd } from "../helpers/sshd.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

const litestream = litestreamBinary();
const available = "path" in litestream && (fs.existsSync(SSHD) || !!process.env.CI);

describe.skipIf(!available)("Litestream 0.3.13 interop over SFTP", () => {
  const bin = "path" in litestream ? litestream.path : "";
  const dir = makeTempDir("walship-sftp-interop-");
  const knownHosts = path.join(dir, "known_hosts");
  let server: SshServer;
  beforeAll(async () => {
    server = await startSshd();
    fs.writeFileSync(knownHosts, `[${server.host}]:${server.port} ${server.hostPublicKey}\n`);
  });
  afterAll(async () => {
    await server?.stop();
    removeDir(dir);
  });

  /** One litestream.yml both tools read; `known-hosts` only for walship (Litestream refuses unknown keys). */
  function config(work: string, db: string, remote: string, forWalship: boolean): string {
    const file = path.join(work, forWalship ? "walship.yml" : "litestream.yml");
    const lines = [
      "dbs:",
      `  - path: ${db}`,
      "    replicas:",
      "      - type: sftp",
      `        host: ${server.host}:${server.port}`,
      `        user: ${server.user}`,
      `        key-path: ${server.keyPath}`,
      `        path: ${remote}`,
      "        sync-interval: 100ms",
      ...(forWalship ? [`        known-hosts: ${knownHosts}`] : []),
    ];
    fs.writeFileSync(file, `${lines.join("\n")}\n`);
    return file;
  }

  function setup(name: string) {
    const work = path.join(dir, name);
    fs.mkdirSync(work);
    const db = path.join(work, "app.db");
    createDatabase(db);
    return { work, db, remote: path.join(server.root, name) };
  }

  function expectSame(restored: string, source: string): void {
    const a = readDatabase(restored);
    const b = readDatabase(source);
    expect(a.integrity).toBe("ok");
    expect(b.rows.length).toBeGreaterThan(100);
    expect(a.rows).toEqual(b.rows);
  }

  test("litestream restores what walship wrote over SFTP", async () => {
    const { work, db, remote } = setup("w2l");
    const walship = startCli(["replicate", "-config", config(work, db, remote, true)]);
    await waitFor(() => fs.existsSync(path.join(remote, "generations")), 20_000, "the first snapshot");
    await runWriter(db, 600, 31, 10);
    await Bun.sleep(500);
    expect((await walship.stop()).code).toBe(0);
    const out = path.join(work, "by-litestream.db");
    const proc = Bun.spawn([bin, "restore", "-config", config(work, db, remote, false), "-o", out, db], {
      stdout: "pipe",
      stderr: "pipe",
    });
    const code = await proc.exited;
    expect({ code, err: code ? await new Response(proc.stderr).text() : "" }).toEqual({ code: 0, err: "" });
    expectSame(out, db);
  });

  test("walship restores what litestream wrote over SFTP, by config and by URL", async () => {
    const { work, db, remote } = setup("l2w");
    const ls = startCli(["replicate", "-config", config(work, db, remote, false)], { binary: bin });
    await waitFor(() => fs.existsSync(path.join(remote, "generations")), 20_000, "the first snapshot");
    await runWriter(db, 600, 37, 10);
    // Litestream syncs once a second whatever sync-interval says about its monitor; let it ship the last.
    await Bun.sleep(1500);
    expect((await ls.stop("SIGTERM")).code).toBe(0);

    const byConfig = path.join(work, "by-config.db");
    const r1 = await runCli(["restore", "-config", config(work, db, remote, true), "-o", byConfig, db]);
    expect({ code: r1.code, err: r1.code ? r1.stderr : "" }).toEqual({ code: 0, err: "" });
    expectSame(byConfig, db);

    const byUrl = path.join(work, "by-url.db");
    const url = `sftp://${server.user}@${server.host}:${server.port}${remote}?known-hosts=${knownHosts}&key-path=${server.keyPath}`;
    const r2 = await runCli(["restore", "-o", byUrl, url]);
    expect({ code: r2.code, err: r2.code ? r2.stderr : "" }).toEqual({ code: 0, err: "" });
    expectSame(byUrl, db);
  });
});
