/**
 * S3-compatible endpoints that just work: every custom-endpoint URL form, path-style and virtual-hosted
 * addressing, plain HTTP and HTTPS (skip-verify, or a CA file). One walship process replicates to all of
 * them at once; each is then restored from its URL and environment credentials alone, with no config.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as path from "node:path";
import { createDatabase, runWriter } from "../helpers/app-db.ts";
import { runCli, startCli, waitFor } from "../helpers/cli.ts";
import { writeConfig } from "../helpers/config.ts";
import { readDatabase } from "../helpers/db-content.ts";
import { s3Keys } from "../helpers/replicate-setup.ts";
import { type S3Server, startS3Server } from "../helpers/s3-server.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

const BUCKET = "endpoints";

describe("S3-compatible endpoint forms", () => {
  let s3: S3Server;
  let tls: S3Server;
  const dir = makeTempDir();
  beforeAll(async () => {
    [s3, tls] = await Promise.all([
      startS3Server({ buckets: [BUCKET] }),
      startS3Server({ buckets: [BUCKET], tls: true }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([s3?.stop(), tls?.stop()]);
    removeDir(dir);
  });

  test("replicate to every form at once, then restore each from its URL alone", async () => {
    const port = new URL(s3.endpoint).port;
    const tlsPort = new URL(tls.endpoint).port;
    // [URL used to replicate and restore, extra environment for both, what the startup log must say]
    const forms: [string, Record<string, string>, RegExp][] = [
      [`http://127.0.0.1:${port}/${BUCKET}/https-form`, {}, /addressing=path-style/],
      [`s3://${BUCKET}/query-form?endpoint=127.0.0.1:${port}`, {}, /endpoint=http:\/\/127\.0\.0\.1/],
      [`s3://127.0.0.1:${port}/${BUCKET}/ip-form`, {}, /bucket=endpoints path=ip-form/],
      [`s3://localhost:${port}/${BUCKET}/localhost-form`, {}, /endpoint=http:\/\/localhost/],
      [`s3://${BUCKET}.localhost:${port}/litestream-form`, {}, /path=litestream-form/],
      [
        `s3://${BUCKET}/vhost-form?endpoint=http://s3.localhost:${port}&force-path-style=false`,
        {},
        /addressing=virtual-hosted/,
      ],
      [`https://127.0.0.1:${tlsPort}/${BUCKET}/tls-skip?skip-verify=true`, {}, /endpoint=https:/],
      [
        `https://localhost:${tlsPort}/${BUCKET}/tls-ca`,
        { AWS_CA_BUNDLE: tls.caFile ?? "" },
        /endpoint=https:\/\/localhost/,
      ],
      [
        `s3://${BUCKET}/tls-vhost?endpoint=https://s3.localhost:${tlsPort}&force-path-style=false`,
        { AWS_CA_BUNDLE: tls.caFile ?? "" },
        /addressing=virtual-hosted/,
      ],
    ];
    const envForms: [string, Record<string, string>][] = [
      [`s3://${BUCKET}/env-s3`, { AWS_ENDPOINT_URL_S3: s3.endpoint }],
      [`s3://${BUCKET}/env-generic`, { AWS_ENDPOINT_URL: s3.endpoint }],
      [`s3://${BUCKET}/env-litestream`, { LITESTREAM_S3_ENDPOINT: `127.0.0.1:${port}` }],
    ];
    const creds = s3Keys(s3);
    const caEnv = { AWS_CA_BUNDLE: tls.caFile ?? "" };

    const db = path.join(dir, "app.db");
    createDatabase(db);
    const walship = startCli(["replicate", db, ...forms.map(([url]) => url)], {
      env: { ...creds, ...caEnv },
    });
    await waitFor(
      () => (walship.stderr().match(/snapshot written/g) ?? []).length >= forms.length,
      30_000,
      "all snapshots",
    );
    await runWriter(db, 300, 5, 10);
    const stopped = await walship.stop();
    expect(stopped.code).toBe(0);
    const startup = stopped.stderr.split("\n").filter((l) => l.includes('msg="replicating to"'));
    expect(startup.length).toBe(forms.length);
    forms.forEach(([, , logged], i) => {
      expect(startup[i]).toMatch(logged);
      expect(startup[i]).toMatch(/endpoint=\S+ .*region=\S+ .*addressing=\S+/);
    });

    // The environment-endpoint forms each need their own process (the variable applies to all of its URLs).
    for (const [url, env] of envForms) {
      const p = startCli(["replicate", db, url], { env: { ...creds, ...env } });
      await waitFor(() => p.stderr().includes("snapshot written"), 20_000, `snapshot for ${url}`);
      expect((await p.stop()).code).toBe(0);
    }

    const source = readDatabase(db).rows;
    for (const [url, env] of [...forms.map(([u, e]) => [u, e] as const), ...envForms]) {
      const out = path.join(dir, `restored-${Math.random().toString(16).slice(2)}.db`);
      const r = await runCli(["restore", "-o", out, url], { env: { ...creds, ...env } });
      expect({ url, code: r.code, stderr: r.code === 0 ? "" : r.stderr }).toEqual({
        url,
        code: 0,
        stderr: "",
      });
      expect(readDatabase(out).rows).toEqual(source);
    }
  }, 120_000);

  test("a config file's scheme-less endpoint with skip-verify is HTTPS (the blog's self-signed MinIO)", async () => {
    const db = path.join(dir, "blog.db");
    createDatabase(db);
    const config = writeConfig(dir, db, {}, [
      {
        url: `s3://${BUCKET}/blog`,
        keys: {
          endpoint: new URL(tls.endpoint).host,
          "skip-verify": "true",
          "access-key-id": tls.accessKeyId,
          "secret-access-key": tls.secretAccessKey,
          "sync-interval": "100ms",
        },
      },
    ]);
    const walship = startCli(["replicate", "-config", config]);
    await waitFor(() => walship.stderr().includes("snapshot written"), 20_000, "the snapshot");
    await runWriter(db, 200, 9, 10);
    const stopped = await walship.stop();
    expect(stopped.code).toBe(0);
    expect(stopped.stderr).toContain(`endpoint=https://127.0.0.1:${new URL(tls.endpoint).port}`);

    const out = path.join(dir, "blog-restored.db");
    const r = await runCli(["restore", "-config", config, "-o", out, db]);
    expect({ code: r.code, stderr: r.code === 0 ? "" : r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(readDatabase(out).rows).toEqual(readDatabase(db).rows);
  }, 60_000);
});
