// The fault proxy against the real pieces it is meant for: s3rver behind it, S3Store (AWS SDK over
// node:http) in front. Each fault is checked from the client's side, so these tests also document what
// the SDK does with it.
import { afterAll, beforeAll, beforeEach, describe, expect, spyOn, test } from "bun:test";
import { S3Store } from "../../src/storage/s3.ts";
import { type FaultProxy, type RecordedRequest, startFaultProxy } from "./fault-proxy.ts";
import { type S3Server, startS3Server } from "./s3-server.ts";

const BUCKET = "fault-proxy";
let server: S3Server;
let proxy: FaultProxy;

beforeAll(async () => {
  server = await startS3Server({ buckets: [BUCKET] });
  proxy = await startFaultProxy(server.endpoint, { seed: 7 });
});

afterAll(async () => {
  await proxy?.stop();
  await server?.stop();
});

beforeEach(() => {
  proxy.clearRules();
  proxy.requests.length = 0;
});

/** A fresh store (fresh SDK client, so a fresh retry budget) talking to the proxy. */
function store(): S3Store {
  return new S3Store({
    bucket: BUCKET,
    prefix: "p",
    endpoint: proxy.endpoint,
    forcePathStyle: true,
    skipVerify: false,
    accessKeyId: server.accessKeyId,
    secretAccessKey: server.secretAccessKey,
  });
}

function bytes(n: number, salt = 0): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + salt) & 0xff;
  return out;
}

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    if (err instanceof Error) return err;
    throw new Error(`rejected with a non-Error: ${String(err)}`);
  }
  throw new Error("expected a rejection");
}

/** The message of an error and of everything in its cause chain. */
function messages(err: unknown): string {
  const parts: string[] = [];
  for (let e = err, depth = 0; e instanceof Error && depth < 10; e = e.cause, depth++) {
    parts.push(`${e.name}: ${e.message}${"code" in e ? ` (${String(e.code)})` : ""}`);
  }
  return parts.join(" <- ");
}

function puts(): RecordedRequest[] {
  return proxy.requests.filter((r) => r.method === "PUT");
}

describe("pass-through", () => {
  test("put/get/list/delete work and the recorded requests show what the client sent", async () => {
    const s = store();
    const data = bytes(100_000);
    await s.put("obj", data);

    const [put] = puts();
    expect(put).toBeDefined();
    expect(put!.method).toBe("PUT");
    expect(put!.path.startsWith(`/${BUCKET}/p/obj`)).toBe(true);
    expect(put!.headers["x-amz-content-sha256"]).toMatch(/^[0-9a-f]{64}$/);
    // The Host the client signed reached s3rver unchanged, or s3rver would have refused the signature.
    expect(put!.headers.host).toBe(`127.0.0.1:${proxy.port}`);
    expect(put!.bodyBytes).toBe(data.length);
    expect(put!.status).toBe(200);
    expect(put!.fault).toBeUndefined();
    expect(await server.objectBytes(BUCKET, "p/obj")).toEqual(data);

    expect(await s.get("obj")).toEqual(data);
    expect(await s.get("missing")).toBeNull();
    const listing = await s.list("", { delimiter: false });
    expect(listing.objects.map((o) => [o.key, o.size])).toContainEqual(["obj", data.length]);
    await s.delete(["obj"]);
    expect(await server.objectBytes(BUCKET, "p/obj")).toBeNull();

    expect(proxy.requests.map((r) => r.status)).toEqual([200, 200, 404, 200, 200]);
    expect(proxy.stats()).toEqual({
      "status-500": 0,
      "slowdown-503": 0,
      "not-implemented-501": 0,
      reset: 0,
      delay: 0,
      truncate: 0,
    });
  });

  test("a put of 2 MiB or more (SDK sends Expect: 100-continue) goes through without the SDK's 6 s wait", async () => {
    const data = bytes(3_000_000, 1);
    const t0 = performance.now();
    await store().put("big", data);
    expect(performance.now() - t0).toBeLessThan(3_000);
    const [put] = puts();
    expect(put!.headers.expect).toBe("100-continue");
    expect(put!.bodyBytes).toBe(data.length);
    expect(await server.objectBytes(BUCKET, "p/big")).toEqual(data);
  });
});

describe("faults as the SDK sees them", () => {
  test("status-500 on the first 3 requests: the SDK retries and the put succeeds", async () => {
    proxy.setRules([{ kind: "status-500", limit: 3 }]);
    const data = bytes(10_000, 2);
    await store().put("retried", data);
    expect(puts().map((r) => r.status)).toEqual([500, 500, 500, 200]);
    expect(puts().map((r) => r.headers["amz-sdk-request"]?.split(";")[0])).toEqual([
      "attempt=1",
      "attempt=2",
      "attempt=3",
      "attempt=4",
    ]);
    expect(proxy.stats()["status-500"]).toBe(3);
    expect(await server.objectBytes(BUCKET, "p/retried")).toEqual(data);
  });

  test("slowdown-503 once: the SDK backs off (throttling) and the put succeeds", async () => {
    proxy.setRules([{ kind: "slowdown-503", limit: 1 }]);
    await store().put("throttled-once", bytes(1000, 3));
    expect(puts().map((r) => [r.status, r.fault])).toEqual([
      [503, "slowdown-503"],
      [200, undefined],
    ]);
  });

  test("slowdown-503 on every request: the put fails with SlowDown after all 5 attempts", async () => {
    // The SDK's throttling backoff is random() * 1 s * 2^retry, about 7.5 s on average for the four
    // retries (10 s measured); pinning random() to 0 keeps the real retry path but drops the waiting.
    const random = spyOn(Math, "random").mockReturnValue(0);
    try {
      proxy.setRules([{ kind: "slowdown-503" }]);
      const err = await failure(store().put("throttled", bytes(1000, 4)));
      expect(messages(err)).toMatch(/SlowDown|503/);
      expect(puts().map((r) => r.status)).toEqual([503, 503, 503, 503, 503]);
      expect(proxy.stats()["slowdown-503"]).toBe(5);
    } finally {
      random.mockRestore();
    }
  });

  test("reset mid-upload: the put fails with ECONNRESET after 5 attempts; without the rule it succeeds", async () => {
    const s = store();
    const data = bytes(3_000_000, 5);
    proxy.setRules([{ kind: "reset" }]);
    const err = await failure(s.put("reset", data));
    expect(messages(err)).toContain("ECONNRESET");
    const attempts = puts();
    expect(attempts).toHaveLength(5);
    for (const r of attempts) {
      expect(r.status).toBe(0);
      expect(r.fault).toBe("reset");
      // Reset after part of the body: the client was still uploading.
      expect(r.bodyBytes).toBeGreaterThan(0);
      expect(r.bodyBytes).toBeLessThan(data.length);
    }
    expect(await server.objectBytes(BUCKET, "p/reset")).toBeNull();

    proxy.clearRules();
    await s.put("reset", data);
    expect(await server.objectBytes(BUCKET, "p/reset")).toEqual(data);
  });

  test("reset on a bodyless GET fails the same way", async () => {
    const s = store();
    await s.put("reset-get", bytes(100, 6));
    proxy.setRules([{ kind: "reset", method: "GET" }]);
    const err = await failure(s.get("reset-get"));
    expect(messages(err)).toContain("ECONNRESET");
    // Five attempts; fetch (which sends GETs, see s3-get.ts) may itself resend one whose pooled
    // keep-alive connection was reset.
    const resets = proxy.requests.filter((r) => r.fault === "reset").length;
    expect(resets).toBeGreaterThanOrEqual(5);
    expect(resets).toBeLessThanOrEqual(10);
  });

  test("delay holds the request for at least delayMs, then forwards it", async () => {
    proxy.setRules([{ kind: "delay", delayMs: 300, method: "PUT" }]);
    const data = bytes(1000, 7);
    const t0 = performance.now();
    await store().put("delayed", data);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(300);
    expect(puts().map((r) => [r.status, r.fault])).toEqual([[200, "delay"]]);
    // s3rver answers 200 before its file write has finished (stores/filesystem.js resolves on the
    // transform's finish, not the file's): on a loaded machine the file can still be empty. Wait for it.
    let stored = await server.objectBytes(BUCKET, "p/delayed");
    for (let i = 0; i < 40 && stored?.length !== data.length; i++) {
      await Bun.sleep(25);
      stored = await server.objectBytes(BUCKET, "p/delayed");
    }
    expect(stored).toEqual(data);
  });

  test("truncate on GetObject: the SDK does not retry a cut body, S3Store.get does", async () => {
    const s = store();
    const data = bytes(200_000, 8);
    await s.put("truncated", data);
    proxy.requests.length = 0;
    proxy.setRules([{ kind: "truncate", method: "GET", limit: 1 }]);

    // The body is read after the SDK's retry loop; S3Store retries the whole download itself.
    expect(await s.get("truncated")).toEqual(data);
    expect(proxy.requests.map((r) => [r.status, r.fault])).toEqual([
      [200, "truncate"],
      [200, undefined],
    ]);
  });

  test("truncate on a ListObjectsV2 answer: the SDK parses the body inside its retry loop and retries", async () => {
    const s = store();
    await s.put("listed", bytes(10, 9));
    proxy.requests.length = 0;
    proxy.setRules([{ kind: "truncate", pathIncludes: "list-type=2", limit: 1 }]);
    const listing = await s.list("", { delimiter: false });
    expect(listing.objects.map((o) => o.key)).toContain("listed");
    expect(proxy.requests.map((r) => r.fault)).toEqual(["truncate", undefined]);
  });
});

describe("rule selection", () => {
  /** Sends `n` sequential plain requests through a fresh proxy; returns which ones were faulted. */
  async function faultPattern(seed: number, probability: number, n: number): Promise<number[]> {
    const p = await startFaultProxy(server.endpoint, { seed });
    try {
      p.setRules([{ kind: "status-500", probability }]);
      for (let i = 0; i < n; i++) {
        const res = await fetch(`${p.endpoint}/${BUCKET}?n=${i}`);
        await res.arrayBuffer();
      }
      const faulted = p.requests.flatMap((r, i) => (r.fault ? [i] : []));
      expect(p.requests.filter((r) => r.status === 500).length).toBe(faulted.length);
      return faulted;
    } finally {
      await p.stop();
    }
  }

  test("probability is roughly respected and repeatable for a seed", async () => {
    const a = await faultPattern(1234, 0.1, 200);
    expect(a.length).toBeGreaterThanOrEqual(5);
    expect(a.length).toBeLessThanOrEqual(40);
    expect(await faultPattern(1234, 0.1, 200)).toEqual(a);
    expect(await faultPattern(4321, 0.1, 200)).not.toEqual(a);
  });

  test("first firing rule wins; method, pathIncludes and limit filter", async () => {
    proxy.setRules([
      { kind: "slowdown-503", method: "put", pathIncludes: "/only-this", limit: 1 },
      { kind: "status-500", method: "GET", limit: 2 },
    ]);
    const get = async (path: string) => (await fetch(`${proxy.endpoint}${path}`)).status;
    const put = async (path: string) => (await fetch(`${proxy.endpoint}${path}`, { method: "PUT" })).status;
    expect(await put(`/${BUCKET}/other`)).not.toBe(503);
    expect(await put(`/${BUCKET}/only-this`)).toBe(503);
    expect(await put(`/${BUCKET}/only-this`)).not.toBe(503);
    expect(await get(`/${BUCKET}`)).toBe(500);
    expect(await get(`/${BUCKET}`)).toBe(500);
    expect(await get(`/${BUCKET}`)).not.toBe(500);
    expect(proxy.stats()).toMatchObject({ "slowdown-503": 1, "status-500": 2 });
    const body = await (await fetch(`${proxy.endpoint}/x`, { method: "PUT" })).text();
    expect(body).not.toContain("SlowDown");
  });

  test("injected error bodies are S3-style XML", async () => {
    proxy.setRules([{ kind: "slowdown-503", limit: 1 }, { kind: "status-500" }]);
    const slow = await fetch(`${proxy.endpoint}/${BUCKET}/k`);
    expect(slow.headers.get("content-type")).toBe("application/xml");
    expect(await slow.text()).toContain(
      "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message>",
    );
    expect(await (await fetch(`${proxy.endpoint}/${BUCKET}/k`)).text()).toContain(
      "<Error><Code>InternalError</Code>",
    );
  });

  test("bad rules are refused", () => {
    expect(() => proxy.setRules([{ kind: "reset", probability: 1.5 }])).toThrow(RangeError);
    expect(() => proxy.setRules([{ kind: "delay", delayMs: -1 }])).toThrow(RangeError);
    expect(() => proxy.setRules([{ kind: "reset", limit: 0.5 }])).toThrow(RangeError);
  });
});

test("stop() is prompt with keep-alive clients and a request held by a delay rule", async () => {
  const p = await startFaultProxy(server.endpoint);
  const s = new S3Store({
    bucket: BUCKET,
    prefix: "stop",
    endpoint: p.endpoint,
    forcePathStyle: true,
    skipVerify: false,
    accessKeyId: server.accessKeyId,
    secretAccessKey: server.secretAccessKey,
  });
  await s.put("warm", bytes(10)); // leaves an idle keep-alive connection to the proxy
  p.setRules([{ kind: "delay", delayMs: 30_000 }]);
  const held = fetch(`${p.endpoint}/${BUCKET}`).then(
    () => "answered",
    () => "failed",
  );
  await Bun.sleep(50);
  const t0 = performance.now();
  await p.stop();
  expect(performance.now() - t0).toBeLessThan(1_000);
  expect(await held).toBe("failed");
  await p.stop(); // twice is fine
  await expect(fetch(`${p.endpoint}/`)).rejects.toThrow();
});
