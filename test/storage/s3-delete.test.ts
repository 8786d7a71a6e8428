/**
 * Deleting from servers without multi-object delete (Google Cloud Storage's XML API answers DeleteObjects
 * with 501): the store falls back to one DeleteObject per key, for this and every later delete.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { S3Store } from "../../src/storage/s3.ts";
import { type FaultProxy, startFaultProxy } from "../helpers/fault-proxy.ts";
import { type S3Server, startS3Server } from "../helpers/s3-server.ts";

const BUCKET = "deleter";
let s3: S3Server;
let proxy: FaultProxy;

beforeAll(async () => {
  s3 = await startS3Server({ buckets: [BUCKET] });
  proxy = await startFaultProxy(s3.endpoint, { seed: 5 });
});
afterAll(async () => {
  await proxy?.stop();
  await s3?.stop();
});

test("a 501 to DeleteObjects turns deletes into one request per object, which delete everything", async () => {
  const store = new S3Store({
    bucket: BUCKET,
    prefix: "p",
    endpoint: proxy.endpoint,
    forcePathStyle: true,
    skipVerify: false,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
  });
  const keys = ["a", "b/c", "d e"];
  for (const k of keys) await store.put(k, new Uint8Array([1, 2, 3]));
  proxy.setRules([{ kind: "not-implemented-501", method: "POST", pathIncludes: "delete" }]);
  proxy.requests.length = 0;
  await store.delete([...keys, "never-there"]);
  for (const k of keys) expect(await s3.objectBytes(BUCKET, `p/${k}`)).toBeNull();
  expect(proxy.requests.map((r) => [r.method, r.status])).toEqual([
    ["POST", 501],
    ["DELETE", 204],
    ["DELETE", 204],
    ["DELETE", 204],
    ["DELETE", 204],
  ]);

  // Remembered: the next delete goes one by one at once.
  await store.put("f", new Uint8Array([4]));
  proxy.requests.length = 0;
  await store.delete(["f"]);
  expect(proxy.requests.map((r) => r.method)).toEqual(["DELETE"]);
  expect(await s3.objectBytes(BUCKET, "p/f")).toBeNull();
});
