import { afterAll, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { FileStore } from "../../src/storage/file.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";
import { objectStoreConformance } from "./conformance.ts";

const root = makeTempDir();
afterAll(() => removeDir(root));
let n = 0;
objectStoreConformance("file", () => new FileStore(path.join(root, `store-${n++}`)));

test("keys never reach outside the root, and no temporary file is left", async () => {
  const store = new FileStore(path.join(root, "guard"));
  await expect(store.put("../escape", new Uint8Array([1]))).rejects.toThrow(/outside/);
  await store.put("ok", new Uint8Array([1]));
  expect(fs.readdirSync(path.join(root, "guard"))).toEqual(["ok"]);
  expect(fs.existsSync(path.join(root, "escape"))).toBe(false);
});

test("writes still land after someone deletes the directories the store created", async () => {
  const dir = path.join(root, "deleted");
  const store = new FileStore(dir);
  await store.put("generations/a/wal/1.wal.lz4", new Uint8Array([1]));
  fs.rmSync(dir, { recursive: true });
  await store.put("generations/a/wal/2.wal.lz4", new Uint8Array([2]));
  await store.putStream(
    "generations/a/snapshots/1.snapshot.lz4",
    (async function* () {
      yield new Uint8Array([3]);
    })(),
  );
  expect(fs.readdirSync(path.join(dir, "generations/a/wal"))).toEqual(["2.wal.lz4"]);
  expect(fs.readdirSync(path.join(dir, "generations/a/snapshots"))).toEqual(["1.snapshot.lz4"]);
});
