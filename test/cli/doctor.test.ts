/** `walship doctor` against the real S3 test server: each failure names its step, cause and fix. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import type { TargetReport } from "../../src/doctor/doctor.ts";
import { runCli } from "../helpers/cli.ts";
import { s3Keys } from "../helpers/replicate-setup.ts";
import { type S3Server, startS3Server } from "../helpers/s3-server.ts";

interface Report {
  ok: boolean;
  reports: TargetReport[];
}

async function doctor(
  url: string,
  env: Record<string, string> = {},
): Promise<{ code: number; report: Report; text: string }> {
  const json = await runCli(["doctor", "--json", url], { env });
  const text = await runCli(["doctor", url], { env });
  expect(text.code).toBe(json.code);
  return { code: json.code, report: JSON.parse(json.stdout) as Report, text: text.stdout };
}

function step(report: Report, name: string) {
  const s = report.reports[0]?.steps.find((x) => x.name === name);
  if (!s) throw new Error(`no step ${name}`);
  return s;
}

describe("walship doctor", () => {
  let s3: S3Server;
  let tlsS3: S3Server;
  let keys: Record<string, string>;
  beforeAll(async () => {
    [s3, tlsS3] = await Promise.all([
      startS3Server({ buckets: ["doc"] }),
      startS3Server({ buckets: ["doc"], tls: true }),
    ]);
    keys = s3Keys(s3);
  });
  afterAll(async () => {
    await Promise.all([s3?.stop(), tlsS3?.stop()]);
  });

  test("success: every step passes and the probe leaves nothing behind", async () => {
    const { code, report, text } = await doctor(`${s3.endpoint}/doc/app`, keys);
    expect(code).toBe(0);
    expect(report.ok).toBe(true);
    for (const name of ["understood", "dns", "tcp", "credentials", "bucket", "probe", "clock"]) {
      expect(step(report, name).status).toBe("ok");
    }
    expect(step(report, "tls").status).toBe("skip");
    expect(step(report, "credentials").detail).toContain("LITESTREAM_ACCESS_KEY_ID");
    expect(text).toContain("everything checked is fine");
    const probeDir = path.join(s3.dir, "doc", "app");
    const leftovers = fs.existsSync(probeDir)
      ? fs.readdirSync(probeDir).filter((n) => n.includes("walship-doctor"))
      : [];
    expect(leftovers).toEqual([]);
    expect(step(report, "probe").detail).toContain(".walship-doctor-");
  });

  test("wrong keys: the bucket step fails and names the credential source", async () => {
    const { code, report } = await doctor(`${s3.endpoint}/doc/app`, {
      LITESTREAM_ACCESS_KEY_ID: "WRONGKEYID",
      LITESTREAM_SECRET_ACCESS_KEY: "WRONGSECRETVALUE",
    });
    expect(code).toBe(1);
    const bucket = step(report, "bucket");
    expect(bucket.status).toBe("fail");
    expect(bucket.detail).toContain("InvalidAccessKeyId");
    expect(bucket.cause).toContain("LITESTREAM_ACCESS_KEY_ID");
    expect(JSON.stringify(report)).not.toContain("WRONGSECRETVALUE");
  });

  test("wrong bucket", async () => {
    const { code, report } = await doctor(`${s3.endpoint}/no-such-bucket/app`, keys);
    expect(code).toBe(1);
    expect(step(report, "bucket").status).toBe("fail");
    expect(step(report, "bucket").fix).toContain("no-such-bucket");
  });

  test("wrong port: TCP fails, later steps are skipped", async () => {
    const { code, report } = await doctor("http://127.0.0.1:9/doc/app", keys);
    expect(code).toBe(1);
    expect(step(report, "tcp").status).toBe("fail");
    expect(step(report, "tcp").cause).toContain("nothing is listening on port 9");
    expect(step(report, "bucket").status).toBe("skip");
  });

  test("TLS with a self-signed certificate: fails without skip-verify, passes with it", async () => {
    const url = `${tlsS3.endpoint}/doc/app`;
    const failing = await doctor(url, keys);
    expect(failing.code).toBe(1);
    const tls = step(failing.report, "tls");
    expect(tls.status).toBe("fail");
    expect(tls.fix).toContain("skip-verify");
    expect(tls.fix).toContain("ca-file");

    const skipping = await doctor(`${url}?skip-verify=true`, keys);
    expect(skipping.code).toBe(0);
    expect(step(skipping.report, "tls").status).toBe("warn");
    expect(step(skipping.report, "probe").status).toBe("ok");

    const trusting = await doctor(url, { ...keys, AWS_CA_BUNDLE: tlsS3.caFile ?? "" });
    expect(trusting.code).toBe(0);
    expect(step(trusting.report, "tls").status).toBe("ok");
  });

  test("the other protocol: each way round, the same advice as restore and replicate give", async () => {
    const plain = new URL(s3.endpoint).host;
    const tls = new URL(tlsS3.endpoint).host;
    const toPlain = await doctor(`https://${plain}/doc/app`, keys);
    expect(toPlain.code).toBe(1);
    expect(step(toPlain.report, "tls")).toMatchObject({
      status: "fail",
      cause: `the server at ${plain} speaks plain HTTP, not HTTPS`,
    });
    expect(step(toPlain.report, "tls").fix).toStartWith(`write the endpoint as http://${plain}`);

    const toTls = await doctor(`http://${tls}/doc/app`, keys);
    expect(toTls.code).toBe(1);
    const bucket = step(toTls.report, "bucket");
    expect(bucket.status).toBe("fail");
    expect(bucket.cause).toContain("as an HTTPS port does to plain HTTP");
    expect(bucket.fix).toContain(`write the endpoint as https://${tls}`);
  });

  test("the ambiguous hostname: says how it was understood and what was probably meant", async () => {
    const { code, report, text } = await doctor("s3://s3.example.com/litestream/qt.db", keys);
    expect(code).toBe(1);
    const understood = step(report, "understood");
    expect(understood.status).toBe("warn");
    expect(understood.detail).toContain("bucket=s3.example.com");
    expect(understood.detail).toContain("endpoint=AWS");
    expect(text).toContain("https://s3.example.com/litestream/qt.db");
    expect(text).toContain("s3://litestream/qt.db?endpoint=s3.example.com");
  });
});
