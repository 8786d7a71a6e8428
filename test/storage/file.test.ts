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
