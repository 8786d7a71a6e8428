import { describe, expect, test } from "bun:test";
import type { Config, DbConfig } from "../../src/config/config.ts";
import { coversFile, databaseInDirectory, findDatabase, globToRegExp } from "../../src/config/directory.ts";

const entry: DbConfig = {
  path: "/data",
  directory: { pattern: "*.db", recursive: true, watch: true },
  monitorIntervalMs: 1000,
  checkpointIntervalMs: 60_000,
  minCheckpointPageCount: 1000,
  maxCheckpointPageCount: 10_000,
  maxWalBytes: 256 * 2 ** 20,
  replicas: [
    {
      name: "s3",
      target: {
        type: "s3",
        bucket: "b",
        path: "tenants",
        forcePathStyle: false,
        skipVerify: false,
        ambiguousHost: false,
      },
      syncIntervalMs: 1000,
      retentionMs: 0,
      retentionCheckIntervalMs: 0,
      snapshotIntervalMs: 0,
      validationIntervalMs: 0,
    },
    {
      name: "file",
      target: { type: "file", path: "/backups" },
      syncIntervalMs: 1000,
      retentionMs: 0,
      retentionCheckIntervalMs: 0,
      snapshotIntervalMs: 0,
      validationIntervalMs: 0,
    },
  ],
};

describe("directory entries", () => {
  test("globs match names, never across a slash", () => {
    expect(globToRegExp("*.db").test("a.db")).toBe(true);
    expect(globToRegExp("*.db").test("a.db-wal")).toBe(false);
    expect(globToRegExp("t?.db").test("t1.db")).toBe(true);
    expect(globToRegExp("[ab].db").test("b.db")).toBe(true);
    expect(globToRegExp("[!ab].db").test("b.db")).toBe(false);
    expect(globToRegExp("*.db").test("x/a.db")).toBe(false);
  });

  test("which files an entry covers", () => {
    expect(coversFile(entry, "/data/a.db")).toBe(true);
    expect(coversFile(entry, "/data/sub/a.db")).toBe(true);
    expect(
      coversFile({ ...entry, directory: { ...entry.directory!, recursive: false } }, "/data/sub/a.db"),
    ).toBe(false);
    expect(coversFile(entry, "/other/a.db")).toBe(false);
    expect(coversFile(entry, "/data/a.sqlite")).toBe(false);
  });

  test("each database's replicas live under its relative path", () => {
    const db = databaseInDirectory(entry, "/data/sub/t1.db");
    expect(db.path).toBe("/data/sub/t1.db");
    expect(db.directory).toBeUndefined();
    expect(db.replicas.map((r) => r.target)).toEqual([
      {
        type: "s3",
        bucket: "b",
        path: "tenants/sub/t1.db",
        forcePathStyle: false,
        skipVerify: false,
        ambiguousHost: false,
      },
      { type: "file", path: "/backups/sub/t1.db" },
    ]);
  });

  test("config lookups find plain entries first, then directory entries", () => {
    const plain: DbConfig = { ...entry, path: "/data/special.db", directory: undefined };
    const config: Config = {
      dbs: [entry, plain],
      logging: { level: "info", type: "text", stderr: false },
      healthMaxLagMs: 1,
    };
    expect(findDatabase(config, "/data/special.db")).toBe(plain);
    expect(findDatabase(config, "/data/x.db")?.replicas[1]?.target).toEqual({
      type: "file",
      path: "/backups/x.db",
    });
    expect(findDatabase(config, "/elsewhere/x.db")).toBeUndefined();
  });
});
