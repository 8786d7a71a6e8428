/**
 * One behaviour suite for every ObjectStore backend: the contract in src/storage/object-store.ts, run
 * against real storage (a directory, the S3 test server).
 */
import { describe, expect, test } from "bun:test";
import type { ObjectStore } from "../../src/storage/object-store.ts";
import { ReplicaClient } from "../../src/storage/replica-client.ts";

export function objectStoreConformance(name: string, makeStore: () => ObjectStore): void {
  describe(`${name} object store`, () => {
    test("put then get returns the same bytes; a missing key is null", async () => {
      const store = makeStore();
      const data = new Uint8Array(100_000).map((_, i) => (i * 7) & 0xff);
      const before = Date.now();
      const { createdAt } = await store.put("a/b/c.bin", data);
      expect(createdAt.getTime()).toBeGreaterThan(before - 5_000);
      expect(await store.get("a/b/c.bin")).toEqual(data);
      expect(await store.get("a/b/missing.bin")).toBeNull();
      await store.put("empty", new Uint8Array(0));
      expect(await store.get("empty")).toEqual(new Uint8Array(0));
    });

    test("putStream writes the pieces as one object", async () => {
      const store = makeStore();
      const pieces = [new Uint8Array(1000).fill(1), new Uint8Array(0), new Uint8Array(70_000).fill(2)];
      async function* gen() {
        yield* pieces;
      }
      const { size } = await store.putStream("streamed/obj", gen());
      expect(size).toBe(71_000);
      const back = await store.get("streamed/obj");
      expect(back?.length).toBe(71_000);
      expect(back?.[999]).toBe(1);
      expect(back?.[1000]).toBe(2);
    });

    test("list with a delimiter gives one level; without, everything below", async () => {
      const store = makeStore();
      for (const key of ["x/1", "x/2", "x/y/3", "x/y/z/4", "xx/5"])
        await store.put(key, new Uint8Array([1, 2, 3]));
      const level = await store.list("x/", { delimiter: true });
      expect(level.objects.map((o) => o.key).sort()).toEqual(["x/1", "x/2"]);
      expect(level.prefixes.sort()).toEqual(["x/y"]);
      expect(level.objects.every((o) => o.size === 3)).toBe(true);
      const all = await store.list("x/", { delimiter: false });
      expect(all.objects.map((o) => o.key).sort()).toEqual(["x/1", "x/2", "x/y/3", "x/y/z/4"]);
      expect(await store.list("nothing/", { delimiter: true })).toEqual({ objects: [], prefixes: [] });
    });

    test("delete removes keys and ignores missing ones", async () => {
      const store = makeStore();
      await store.put("d/1", new Uint8Array([1]));
      await store.put("d/2", new Uint8Array([2]));
      await store.delete(["d/1", "d/never-existed"]);
      expect(await store.get("d/1")).toBeNull();
      expect(await store.get("d/2")).toEqual(new Uint8Array([2]));
    });

    test("the replica layout on top: listings sorted, foreign names ignored", async () => {
      const store = makeStore();
      const client = new ReplicaClient(store);
      const gen = "0123456789abcdef";
      for (const [i, o] of [
        [1, 4152],
        [0, 0],
        [1, 0],
        [0, 4152],
      ] as const) {
        await client.writeWalSegment({ generation: gen, index: i, offset: o }, new Uint8Array([i, o & 0xff]));
      }
      await client.writeSnapshot(gen, 1, new Uint8Array([9]));
      await store.put(`generations/${gen}/wal/notes.txt`, new Uint8Array([0]));
      await store.put("generations/NOT-A-GENERATION/wal/00000000_00000000.wal.lz4", new Uint8Array([0]));
      expect(await client.generations()).toEqual([gen]);
      const segs = await client.walSegments(gen);
      expect(segs.map((s) => [s.index, s.offset])).toEqual([
        [0, 0],
        [0, 4152],
        [1, 0],
        [1, 4152],
      ]);
      expect((await client.snapshots(gen)).map((s) => s.index)).toEqual([1]);
      expect(await client.readWalSegment(gen, 1, 4152)).toEqual(new Uint8Array([1, 4152 & 0xff]));
      await client.deleteGeneration(gen);
      expect(await client.walSegments(gen)).toEqual([]);
      expect(await client.generations()).toEqual([]);
    });
  });
}
