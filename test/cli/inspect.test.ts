/**
 * The listing commands (`databases`, `generations`, `snapshots`, `wal`) against a replica that walship
 * itself wrote (two generations), against Litestream 0.3.13's fixture replica, and their error cases;
 * plus the tabwriter layout and Go duration formatting they print with.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { runDatabases } from "../../src/cli/databases.ts";
import { UsageError } from "../../src/cli/errors.ts";
import { runGenerations, summaryLine } from "../../src/cli/generations.ts";
import { formatGoDuration, formatRfc3339, truncateLag } from "../../src/cli/go-format.ts";
import type { CommandOutput } from "../../src/cli/replica-source.ts";
import { runSnapshots } from "../../src/cli/snapshots.ts";
import { formatTable } from "../../src/cli/table.ts";
import { runWal } from "../../src/cli/wal.ts";
import { ConfigError } from "../../src/config/errors.ts";
import { defaultMetaPath } from "../../src/replicate/meta-directory.ts";
import { type GenerationListing, generationBounds, restorableWindow } from "../../src/restore/inspect.ts";
import { createDatabase, runWriter } from "../helpers/app-db.ts";
import { runCli, startCli, waitFor } from "../helpers/cli.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

const FIXTURE = path.join(import.meta.dirname, "../fixtures/litestream-0.3.13");
const FIXTURE_URL = `file://${FIXTURE}`;

/** Runs a command in-process, capturing what it prints. */
async function capture(
  fn: (io: CommandOutput) => Promise<number>,
): Promise<{ code: number; stdout: string; warnings: string[] }> {
  let stdout = "";
  const warnings: string[] = [];
  const code = await fn({ out: (t) => (stdout += t), warn: (l) => warnings.push(l) });
  return { code, stdout, warnings };
}

/** Splits a table into its header cells and rows of cells (cells never contain spaces here). */
function parseTable(text: string): { header: string[]; rows: string[][] } {
  const [head, ...rest] = text.split("\n\n")[0]!.trimEnd().split("\n");
  return { header: head!.split(/ {2,}/), rows: rest.map((l) => l.split(/ +/)) };
}

/** Replica files by suffix, e.g. `.wal.lz4`, with their sizes. */
function replicaFiles(dir: string, suffix: string): { name: string; size: number }[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .filter((n) => n.endsWith(suffix))
    .map((n) => ({ name: n, size: fs.statSync(path.join(dir, n)).size }));
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected the command to fail");
}

describe("formatTable (Go tabwriter, padding 2)", () => {
  test("pads every column but the last to its widest cell plus two spaces", () => {
    expect(formatTable(["a", "bbb", "c"], [["cc", "d", "e"]])).toBe("a   bbb  c\ncc  d    e\n");
  });

  test("header only", () => {
    expect(formatTable(["path", "replicas"], [])).toBe("path  replicas\n");
  });

  test("counts code points, as tabwriter counts runes", () => {
    expect(formatTable(["µs", "x"], [["abc", "y"]])).toBe("µs   x\nabc  y\n");
  });

  test("ragged rows: a shorter line ends a column block, as in Go", () => {
    expect(formatTable(["a", "b", "c"], [["aaaa"], ["x", "y"]])).toBe("a  b  c\naaaa\nx  y\n");
  });

  test("empty cells are padded", () => {
    expect(formatTable(["a", "b"], [["", "y"]])).toBe("a  b\n   y\n");
  });
});

describe("Go duration formatting", () => {
  const s = 1_000_000_000n;
  test.each([
    [0n, "0s"],
    [1n, "1ns"],
    [1_100n, "1.1µs"],
    [2_200_000n, "2.2ms"],
    [3_300_000_000n, "3.3s"],
    [4n * 60n * s + 5n * s, "4m5s"],
    [4n * 60n * s + 5_001_000_000n, "4m5.001s"],
    [5n * 3600n * s + 6n * 60n * s + 7_001_000_000n, "5h6m7.001s"],
    [8n * 60n * s + 1n, "8m0.000000001s"],
    [3600n * s, "1h0m0s"],
    [-(104n * 3600n + 48n * 60n + 2n) * s, "-104h48m2s"],
    [9_223_372_036_854_775_807n, "2562047h47m16.854775807s"],
  ])("%p → %s", (ns, text) => {
    expect(formatGoDuration(ns)).toBe(text);
  });

  test.each([
    [12_345_678_901n, 12n * s],
    [1_234_567_890n, 1_200_000_000n],
    [1_234_567n, 1_000_000n],
    [5_500n, 5_000n],
    [500n, 500n],
    [-12_700_000_000n, -12n * s],
    [-1_250_000_000n, -1_200_000_000n],
    [-2_500_000n, -2_000_000n],
    // Exactly 10 s is not "above 10 s": tenths.
    [10n * s, 10n * s],
  ])("truncateLag(%p) = %p", (ns, want) => {
    expect(truncateLag(ns)).toBe(want);
  });

  test("RFC 3339 without fractional seconds, cut not rounded", () => {
    expect(formatRfc3339(new Date("2026-01-02T03:04:05.999Z"))).toBe("2026-01-02T03:04:05Z");
  });
});

describe("restorable window", () => {
  const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
  const gen = (name: string, snaps: number[], wal: number[]): GenerationListing => ({
    generation: name,
    snapshots: snaps.map((t, i) => ({ generation: name, index: i, size: 100, createdAt: at(t) })),
    walSegments: wal.map((t, i) => ({ generation: name, index: i, offset: 0, size: 10, createdAt: at(t) })),
  });

  test("from the oldest snapshot to the newest object of a generation with a snapshot", () => {
    const listings = [
      gen("a".repeat(16), [10], [5, 20]),
      gen("b".repeat(16), [30], [40]),
      gen("c".repeat(16), [], [50]),
    ];
    expect(generationBounds(listings[0]!)).toEqual({ start: at(5), end: at(20) });
    const w = restorableWindow(listings);
    expect(w).toEqual({
      generations: 3,
      snapshots: 2,
      walSegments: 4,
      bytes: 240,
      window: { start: at(10), end: at(40) },
    });
    expect(summaryLine("backup", w)).toBe(
      "replica backup: restorable from 2026-01-01T00:00:10Z to 2026-01-01T00:00:40Z across 3 generations, 240 B in 2 snapshots and 4 WAL segments",
    );
  });

  test("nothing restorable without a snapshot; no backups without generations", () => {
    const w = restorableWindow([gen("a".repeat(16), [], [5])]);
    expect(w.window).toBeNull();
    expect(summaryLine("s3", w)).toBe(
      "replica s3: nothing restorable (no snapshot) across 1 generation, 10 B in 0 snapshots and 1 WAL segment",
    );
    expect(summaryLine("s3", restorableWindow([]))).toBe("replica s3: no backups");
    expect(generationBounds(gen("a".repeat(16), [], []))).toBeNull();
  });
});

describe("listing commands against the Litestream 0.3.13 fixture", () => {
  test("generations: one generation, lag measured from now", async () => {
    const { code, stdout } = await capture((io) => runGenerations(FIXTURE_URL, {}, io));
    expect(code).toBe(0);
    const { header, rows } = parseTable(stdout);
    expect(header).toEqual(["name", "generation", "lag", "start", "end"]);
    expect(rows).toHaveLength(1);
    expect(rows[0]![0]).toBe("file");
    expect(rows[0]![1]).toBe("f41a8a980bb2ee26");
    expect(rows[0]![3]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(stdout).toContain("across 1 generation, ");
    expect(stdout).toContain("in 1 snapshot and 18 WAL segments");
  });

  test("snapshots and wal", async () => {
    const snaps = await capture((io) => runSnapshots(FIXTURE_URL, {}, io));
    expect(parseTable(snaps.stdout).rows).toEqual([
      [
        "file",
        "f41a8a980bb2ee26",
        "0",
        String(replicaFiles(FIXTURE, ".snapshot.lz4")[0]!.size),
        expect.any(String),
      ],
    ]);
    const wal = await capture((io) => runWal(FIXTURE_URL, {}, io));
    const { header, rows } = parseTable(wal.stdout);
    expect(header).toEqual(["replica", "generation", "index", "offset", "size", "created"]);
    expect(rows).toHaveLength(18);
    // Decimal index and offset: 00000003_0000b128 is index 3, offset 45352.
    expect(rows).toContainEqual([
      "file",
      "f41a8a980bb2ee26",
      "3",
      "45352",
      expect.any(String),
      expect.any(String),
    ]);
    const json = JSON.parse((await capture((io) => runWal(FIXTURE_URL, { json: true }, io))).stdout);
    expect(json.wal).toHaveLength(18);
    expect(json.errors).toEqual([]);
  });
});

describe("listing commands against a replica walship wrote", () => {
  const dir = makeTempDir("walship-inspect-");
  const db = path.join(dir, "app.db");
  const replicaDir = path.join(dir, "replica");
  const url = `file://${replicaDir}`;
  const config = path.join(dir, "walship.yml");
  const brokenConfig = path.join(dir, "broken.yml");
  const broken = path.join(dir, "broken-replica");

  beforeAll(async () => {
    createDatabase(db);
    // Two runs; the meta directory is removed in between so the second run starts a new generation.
    for (const [run, transactions] of [
      [1, 450],
      [2, 150],
    ] as const) {
      const walship = startCli(["replicate", db, url]);
      let exited = false;
      void walship.exited.then(() => {
        exited = true;
      });
      await waitFor(
        () => {
          if (exited) throw new Error(`replicate exited early: ${walship.stderr()}`);
          return generationDirs().length === run;
        },
        20_000,
        `generation ${run}`,
      );
      await runWriter(db, transactions, run);
      expect((await walship.stop("SIGTERM")).code).toBe(0);
      fs.rmSync(defaultMetaPath(db), { recursive: true, force: true });
    }
    fs.writeFileSync(
      config,
      [
        "dbs:",
        `  - path: ${db}`,
        "    replicas:",
        "      - name: backup",
        `        url: ${url}`,
        `  - path: ${path.join(dir, "gone.db")}`,
        "    replicas:",
        "      - name: backup",
        `        url: ${url}`,
        "",
      ].join("\n"),
    );
    // A replica whose generations/ is a symlink loop: listing it fails (ELOOP), even for root.
    fs.mkdirSync(broken);
    fs.symlinkSync("generations", path.join(broken, "generations"));
    fs.writeFileSync(
      brokenConfig,
      [
        "dbs:",
        `  - path: ${db}`,
        "    replicas:",
        "      - name: backup",
        `        url: ${url}`,
        "      - name: broken",
        `        url: file://${broken}`,
        "",
      ].join("\n"),
    );
  }, 30_000);
  afterAll(() => removeDir(dir));

  function generationDirs(): string[] {
    const g = path.join(replicaDir, "generations");
    return fs.existsSync(g) ? fs.readdirSync(g).sort() : [];
  }

  test("databases", async () => {
    const text = await capture((io) => runDatabases(undefined, { config }, io));
    expect(text.stdout).toBe(
      formatTable(
        ["path", "replicas"],
        [
          [db, "backup"],
          [path.join(dir, "gone.db"), "backup"],
        ],
      ),
    );
    const json = JSON.parse(
      (await capture((io) => runDatabases(undefined, { config, json: true }, io))).stdout,
    );
    expect(json).toEqual({
      databases: [
        { path: db, replicas: ["backup"] },
        { path: path.join(dir, "gone.db"), replicas: ["backup"] },
      ],
    });
  });

  test("generations: one row per generation, lag from the database's mtime, and the window", async () => {
    const gens = generationDirs();
    expect(gens).toHaveLength(2);
    for (const [target, flags, name] of [
      [url, {}, "file"],
      [db, { config }, "backup"],
    ] as const) {
      const { code, stdout, warnings } = await capture((io) => runGenerations(target, flags, io));
      expect(code).toBe(0);
      expect(warnings).toEqual([]);
      const { header, rows } = parseTable(stdout);
      expect(header).toEqual(["name", "generation", "lag", "start", "end"]);
      expect(rows.map((r) => r[1])).toEqual(gens);
      for (const r of rows) {
        expect(r[0]).toBe(name);
        expect(r[2]).toMatch(/^-?[\d.hmsµn]+$/);
        expect(r[3]! <= r[4]!).toBe(true);
      }
      const summary = stdout.split("\n\n")[1]!.trim();
      expect(summary).toStartWith(`replica ${name}: restorable from `);
      const walCount = replicaFiles(replicaDir, ".wal.lz4").length;
      expect(summary).toContain(`across 2 generations, `);
      expect(summary).toEndWith(` in 2 snapshots and ${walCount} WAL segments`);
    }

    const json = JSON.parse((await capture((io) => runGenerations(url, { json: true }, io))).stdout);
    expect(json.generations.map((g: { generation: string }) => g.generation)).toEqual(gens);
    const [summary] = json.summary;
    const files = [...replicaFiles(replicaDir, ".wal.lz4"), ...replicaFiles(replicaDir, ".snapshot.lz4")];
    expect(summary).toMatchObject({
      replica: "file",
      generations: 2,
      snapshots: 2,
      walSegments: files.length - 2,
      bytes: files.reduce((n, f) => n + f.size, 0),
    });
    expect(Date.parse(summary.earliest)).toBeLessThanOrEqual(Date.parse(summary.latest));
    // The window runs from the oldest snapshot to the newest object (generation names are random, so
    // their order says nothing about time).
    const snaps = JSON.parse((await capture((io) => runSnapshots(url, { json: true }, io))).stdout);
    const created = snaps.snapshots.map((x: { created: string }) => x.created).sort();
    expect(summary.earliest).toBe(created[0]);
    const ends = json.generations.map((g: { end: string }) => g.end).sort();
    expect(summary.latest).toBe(ends.at(-1));
  });

  test("generations: a database file that is gone has an unknown lag, not an error", async () => {
    const { code, stdout } = await capture((io) => runGenerations(path.join(dir, "gone.db"), { config }, io));
    expect(code).toBe(0);
    expect(parseTable(stdout).rows.map((r) => r[2])).toEqual(["-", "-"]);
  });

  test("snapshots: sorted by generation then index, sizes as stored", async () => {
    for (const [target, flags] of [
      [url, {}],
      [db, { config, replica: "backup" }],
    ] as const) {
      const { code, stdout } = await capture((io) => runSnapshots(target, flags, io));
      expect(code).toBe(0);
      const { header, rows } = parseTable(stdout);
      expect(header).toEqual(["replica", "generation", "index", "size", "created"]);
      const files = replicaFiles(replicaDir, ".snapshot.lz4");
      expect(rows).toHaveLength(files.length);
      const keys = rows.map((r) => [r[1]!, Number(r[2])] as const);
      expect(keys).toEqual([...keys].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1])));
      expect(rows.reduce((n, r) => n + Number(r[3]), 0)).toBe(files.reduce((n, f) => n + f.size, 0));
    }
    const json = JSON.parse((await capture((io) => runSnapshots(url, { json: true }, io))).stdout);
    expect(json.snapshots).toHaveLength(2);
    expect(json.snapshots[0]).toMatchObject({
      replica: "file",
      index: expect.any(Number),
      size: expect.any(Number),
    });
  });

  test("wal: one row per segment file, in (generation, index, offset) order; -generation filters", async () => {
    const files = replicaFiles(replicaDir, ".wal.lz4");
    const { code, stdout } = await capture((io) => runWal(db, { config }, io));
    expect(code).toBe(0);
    const { header, rows } = parseTable(stdout);
    expect(header).toEqual(["replica", "generation", "index", "offset", "size", "created"]);
    expect(rows).toHaveLength(files.length);
    const keys = rows.map((r) => [r[1]!, Number(r[2]), Number(r[3])] as const);
    const sorted = [...keys].sort((a, b) =>
      a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1] || a[2] - b[2],
    );
    expect(keys).toEqual(sorted);

    const [, second] = generationDirs();
    const only = await capture((io) => runWal(url, { generation: second, json: true }, io));
    const wal = JSON.parse(only.stdout).wal as { generation: string }[];
    expect(wal.length).toBe(files.filter((f) => f.name.includes(second!)).length);
    expect(wal.every((s) => s.generation === second)).toBe(true);

    const bad = await rejection(runWal(url, { generation: "nope" }, { out: () => {}, warn: () => {} }));
    expect(bad).toBeInstanceOf(UsageError);
  });

  test("a failing replica is reported on one line; the others are still printed; exit 1", async () => {
    for (const run of [runGenerations, runSnapshots, runWal]) {
      const { code, stdout, warnings } = await capture((io) => run(db, { config: brokenConfig }, io));
      expect(code).toBe(1);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toStartWith("walship: replica broken: ");
      expect(parseTable(stdout).rows.length).toBeGreaterThan(0);
      expect(parseTable(stdout).rows.every((r) => r[0] === "backup")).toBe(true);
    }
    const json = await capture((io) => runGenerations(db, { config: brokenConfig, json: true }, io));
    expect(JSON.parse(json.stdout).errors).toEqual([{ replica: "broken", error: expect.any(String) }]);
  });

  test("errors: unknown replica, database not in the config, URL with -config, no target", async () => {
    const quiet: CommandOutput = { out: () => {}, warn: () => {} };
    const unknown = await rejection(runGenerations(db, { config, replica: "nope" }, quiet));
    expect(unknown).toBeInstanceOf(UsageError);
    expect(unknown.message).toContain('no replica named "nope"');
    expect((unknown as UsageError).hint).toBe("use one of: backup");

    const missing = await rejection(runSnapshots(path.join(dir, "other.db"), { config }, quiet));
    expect(missing).toBeInstanceOf(ConfigError);
    expect(missing.message).toContain(
      "not a replica directory (no such directory), and not a database in the config",
    );
    expect((missing as ConfigError).hint).toContain(db);

    const both = await rejection(runWal(url, { config }, quiet));
    expect(both).toBeInstanceOf(UsageError);
    expect(both.message).toContain("-config");

    expect(await rejection(runGenerations(undefined, {}, quiet))).toBeInstanceOf(UsageError);
    expect(await rejection(runGenerations(url, { replica: "s3" }, quiet))).toBeInstanceOf(UsageError);
  });

  test("through the CLI: flags as Litestream spells them, output, exit codes", async () => {
    const gens = await runCli(["generations", "-config", config, "-replica", "backup", db]);
    expect(gens.code).toBe(0);
    expect(gens.stdout).toStartWith("name    generation");
    const wal = await runCli(["wal", "-generation", generationDirs()[0]!, "--json", url]);
    expect(wal.code).toBe(0);
    expect(JSON.parse(wal.stdout).wal.length).toBeGreaterThan(0);
    const dbs = await runCli(["databases", "-config", config]);
    expect(dbs.stdout.split("\n")[0]).toMatch(/^path +replicas$/);
    const bad = await runCli(["snapshots", "-config", config, "-replica", "nope", db]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("Try: use one of: backup");
    // An all-digit generation name must reach the command as typed, leading zero included.
    const digits = await runCli(["wal", "-generation", "0123456789012345", url]);
    expect(digits.code).toBe(0);
    expect(digits.stdout.trim()).toBe("replica  generation  index  offset  size  created");
  });
});
