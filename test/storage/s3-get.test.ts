/**
 * GETs sent around the SDK (s3-get.ts) against the S3 test server: keys that need encoding sign
 * correctly, failures are retried or reported as the SDK reported them, so the advice in s3-errors.ts
 * still applies.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { classifyNetworkError } from "../../src/storage/network-error.ts";
import { StorageError } from "../../src/storage/object-store.ts";
import { S3Store } from "../../src/storage/s3.ts";
import { S3AnswerError } from "../../src/storage/s3-get.ts";
import { type FaultProxy, startFaultProxy } from "../helpers/fault-proxy.ts";
import { type S3Server, startS3Server } from "../helpers/s3-server.ts";

const BUCKET = "getter";

describe("GetObject without the SDK's middleware", () => {
  let s3: S3Server;
  let proxy: FaultProxy;
  const store = (endpoint: string, bucket = BUCKET) =>
    new S3Store({
      bucket,
      prefix: "p q",
      endpoint,
      forcePathStyle: true,
      skipVerify: false,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
    });
  beforeAll(async () => {
    s3 = await startS3Server({ buckets: [BUCKET] });
    proxy = await startFaultProxy(s3.endpoint, { seed: 3 });
  });
  afterAll(async () => {
    await proxy?.stop();
    await s3?.stop();
  });

  test("keys that need percent-encoding are signed as the server reads them", async () => {
    const direct = store(s3.endpoint);
    const keys = ["a b/c+d=e", "ünïcode/ключ", "bang!*'()~.-_", "semi;colon,comma&amp@at$dollar"];
    for (const [i, key] of keys.entries()) {
      const bytes = new Uint8Array([i, 1, 2, 3]);
      await direct.put(key, bytes);
      expect(await direct.get(key)).toEqual(bytes);
    }
    expect(await direct.get("a b/missing")).toBeNull();
  });

  test("a 503 SlowDown is retried; five 500s are reported with the server's code", async () => {
    const through = store(proxy.endpoint);
    await through.put("retried", new Uint8Array([9, 9]));
    proxy.requests.length = 0;
    proxy.setRules([{ kind: "slowdown-503", method: "GET", limit: 2 }]);
    expect(await through.get("retried")).toEqual(new Uint8Array([9, 9]));
    expect(proxy.requests.filter((r) => r.method === "GET").map((r) => r.status)).toEqual([503, 503, 200]);

    proxy.requests.length = 0;
    proxy.setRules([{ kind: "status-500", method: "GET" }]);
    const err = await through.get("retried").catch((e: unknown) => e);
    proxy.clearRules();
    expect(err).toBeInstanceOf(StorageError);
    expect((err as StorageError).message).toContain("InternalError (HTTP 500)");
    const cause = (err as StorageError).cause as S3AnswerError;
    expect(cause).toBeInstanceOf(S3AnswerError);
    expect(cause.$fault).toBe("server");
    expect(proxy.requests.filter((r) => r.method === "GET")).toHaveLength(5);
  });

  test("a missing bucket is an error, not a missing object", async () => {
    const err = await store(s3.endpoint, "no-such-bucket-here")
      .get("x")
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect((err as StorageError).message).toContain("NoSuchBucket (HTTP 404)");
  });

  test("an answer that is not S3's is recognised as such", async () => {
    // A web server in front of the wrong port answers HTML.
    const web = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: () => new Response("<html>Bad Request</html>", { status: 400 }),
    });
    try {
      const err = await store(`http://127.0.0.1:${web.port}`)
        .get("x")
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StorageError);
      expect(classifyNetworkError((err as StorageError).cause)?.kind).toBe("http-not-s3");
    } finally {
      web.stop(true);
    }
  });
});
