// Proves the patched s3rver behaves like S3 for what walship needs, using the real AWS SDK.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { stat } from "node:fs/promises";
import {
  CreateBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { type S3Server, startS3Server } from "./s3-server.ts";

let server: S3Server;
let s3: S3Client;

beforeAll(async () => {
  server = await startS3Server({ buckets: ["preset-bucket"] });
  s3 = new S3Client({
    endpoint: server.endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    // s3rver predates the SDK's default CRC32 checksums.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
});

afterAll(async () => {
  s3?.destroy();
  await server?.stop();
});

// Deliberately not in sorted order, and with keys whose on-disk order differs from key order
// ("a/b" lives in directory "a"; "a.c" < "a/b" < "a0" as keys; "a-b" < "a" on disk because of
// the "._S3rver_object" suffix).
const PAGINATION_KEYS = ["a0", "a/b", "a-b", "a.c", "a", "z/y/x", "m"];

async function putKeys(bucket: string, keys: string[]): Promise<void> {
  for (const key of keys) {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: new TextEncoder().encode(key) }));
  }
}

describe("startS3Server", () => {
  test("exposes endpoint, port and storage dir; creates requested buckets", async () => {
    expect(server.port).toBeGreaterThan(0);
    expect(server.endpoint).toBe(`http://127.0.0.1:${server.port}`);
    expect((await stat(`${server.dir}/preset-bucket`)).isDirectory()).toBe(true);
    const res = await s3.send(new ListObjectsV2Command({ Bucket: "preset-bucket" }));
    expect(res.KeyCount).toBe(0);
  });

  test("put/get are byte-identical, and objectBytes sees the stored bytes", async () => {
    const bucket = "put-get";
    await server.createBucket(bucket);
    const body = new Uint8Array(70_000);
    for (let i = 0; i < body.length; i++) body[i] = (i * 31 + 7) & 0xff;
    const key = "db/generations/0123456789abcdef/wal/00000000_00000000.wal.lz4";

    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const bytes = await got.Body?.transformToByteArray();

    expect(bytes).toEqual(body);
    expect(await server.objectBytes(bucket, key)).toEqual(body);
    expect(await server.objectBytes(bucket, "missing")).toBeNull();
  });

  test("ListObjectsV2 pagination returns every key once, in order", async () => {
    const bucket = "list-v2";
    await server.createBucket(bucket);
    await putKeys(bucket, PAGINATION_KEYS);

    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const res = await s3.send(
        new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 2, ContinuationToken: token }),
      );
      pages++;
      for (const obj of res.Contents ?? []) seen.push(obj.Key ?? "");
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
      if (res.IsTruncated) expect(token).toBeTruthy();
    } while (token && pages < 20);

    expect(seen).toEqual([...PAGINATION_KEYS].sort());
    expect(pages).toBe(4);
  });

  test("ListObjects (v1) pagination returns every key once, in order", async () => {
    const bucket = "list-v1";
    await server.createBucket(bucket);
    await putKeys(bucket, PAGINATION_KEYS);

    const seen: string[] = [];
    let marker: string | undefined;
    let pages = 0;
    for (;;) {
      const res = await s3.send(new ListObjectsCommand({ Bucket: bucket, MaxKeys: 2, Marker: marker }));
      pages++;
      const keys = (res.Contents ?? []).map((obj) => obj.Key ?? "");
      seen.push(...keys);
      if (!res.IsTruncated || pages >= 20) break;
      // Without a delimiter S3 omits NextMarker; the last key is the marker.
      marker = res.NextMarker ?? keys[keys.length - 1];
    }

    expect(seen).toEqual([...PAGINATION_KEYS].sort());
    expect(pages).toBe(4);
  });

  test("delimiter listing reports prefixes whose subtree holds only nested directories", async () => {
    const bucket = "delimiter";
    await server.createBucket(bucket);
    await putKeys(bucket, [
      "db/generations/0123456789abcdef/wal/00000000_00000000.wal.lz4",
      "db/generations/0123456789abcdef/snapshots/00000000.snapshot.lz4",
      "db/generations/fedcba9876543210/wal/00000001_00000000.wal.lz4",
      "db/other",
    ]);

    const res = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: "db/generations/", Delimiter: "/" }),
    );
    expect(res.Contents ?? []).toEqual([]);
    expect((res.CommonPrefixes ?? []).map((p) => p.Prefix)).toEqual([
      "db/generations/0123456789abcdef/",
      "db/generations/fedcba9876543210/",
    ]);

    const v1 = await s3.send(new ListObjectsCommand({ Bucket: bucket, Prefix: "db/", Delimiter: "/" }));
    expect((v1.Contents ?? []).map((o) => o.Key)).toEqual(["db/other"]);
    expect((v1.CommonPrefixes ?? []).map((p) => p.Prefix)).toEqual(["db/generations/"]);
  });

  test("DeleteObjects removes the objects", async () => {
    const bucket = "delete-objects";
    await server.createBucket(bucket);
    await putKeys(bucket, ["keep", "gone/1", "gone/2"]);

    const res = await s3.send(
      new DeleteObjectsCommand({
        Bucket: bucket,
        Delete: { Objects: [{ Key: "gone/1" }, { Key: "gone/2" }] },
      }),
    );
    expect((res.Deleted ?? []).map((d) => d.Key).sort()).toEqual(["gone/1", "gone/2"]);
    expect(res.Errors ?? []).toEqual([]);

    const list = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    expect((list.Contents ?? []).map((o) => o.Key)).toEqual(["keep"]);
    expect(await server.objectBytes(bucket, "gone/1")).toBeNull();
    expect(await server.objectBytes(bucket, "keep")).toEqual(new TextEncoder().encode("keep"));
  });

  test("GetObject of a missing key fails with NoSuchKey", async () => {
    const bucket = "missing-key";
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const err = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "nope" })).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(NoSuchKey);
    expect((err as NoSuchKey).name).toBe("NoSuchKey");
  });
});

describe("S3Server lifecycle", () => {
  test("createBucket rejects an invalid bucket name with the server's error", async () => {
    await expect(server.createBucket("Bad_Name")).rejects.toThrow(/InvalidBucketName/);
  });

  test("stop() kills the server and removes its directory, and may be called twice", async () => {
    const other = await startS3Server();
    expect(other.port).not.toBe(server.port);
    expect((await fetch(`${other.endpoint}/`)).status).toBe(200);
    await other.stop();
    await other.stop();
    await expect(stat(other.dir)).rejects.toThrow();
    await expect(fetch(`${other.endpoint}/`)).rejects.toThrow();
  });
});
