import { afterAll, beforeAll, expect, test } from "bun:test";
import { S3Store } from "../../src/storage/s3.ts";
import { type S3Server, startS3Server } from "../helpers/s3-server.ts";
import { objectStoreConformance } from "./conformance.ts";

let s3: S3Server;
beforeAll(async () => {
  s3 = await startS3Server({ buckets: ["conformance"] });
});
afterAll(async () => {
  await s3?.stop();
});

let n = 0;
function store(extra: Partial<ConstructorParameters<typeof S3Store>[0]> = {}): S3Store {
  return new S3Store({
    bucket: "conformance",
    prefix: `p${n++}/replica`,
    endpoint: s3.endpoint,
    forcePathStyle: true,
    skipVerify: false,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    ...extra,
  });
}

objectStoreConformance("s3", () => store());

test("what the server stores is exactly what walship meant to write, single and multipart", async () => {
  const s = store({ multipartThreshold: 6 * 1024 * 1024 });
  const small = new Uint8Array(300_000).map((_, i) => (i * 13) & 0xff);
  const large = new Uint8Array(13 * 1024 * 1024).map((_, i) => (i * 31 + (i >> 12)) & 0xff);
  await s.put("small.bin", small);
  await s.put("large.bin", large);
  expect(await s3.objectBytes("conformance", `${s.opts.prefix}/small.bin`)).toEqual(small);
  expect(await s3.objectBytes("conformance", `${s.opts.prefix}/large.bin`)).toEqual(large);
  expect(await s.get("large.bin")).toEqual(large);
});

test("a stream larger than one part goes up as a multipart upload, byte for byte", async () => {
  const s = store();
  const chunk = new Uint8Array(4 * 1024 * 1024).map((_, i) => (i * 7 + (i >> 10)) & 0xff);
  async function* gen() {
    for (let i = 0; i < 5; i++) yield chunk;
  }
  const { size } = await s.putStream("big.bin", gen());
  expect(size).toBe(20 * 1024 * 1024);
  const stored = await s3.objectBytes("conformance", `${s.opts.prefix}/big.bin`);
  expect(stored?.length).toBe(size);
  expect(stored?.subarray(16 * 1024 * 1024, 16 * 1024 * 1024 + 4096)).toEqual(chunk.subarray(0, 4096));
});

test("pagination: listings past 1,000 keys are complete", async () => {
  const s = store();
  const keys = Array.from({ length: 1100 }, (_, i) => `many/${String(i).padStart(5, "0")}`);
  for (let i = 0; i < keys.length; i += 50) {
    await Promise.all(keys.slice(i, i + 50).map((k) => s.put(k, new Uint8Array([1]))));
  }
  const listed = await s.list("many/", { delimiter: true });
  expect(listed.objects.map((o) => o.key).sort()).toEqual(keys);
}, 60_000);
