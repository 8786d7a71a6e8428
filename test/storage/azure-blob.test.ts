/** The Azure Blob Storage backend against Azurite on loopback (test/helpers/azurite.ts). */
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { AzureBlobStore, BLOCK_BYTES } from "../../src/storage/azure-blob.ts";
import { StorageError } from "../../src/storage/object-store.ts";
import { type Azurite, azuriteMissing, startAzurite } from "../helpers/azurite.ts";
import { objectStoreConformance } from "./conformance.ts";

/** In CI Azurite must run (it comes with npm ci), so a missing one fails; elsewhere it skips, saying why. */
const missing = process.env.CI ? undefined : azuriteMissing();
const available = missing === undefined;
if (!available) console.warn(`skipping the Azure Blob Storage tests: ${missing}`);

const CONTAINER = "walship";
let server: Azurite;

beforeAll(async () => {
  if (!available) return;
  server = await startAzurite();
  await server.createContainer(CONTAINER);
}, 60_000);
afterAll(async () => {
  await server?.close();
});

let n = 0;
function store(opts: { container?: string; accountKey?: string; prefix?: string } = {}): AzureBlobStore {
  return new AzureBlobStore({
    accountName: server.accountName,
    accountKey: opts.accountKey ?? server.accountKey,
    container: opts.container ?? CONTAINER,
    prefix: opts.prefix ?? `store-${n++}/db`,
    endpoint: server.endpoint,
  });
}

if (available) {
  objectStoreConformance("abs", store);
  objectStoreConformance("abs at the container root", () => store({ prefix: "" }));
}

test.skipIf(!available)(
  "a stream of several blocks is committed whole, byte for byte",
  async () => {
    const s = store();
    const total = 2 * BLOCK_BYTES + 12_345;
    const data = new Uint8Array(total).map((_, i) => (i * 31 + (i >> 13)) & 0xff);
    async function* gen() {
      // Pieces that straddle block boundaries.
      for (let at = 0; at < total; at += 3_000_001) yield data.subarray(at, Math.min(total, at + 3_000_001));
    }
    const { size } = await s.putStream("big/obj", gen());
    expect(size).toBe(total);
    expect(Buffer.from((await s.get("big/obj"))!).equals(Buffer.from(data))).toBe(true);
    const listed = await s.list("big/", { delimiter: false });
    expect(listed.objects.map((o) => o.size)).toEqual([total]);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "walship-abs-"));
    try {
      const file = await s.getFile("big/obj", tmp);
      expect(file?.size).toBe(total);
      expect(fs.readFileSync(file!.path).equals(Buffer.from(data))).toBe(true);
      file!.release();
      expect(fs.existsSync(file!.path)).toBe(false);
      expect(await s.getFile("big/missing", tmp)).toBeNull();
      expect(fs.readdirSync(tmp)).toEqual([]);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  },
  60_000,
);

test.skipIf(!available)(
  "a stream that fails after a staged block leaves no blob, nor replaces one",
  async () => {
    const s = store();
    await s.put("half/obj", new Uint8Array([1, 2, 3]));
    async function* failing() {
      yield new Uint8Array(BLOCK_BYTES + 1);
      throw new Error("compressor failed");
    }
    await expect(s.putStream("half/obj", failing())).rejects.toThrow("compressor failed");
    await expect(s.putStream("half/new", failing())).rejects.toThrow("compressor failed");
    expect(await s.get("half/obj")).toEqual(new Uint8Array([1, 2, 3]));
    expect((await s.list("half/", { delimiter: false })).objects.map((o) => o.key)).toEqual(["half/obj"]);
  },
);

test.skipIf(!available)("a large delete goes through, and again (nothing left is fine)", async () => {
  const s = store();
  const keys = Array.from({ length: 60 }, (_, i) => `many/${i}`);
  await Promise.all(keys.map((k) => s.put(k, new Uint8Array([1]))));
  await s.delete(keys);
  expect((await s.list("many/", { delimiter: false })).objects).toEqual([]);
  await s.delete(keys);
});

test.skipIf(!available)("a missing container is no-bucket, named with a fix, without the key", async () => {
  const s = store({ container: "no-such-container" });
  for (const attempt of [() => s.get("x"), () => s.put("x", new Uint8Array([1])), () => s.checkWritable()]) {
    const err = await attempt().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    const e = err as StorageError;
    expect(e.code).toBe("no-bucket");
    expect(e.message).toContain("no-such-container");
    expect(e.message).toContain(server.accountName);
    expect(e.hint).toContain('create the container "no-such-container"');
    expect(`${e.message} ${e.hint}`).not.toContain(server.accountKey);
  }
});

test.skipIf(!available)("a wrong account key is refused, and no key shows in the error", async () => {
  const wrongKey = Buffer.from("not the key, but 64 bytes of it to look like one ................").toString(
    "base64",
  );
  const s = store({ accountKey: wrongKey });
  const err = await s.list("", { delimiter: true }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(StorageError);
  const e = err as StorageError;
  // Azurite answers AuthorizationFailure; Azure itself says AuthenticationFailed (credentials-rejected).
  expect(e.code).toBe("access-denied");
  expect(e.hint).toContain("LITESTREAM_AZURE_ACCOUNT_KEY");
  const shown = `${e.message} ${e.hint} ${s.location}`;
  expect(shown).not.toContain(wrongKey);
  expect(shown).not.toContain(server.accountKey);
  await expect(s.checkWritable()).rejects.toMatchObject({ code: "access-denied" });
});

test.skipIf(!available)(
  "a stopped server is a network failure; after a restart the same store works",
  async () => {
    const s = store();
    await s.put("kept", new Uint8Array([7]));
    await server.stop();
    try {
      const err = await s.get("kept").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StorageError);
      expect((err as StorageError).code).toBe("refused");
      expect((err as StorageError).message).toContain(`127.0.0.1:${server.port}`);
    } finally {
      await server.restart();
    }
    expect(await s.get("kept")).toEqual(new Uint8Array([7]));
    await s.put("after", new Uint8Array([8]));
    expect(await s.get("after")).toEqual(new Uint8Array([8]));
  },
  60_000,
);

test("location names account, container and path, never the key", () => {
  const s = new AzureBlobStore({
    accountName: "acct",
    accountKey: "c2VjcmV0",
    container: "box",
    prefix: "db/main",
  });
  expect(s.location).toBe("abs://acct@box/db/main");
  expect(s.type).toBe("abs");
});
