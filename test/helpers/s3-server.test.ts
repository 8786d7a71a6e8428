// Proves the patched s3rver behaves like S3 for what walship needs, using the real AWS SDK.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { stat } from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import { isAbsolute } from "node:path";
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
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { isLocalhostName, localhostLookup, type S3Server, startS3Server, TEST_TLS } from "./s3-server.ts";

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

// --- TLS and virtual-hosted style --------------------------------------------------------------

interface ClientOptions {
  endpoint: string;
  forcePathStyle: boolean;
  /** Extra https.Agent options: `ca`, `rejectUnauthorized`. */
  tls?: https.AgentOptions;
}

interface RecordingClient {
  s3: S3Client;
  /** Host name and path of every request the SDK sent (after endpoint resolution and signing). */
  requests: { hostname: string; path: string }[];
  /** Names resolved through the agents' lookup. */
  lookups: string[];
}

/**
 * An SDK client on NodeHttpHandler whose agents resolve *.localhost to 127.0.0.1 (the system
 * resolver does not) and record what they resolve.
 */
function makeClient(srv: S3Server, opts: ClientOptions): RecordingClient {
  const lookups: string[] = [];
  const lookup: typeof localhostLookup = (hostname, options, callback) => {
    lookups.push(hostname);
    localhostLookup(hostname, options, callback);
  };
  const s3 = new S3Client({
    endpoint: opts.endpoint,
    region: srv.region,
    forcePathStyle: opts.forcePathStyle,
    credentials: { accessKeyId: srv.accessKeyId, secretAccessKey: srv.secretAccessKey },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    // A certificate error is not transient; fail on the first attempt.
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({
      httpAgent: new http.Agent({ keepAlive: true, lookup }),
      httpsAgent: new https.Agent({ keepAlive: true, lookup, ...opts.tls }),
    }),
  });
  const requests: { hostname: string; path: string }[] = [];
  s3.middlewareStack.add(
    (next) => async (args) => {
      const request: unknown = args.request;
      if (
        typeof request === "object" &&
        request !== null &&
        "hostname" in request &&
        typeof request.hostname === "string" &&
        "path" in request &&
        typeof request.path === "string"
      ) {
        requests.push({ hostname: request.hostname, path: request.path });
      }
      return next(args);
    },
    { step: "finalizeRequest", name: "recordRequestTarget" },
  );
  return { s3, requests, lookups };
}

/** Put, get, list one object; checks the bytes the server stored. */
async function roundTrip(srv: S3Server, s3: S3Client, bucket: string, key: string): Promise<void> {
  const body = new TextEncoder().encode(`body of ${bucket}/${key}`);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  expect(await got.Body?.transformToByteArray()).toEqual(body);
  const list = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  expect((list.Contents ?? []).map((o) => o.Key)).toEqual([key]);
  expect(await srv.objectBytes(bucket, key)).toEqual(body);
}

/** The error a promise rejects with (fails the test if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (err: unknown) => err,
  );
}

function errorCode(err: unknown): string {
  return typeof err === "object" && err !== null && "code" in err ? String(err.code) : "";
}

describe("localhostLookup", () => {
  test("maps localhost names to 127.0.0.1 in both callback forms", async () => {
    expect(isLocalhostName("localhost")).toBe(true);
    expect(isLocalhostName("Bucket.S3.localhost.")).toBe(true);
    expect(isLocalhostName("notlocalhost")).toBe(false);
    expect(isLocalhostName("localhost.example.com")).toBe(false);

    const single = await new Promise<[string | unknown[], number | undefined]>((resolve, reject) =>
      localhostLookup("bkt.s3.localhost", {}, (err, address, family) =>
        err ? reject(err) : resolve([address, family]),
      ),
    );
    expect(single).toEqual(["127.0.0.1", 4]);
    const all = await new Promise<string | unknown[]>((resolve, reject) =>
      localhostLookup("s3.localhost", { all: true }, (err, address) =>
        err ? reject(err) : resolve(address),
      ),
    );
    expect(all).toEqual([{ address: "127.0.0.1", family: 4 }]);
  });
});

describe("virtual-hosted style over HTTP", () => {
  test("vhostEndpoint is s3.localhost on the same port", () => {
    expect(server.tls).toBe(false);
    expect(server.vhostEndpoint).toBe(`http://s3.localhost:${server.port}`);
  });

  test("put/get/list via BUCKET.s3.localhost:PORT", async () => {
    const bucket = "vhost-http";
    await server.createBucket(bucket);
    const { s3, requests, lookups } = makeClient(server, {
      endpoint: server.vhostEndpoint,
      forcePathStyle: false,
    });
    try {
      await roundTrip(server, s3, bucket, "dir/vhost-object");
    } finally {
      s3.destroy();
    }
    // The bucket travelled only in the Host name, so storing it in `bucket` (checked by
    // roundTrip through objectBytes) means s3rver took it from there.
    expect(requests.length).toBe(3);
    for (const req of requests) {
      expect(req.hostname).toBe(`${bucket}.s3.localhost`);
      expect(req.path.startsWith(`/${bucket}`)).toBe(false);
    }
    expect(lookups).toContain(`${bucket}.s3.localhost`);
  });

  test("s3rver reads the bucket from a BUCKET.s3.localhost Host header", async () => {
    // Without the SDK: the same request line, told apart only by the Host header.
    const bucket = "vhost-raw";
    await server.createBucket(bucket);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "k", Body: new TextEncoder().encode("raw") }));

    const vhost = await rawGet(server.port, `${bucket}.s3.localhost:${server.port}`, "/k");
    expect(vhost).toEqual({ status: 200, body: "raw" });
    // Path style would read "/k" as bucket "k".
    const pathStyle = await rawGet(server.port, `127.0.0.1:${server.port}`, "/k");
    expect(pathStyle.status).toBe(404);
    expect(pathStyle.body).toContain("NoSuchBucket");
  });
});

/** An anonymous GET to 127.0.0.1:port with the given Host header (s3rver allows anonymous reads). */
function rawGet(port: number, host: string, urlPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path: urlPath, headers: { host } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

describe("HTTPS", () => {
  let tlsServer: S3Server;
  let ca: Buffer;

  beforeAll(async () => {
    tlsServer = await startS3Server({ buckets: ["tls-bucket"], tls: true });
    ca = readFileSync(tlsServer.caFile);
  });

  afterAll(async () => {
    await tlsServer?.stop();
  });

  test("exposes https endpoints and the CA file; createBucket works over TLS", async () => {
    expect(tlsServer.tls).toBe(true);
    expect(tlsServer.endpoint).toBe(`https://127.0.0.1:${tlsServer.port}`);
    expect(tlsServer.vhostEndpoint).toBe(`https://s3.localhost:${tlsServer.port}`);
    expect(isAbsolute(tlsServer.caFile)).toBe(true);
    expect(tlsServer.caFile).toBe(TEST_TLS.caFile);
    expect((await stat(`${tlsServer.dir}/tls-bucket`)).isDirectory()).toBe(true);
    // The plain HTTP server reports the same CA path, though it does not use it.
    expect(server.caFile).toBe(TEST_TLS.caFile);
  });

  test("path style: put/get/list when the client trusts ca.pem", async () => {
    const { s3, requests } = makeClient(tlsServer, {
      endpoint: tlsServer.endpoint,
      forcePathStyle: true,
      tls: { ca },
    });
    try {
      await roundTrip(tlsServer, s3, "tls-bucket", "db/https-object");
    } finally {
      s3.destroy();
    }
    expect(requests.every((r) => r.hostname === "127.0.0.1" && r.path.startsWith("/tls-bucket/"))).toBe(true);
  });

  test("fails with a certificate error when the client does not trust the CA", async () => {
    const { s3 } = makeClient(tlsServer, { endpoint: tlsServer.endpoint, forcePathStyle: true });
    try {
      const err = await rejection(s3.send(new ListObjectsV2Command({ Bucket: "tls-bucket" })));
      // Node and Bun both report an unverifiable leaf (the CA is not in their trust store).
      expect(errorCode(err)).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT|SELF_SIGNED/);
    } finally {
      s3.destroy();
    }
  });

  test("does not answer plain HTTP", async () => {
    await expect(fetch(`http://127.0.0.1:${tlsServer.port}/`)).rejects.toThrow();
  });

  test("works with rejectUnauthorized: false", async () => {
    const { s3 } = makeClient(tlsServer, {
      endpoint: tlsServer.endpoint,
      forcePathStyle: true,
      tls: { rejectUnauthorized: false },
    });
    try {
      await s3.send(new CreateBucketCommand({ Bucket: "tls-insecure" }));
      await roundTrip(tlsServer, s3, "tls-insecure", "insecure-object");
    } finally {
      s3.destroy();
    }
  });

  test("virtual-hosted style: BUCKET.s3.localhost matches the *.s3.localhost certificate", async () => {
    const bucket = "vhost-https";
    await tlsServer.createBucket(bucket);
    const { s3, requests } = makeClient(tlsServer, {
      endpoint: tlsServer.vhostEndpoint,
      forcePathStyle: false,
      tls: { ca },
    });
    try {
      await roundTrip(tlsServer, s3, bucket, "vhost/tls-object");
    } finally {
      s3.destroy();
    }
    expect(requests.length).toBe(3);
    for (const req of requests) {
      expect(req.hostname).toBe(`${bucket}.s3.localhost`);
      expect(req.path.startsWith(`/${bucket}`)).toBe(false);
    }
  });
});
