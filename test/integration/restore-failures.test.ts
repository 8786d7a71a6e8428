/**
 * Restore fails loudly on a damaged replica: a flipped bit, a truncated LZ4 frame, a WAL page whose
 * checksum breaks, a missing WAL index, a missing offset-0 segment. Each error names the object and the
 * reason, exits 1, and leaves no output and no temporary file behind. --dry-run shows gaps it can see.
 * Also: --force replaces atomically and removes stale sidecars; .gz and .zip outputs hold the database.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { gunzipSync, unzipSync } from "fflate";
import { parseWalSegmentName } from "../../src/format/layout.ts";
import { decodeLz4Frame, encodeLz4Frame } from "../../src/format/lz4-frame.ts";
import { createDatabase, runWriter } from "../helpers/app-db.ts";
import { runCli, startCli, waitFor } from "../helpers/cli.ts";
import { readDatabase } from "../helpers/db-content.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

describe("restoring from a damaged replica", () => {
  const dir = makeTempDir();
  const db = path.join(dir, "app.db");
  const pristine = path.join(dir, "pristine");
  let walDir = "";
  let segments: { name: string; index: number; offset: number }[] = [];

  beforeAll(async () => {
    createDatabase(db);
    const config = path.join(dir, "walship.yml");
    fs.writeFileSync(
      config,
      [
        "dbs:",
        `  - path: ${db}`,
        "    monitor-interval: 50ms",
        "    min-checkpoint-page-count: 30",
        "    replicas:",
        `      - url: file://${pristine}`,
        "        sync-interval: 50ms",
        "",
      ].join("\n"),
    );
    const walship = startCli(["replicate", "-config", config]);
    await waitFor(() => walship.stderr().includes("snapshot written"), 20_000, "a snapshot");
    // Rounds with pauses, so each WAL index is shipped as several segments.
    for (let round = 0; round < 8; round++) {
      await runWriter(db, 80, 21 + round, 2);
      await Bun.sleep(150);
    }
    expect((await walship.stop()).code).toBe(0);
    const [generation] = fs.readdirSync(path.join(pristine, "generations"));
    walDir = path.join("generations", generation!, "wal");
    segments = fs
      .readdirSync(path.join(pristine, walDir))
      .map((name) => ({ name, ...parseWalSegmentName(name)! }))
      .sort((a, b) => a.index - b.index || a.offset - b.offset);
    const indexes = new Set(segments.map((s) => s.index));
    // The damage cases below need several WAL indexes with several segments.
    expect(indexes.size).toBeGreaterThanOrEqual(3);
  }, 60_000);
  afterAll(() => removeDir(dir));

  /** A copy of the pristine replica with `damage` applied. */
  function damaged(name: string, damage: (replica: string) => void): string {
    const copy = path.join(dir, `replica-${name}`);
    fs.cpSync(pristine, copy, { recursive: true, preserveTimestamps: true });
    damage(copy);
    return copy;
  }

  async function expectFailure(replica: string, mentions: RegExp[]): Promise<void> {
    const outDir = path.join(dir, `out-${path.basename(replica)}`);
    fs.mkdirSync(outDir);
    const r = await runCli(["restore", "-o", path.join(outDir, "restored.db"), `file://${replica}`]);
    expect(r.code).toBe(1);
    const line = r.stderr.trim();
    expect(line.split("\n").length).toBe(1);
    for (const m of mentions) expect(line).toMatch(m);
    expect(fs.readdirSync(outDir)).toEqual([]);
  }

  const middle = () =>
    segments.filter((s) => s.offset > 0)[Math.floor(segments.filter((s) => s.offset > 0).length / 2)]!;

  test("a flipped bit in a segment", async () => {
    const seg = middle();
    const replica = damaged("bitflip", (r) => {
      const file = path.join(r, walDir, seg.name);
      const bytes = fs.readFileSync(file);
      bytes[Math.floor(bytes.length / 2)]! ^= 0x10;
      fs.writeFileSync(file, bytes);
    });
    await expectFailure(replica, [new RegExp(seg.name.replace(/\./g, "\\.")), /corrupt|checksum/]);
  });

  test("a truncated LZ4 frame", async () => {
    const seg = middle();
    const replica = damaged("truncated", (r) => {
      const file = path.join(r, walDir, seg.name);
      fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2));
    });
    await expectFailure(replica, [new RegExp(seg.name.replace(/\./g, "\\.")), /corrupt/]);
  });

  test("a WAL page that no longer matches its checksum (valid LZ4)", async () => {
    const seg = middle();
    const replica = damaged("walsum", (r) => {
      const file = path.join(r, walDir, seg.name);
      const data = decodeLz4Frame(new Uint8Array(fs.readFileSync(file)));
      data[100]! ^= 0x01;
      fs.writeFileSync(file, encodeLz4Frame(data));
    });
    await expectFailure(replica, [new RegExp(seg.name.replace(/\./g, "\\.")), /checksum/]);
  });

  test("a missing WAL index and a missing offset-0 segment, also seen by --dry-run", async () => {
    const indexes = [...new Set(segments.map((s) => s.index))];
    const gapIndex = indexes[1]!;
    const noIndex = damaged("noindex", (r) => {
      for (const s of segments.filter((x) => x.index === gapIndex)) fs.rmSync(path.join(r, walDir, s.name));
    });
    await expectFailure(noIndex, [
      new RegExp(`WAL index 0*${gapIndex.toString(16)}\\b.*missing`),
      /\.wal\.lz4/,
    ]);
    const dry = await runCli(["restore", "--dry-run", "-o", path.join(dir, "dry.db"), `file://${noIndex}`]);
    expect(dry.code).toBe(1);
    expect(dry.stdout).toMatch(/gaps\s+WAL index/);

    // An index with later segments: without its first one, the hole shows in the listing.
    const withTail = indexes.filter(
      (i) => i > indexes[0]! && segments.some((s) => s.index === i && s.offset > 0),
    );
    const firstOfLast = segments.find((s) => s.index === withTail[withTail.length - 1] && s.offset === 0)!;
    const noFirst = damaged("nofirst", (r) => fs.rmSync(path.join(r, walDir, firstOfLast.name)));
    await expectFailure(noFirst, [/offset 0/, new RegExp(firstOfLast.name.replace(/\./g, "\\."))]);
    const dryJson = await runCli([
      "restore",
      "--dry-run",
      "--json",
      "-o",
      path.join(dir, "dry.db"),
      `file://${noFirst}`,
    ]);
    expect(dryJson.code).toBe(1);
    expect((JSON.parse(dryJson.stdout) as { gaps: { key: string }[] }).gaps[0]?.key).toContain(
      firstOfLast.name,
    );
  });

  test("--force replaces an existing database atomically and removes its stale -wal and -shm", async () => {
    const out = path.join(dir, "forced.db");
    fs.writeFileSync(out, "old database");
    fs.writeFileSync(`${out}-wal`, "old wal");
    fs.writeFileSync(`${out}-shm`, "old shm");
    const refused = await runCli(["restore", "-o", out, `file://${pristine}`]);
    expect(refused.code).toBe(2);
    expect(fs.readFileSync(out, "utf8")).toBe("old database");
    const r = await runCli(["restore", "--force", "-o", out, `file://${pristine}`]);
    expect(r.code).toBe(0);
    expect(fs.existsSync(`${out}-wal`)).toBe(false);
    expect(fs.existsSync(`${out}-shm`)).toBe(false);
    expect(readDatabase(out).rows).toEqual(readDatabase(db).rows);
  });

  test(".gz and .zip outputs hold the restored database, and nothing else is left behind", async () => {
    const outDir = path.join(dir, "compressed");
    fs.mkdirSync(outDir);
    const plain = path.join(outDir, "app.db");
    expect((await runCli(["restore", "-o", plain, `file://${pristine}`])).code).toBe(0);
    expect((await runCli(["restore", "-o", `${plain}.gz`, `file://${pristine}`])).code).toBe(0);
    expect((await runCli(["restore", "-o", `${plain}.zip`, `file://${pristine}`])).code).toBe(0);
    expect(fs.readdirSync(outDir).sort()).toEqual(["app.db", "app.db.gz", "app.db.zip"]);
    const original = new Uint8Array(fs.readFileSync(plain));
    expect(gunzipSync(new Uint8Array(fs.readFileSync(`${plain}.gz`)))).toEqual(original);
    const entries = unzipSync(new Uint8Array(fs.readFileSync(`${plain}.zip`)));
    expect(Object.keys(entries)).toEqual(["app.db"]);
    expect(entries["app.db"]).toEqual(original);
  });
});
