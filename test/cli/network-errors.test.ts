/**
 * A connection that fails, through the real CLI against real loopback servers: `restore` and
 * `replicate` say what happened in the user's terms (the server speaks the other protocol, the
 * certificate is not trusted or is for another host, nothing listens, the name does not resolve)
 * and end with a `Try:` that fixes it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { createDatabase } from "../helpers/app-db.ts";
import { runCli, startCli, waitFor } from "../helpers/cli.ts";
import { TEST_TLS } from "../helpers/s3-server.ts";
import { type FailingServer, type FailingServerKind, startFailingServer } from "../helpers/tls-servers.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

const KEYS = { LITESTREAM_ACCESS_KEY_ID: "AKIATEST", LITESTREAM_SECRET_ACCESS_KEY: "testsecret" };

interface Case {
  name: string;
  /** The server to talk to; none for the cases with nothing to connect to. */
  server?: FailingServerKind;
  /** The replica URL, from the server's `host:port` ("" without a server). */
  url: (hostPort: string) => string;
  env?: Record<string, string>;
  /** The code Bun puts on the error (or the HTTP status), shown in the message. */
  code: string;
  /** What the message says happened. */
  says: (hostPort: string) => string;
  /** What follows `Try:`. */
  fix: (hostPort: string) => string;
}

const CASES: Case[] = [
  {
    name: "https:// to a plain HTTP server",
    server: "plain-http",
    url: (h) => `https://${h}/bkt/app`,
    code: "ERR_SSL_WRONG_VERSION_NUMBER",
    says: (h) => `the server at ${h} speaks plain HTTP, not HTTPS`,
    fix: (h) => `Try: write the endpoint as http://${h} (without skip-verify or ca-file)`,
  },
  {
    name: "http:// to an HTTPS port that closes the connection (Node, Bun)",
    server: "https-resets-plain-http",
    url: (h) => `http://${h}/bkt/app`,
    code: "ECONNRESET",
    says: (h) =>
      `the server at ${h} closed the connection without answering, as an HTTPS port does to plain HTTP`,
    fix: (h) => `Try: if the server speaks HTTPS, write the endpoint as https://${h}`,
  },
  {
    name: "http:// to an HTTPS port that answers 400 (MinIO, nginx)",
    server: "https-answers-plain-http-with-400",
    url: (h) => `http://${h}/bkt/app`,
    code: "HTTP 400",
    says: (h) =>
      `the server at ${h} answered HTTP 400 without an S3 error, as an HTTPS port does to plain HTTP`,
    fix: (h) => `Try: write the endpoint as https://${h} (with ca-file or skip-verify: true`,
  },
  {
    name: "a certificate from an unknown CA, sent alone",
    server: "untrusted-leaf",
    url: (h) => `https://${h}/bkt/app`,
    code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
    says: () => "the server's certificate is not signed by a CA this host trusts",
    fix: () =>
      "Try: give the server's CA with ca-file: /path/ca.pem (or AWS_CA_BUNDLE=/path/ca.pem), or set skip-verify: true",
  },
  {
    name: "a certificate from an unknown CA, sent with that CA",
    server: "untrusted-chain",
    url: (h) => `https://${h}/bkt/app`,
    code: "SELF_SIGNED_CERT_IN_CHAIN",
    says: () => "the server's certificate is not signed by a CA this host trusts",
    fix: () => "Try: give the server's CA with ca-file: /path/ca.pem",
  },
  {
    name: "a self-signed certificate",
    server: "self-signed",
    url: (h) => `https://${h}/bkt/app`,
    code: "DEPTH_ZERO_SELF_SIGNED_CERT",
    says: () =>
      "the server's certificate is not signed by a CA this host trusts (self-signed, or a private CA)",
    fix: () => "Try: give the server's CA with ca-file: /path/ca.pem",
  },
  {
    name: "a trusted certificate for another host",
    server: "wrong-host",
    url: (h) => `https://${h}/bkt/app`,
    env: { AWS_CA_BUNDLE: TEST_TLS.caFile },
    code: "ERR_TLS_CERT_ALTNAME_INVALID",
    says: () => "the server's certificate is not for 127.0.0.2",
    fix: () =>
      "Try: use a name the certificate lists in the endpoint, or give the server a certificate for 127.0.0.2",
  },
  {
    name: "nothing listening",
    url: () => "http://127.0.0.1:9/bkt/app",
    code: "ECONNREFUSED",
    says: () => "nothing is listening on port 9 of 127.0.0.1",
    fix: () => "Try: check the port in the endpoint and that the server is running",
  },
  {
    name: "a host name that does not resolve",
    url: () => "http://no-such-host.invalid:9000/bkt/app",
    code: "no-such-host.invalid",
    says: () => "no-such-host.invalid does not resolve",
    fix: () => "Try: check the host name in the endpoint and this host's DNS",
  },
];

describe("restore: a failed connection says what happened and how to fix it", () => {
  const dir = makeTempDir();
  const servers = new Map<FailingServerKind, FailingServer>();
  beforeAll(async () => {
    const kinds = [...new Set(CASES.flatMap((c) => (c.server ? [c.server] : [])))];
    for (const kind of kinds) servers.set(kind, await startFailingServer(kind));
  });
  afterAll(async () => {
    await Promise.all([...servers.values()].map((s) => s.stop()));
    removeDir(dir);
  });

  for (const c of CASES) {
    test(c.name, async () => {
      const hostPort = c.server ? (servers.get(c.server)?.hostPort ?? "") : "";
      const out = path.join(dir, `${c.name.replace(/\W+/g, "-")}.db`);
      const r = await runCli(["restore", "-o", out, c.url(hostPort)], { env: { ...KEYS, ...c.env } });
      expect(r.code).toBe(1);
      const line = r.stderr.trim();
      expect(line).toContain(c.code);
      expect(line).toContain(c.says(hostPort));
      expect(line).toContain(c.fix(hostPort));
      expect(fs.existsSync(out)).toBe(false);
    }, 60_000);
  }

  test("a config file's scheme-less endpoint is HTTPS: against a plain HTTP MinIO, the fix is http://", async () => {
    const server = servers.get("plain-http");
    if (!server) throw new Error("no plain HTTP server");
    const config = path.join(dir, "walship.yml");
    fs.writeFileSync(
      config,
      [
        "dbs:",
        `  - path: ${path.join(dir, "app.db")}`,
        "    replicas:",
        "      - type: s3",
        "        bucket: bkt",
        "        path: app",
        `        endpoint: ${server.hostPort}`,
        `        access-key-id: ${KEYS.LITESTREAM_ACCESS_KEY_ID}`,
        `        secret-access-key: ${KEYS.LITESTREAM_SECRET_ACCESS_KEY}`,
        "",
      ].join("\n"),
    );
    const out = path.join(dir, "from-config.db");
    const r = await runCli(["restore", "-config", config, "-o", out, path.join(dir, "app.db")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`endpoint=https://${server.hostPort}`);
    expect(r.stderr).toContain(`Try: write the endpoint as http://${server.hostPort}`);
  }, 60_000);
});

describe("replicate: a failed connection says what happened and how to fix it", () => {
  const dir = makeTempDir();
  let server: FailingServer;
  beforeAll(async () => {
    server = await startFailingServer("plain-http");
  });
  afterAll(async () => {
    await server?.stop();
    removeDir(dir);
  });

  test("https:// to a plain HTTP server", async () => {
    const db = path.join(dir, "app.db");
    createDatabase(db);
    const walship = startCli(["replicate", db, `https://${server.hostPort}/bkt/app`], { env: KEYS });
    // Whether replicate stops at start-up or keeps retrying, the reason and the fix must be shown.
    const fix = `write the endpoint as http://${server.hostPort}`;
    await waitFor(() => walship.stderr().includes(fix), 30_000, "the fix in the output");
    const result = await walship.stop();
    expect(result.stderr).toContain("ERR_SSL_WRONG_VERSION_NUMBER");
    expect(result.stderr).toContain(`the server at ${server.hostPort} speaks plain HTTP, not HTTPS`);
  }, 60_000);
});
