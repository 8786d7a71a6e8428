/** A large object comes down in parallel byte ranges; a range that breaks off is fetched again alone. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { StorageError } from "../../src/storage/object-store.ts";
import { S3Store } from "../../src/storage/s3.ts";
import { downloadInRanges, RANGE_BYTES } from "../../src/storage/s3-ranged-download.ts";
import { type FaultProxy, startFaultProxy } from "../helpers/fault-proxy.ts";
import { type S3Server, startS3Server } from "../helpers/s3-server.ts";

describe("ranged downloads", () => {
  let s3: S3Server;
  let proxy: FaultProxy;
  let store: S3Store;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "walship-ranged-"));
  const object = new Uint8Array(3 * RANGE_BYTES + 12_345).map((_, i) => (i * 2654435761) >>> 24);

  beforeAll(async () => {
    s3 = await startS3Server({ buckets: ["ranged"] });
    await s3.store("ranged", "").put("snap", object);
    proxy = await startFaultProxy(s3.endpoint, { seed: 3 });
    store = new S3Store({
      bucket: "ranged",
      prefix: "",
      endpoint: proxy.endpoint,
      region: s3.region,
      forcePathStyle: true,
      skipVerify: false,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
    });
  });
  afterAll(async () => {
    await proxy?.stop();
    await s3?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const gets = () => proxy.requests.filter((r) => r.method === "GET" && r.path.includes("/snap"));

  test("four ranges for an object of 3 ranges and a bit; two broken bodies cost two range requests", async () => {
    proxy.requests.length = 0;
    proxy.setRules([{ kind: "truncate", method: "GET", pathIncludes: "/snap", limit: 2 }]);
    const local = await store.getFile("snap", dir, object.length);
    expect(local).not.toBeNull();
    expect(local!.size).toBe(object.length);
    // getFile returns once the size is known; the reader follows the ranges as they arrive.
    await local!.ready!(local!.size);
    expect(Buffer.from(fs.readFileSync(local!.path)).equals(Buffer.from(object))).toBe(true);
    local!.release();
    const ranges = gets().map((r) => r.headers.range);
    expect(ranges.every((r) => r?.startsWith("bytes="))).toBe(true); // never the whole object
    expect(new Set(ranges).size).toBe(4);
    expect(ranges.length).toBe(4 + 2);
    // Every range but the first names the first answer's ETag.
    expect(gets().filter((r) => r.headers["if-match"] !== undefined).length).toBeGreaterThanOrEqual(3);
  });

  test("a range that keeps failing fails the download, naming the object, and leaves no file", async () => {
    proxy.setRules([{ kind: "truncate", method: "GET", pathIncludes: "/snap" }]);
    let error: unknown;
    let local: Awaited<ReturnType<typeof store.getFile>> = null;
    try {
      // The size may be known before the first range breaks off: then the failure comes to the reader.
      local = await store.getFile("snap", dir, object.length);
      await local!.ready!(local!.size);
    } catch (err) {
      error = err;
    }
    local?.release();
    proxy.setRules([]);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).message).toContain("snap");
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test("a missing object is null", async () => {
    expect(await store.getFile("nope", dir, 100 * RANGE_BYTES)).toBeNull();
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});

describe("ranged downloads against servers that answer otherwise", () => {
  const object = new Uint8Array(2 * RANGE_BYTES + 5).map((_, i) => i & 0xff);

  test("a server that ignores Range: the first answer is the whole object, and nothing more is asked", async () => {
    const out = new Uint8Array(object.length);
    let calls = 0;
    const size = await downloadInRanges({
      attempts: 2,
      fetch: async (_range, _ifMatch, at) => {
        calls++;
        out.set(object, at);
        return { contentRange: undefined, etag: '"e"', size: object.length };
      },
    });
    expect({ size, calls }).toEqual({ size: object.length, calls: 1 });
    expect(out).toEqual(object);
  });

  test("an object replaced during the download fails instead of mixing two versions", async () => {
    let calls = 0;
    const download = downloadInRanges({
      attempts: 1,
      fetch: async (range) => {
        calls++;
        const [start, end] = range.slice(6).split("-").map(Number) as [number, number];
        // After the first range the object is shorter: another upload replaced it.
        const total = calls === 1 ? object.length : RANGE_BYTES + 1;
        const last = Math.min(end, total - 1);
        return {
          contentRange: `bytes ${start}-${last}/${total}`,
          etag: calls === 1 ? '"a"' : '"b"',
          size: last + 1 - start,
        };
      },
    });
    await expect(download).rejects.toThrow(/changed during the download/);
  });
});
