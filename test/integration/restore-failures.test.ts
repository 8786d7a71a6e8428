/**
 * Restore fails loudly on a damaged replica: a flipped bit, a truncated LZ4 frame, a WAL page whose
 * checksum breaks, a missing WAL index, a missing offset-0 segment. Each error names the object and the
 * reason, exits 1, and leaves no output and no temporary file behind. --dry-run shows gaps it can see.
 * Also: --force replaces atomically and removes stale sidecars; .gz and .zip outputs hold the database,
 * a .zip's entry named like a database (`qt.zip` holds `qt.db`).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { gunzipSync, unzipSync } from "fflate";
import { parseWalSegmentName } from "../../src/format/layout.ts";
import { decodeLz4Frame, encodeLz4Frame } from "../../src/format/lz4-frame.ts";
import { createDatabase, runWriter } from "../helpers/app-db.ts";
import { runCli, waitFor } from "../helpers/cli.ts";
import { readDatabase } from "../helpers/db-content.ts";
import { startReplicating } from "../helpers/replicate-setup.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

describe("restoring from a damaged replica", () => {
  const dir = makeTempDir();
  const db = path.join(dir, "app.db");
  const pristine = path.join(dir, "pristine");
  let walDir = "";
  let segments: { name: string; index: number; offset: number }[] = [];

  beforeAll(async () => {
    createDatabase(db);
    const walship = startReplicating(path.join(dir, "walship.yml"), {
      dbs: [
        {
          path: db,
          keys: { "monitor-interval": "50ms", "min-checkpoint-page-count": "30" },
          replicas: [{ url: `file://${pristine}`, keys: { "sync-interval": "50ms" } }],
        },
      ],
    });
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
    // It says what it did not look at: the objects' contents.
    expect(dry.stdout).toMatch(/checked\s+the listing only/);

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
    const plan = JSON.parse(dryJson.stdout) as { gaps: { key: string }[]; checked: string };
    expect(plan.gaps[0]?.key).toContain(firstOfLast.name);
    expect(plan.checked).toBe("listing");
  });

  describe("a WAL index whose last object ends inside a transaction", () => {
    const FRAME = 24 + 4096;
    const contentOf = (replica: string, name: string) =>
      decodeLz4Frame(new Uint8Array(fs.readFileSync(path.join(replica, walDir, name))));
    /** Frame starts within a segment's content (its first bytes are the WAL header at offset 0). */
    const frameStarts = (seg: { offset: number }, content: Uint8Array) => {
      const first = seg.offset === 0 ? 32 : 0;
      return Array.from({ length: (content.length - first) / FRAME }, (_, k) => first + k * FRAME);
    };
    const isCommit = (content: Uint8Array, at: number) =>
      new DataView(content.buffer, content.byteOffset).getUint32(at + 4) !== 0;

    /**
     * The last segment of an index whose last transaction has several frames, cut in two inside that
     * transaction: what an upload of one transaction in two objects leaves when it stops halfway.
     */
    function splitInsideTransaction(replica: string, seg: (typeof segments)[number]) {
      const content = contentOf(replica, seg.name);
      const starts = frameStarts(seg, content);
      const cut = starts[starts.length - 1]!;
      fs.writeFileSync(path.join(replica, walDir, seg.name), encodeLz4Frame(content.subarray(0, cut)));
      const tail = `${seg.index.toString(16).padStart(8, "0")}_${(seg.offset + cut).toString(16).padStart(8, "0")}.wal.lz4`;
      fs.writeFileSync(path.join(replica, walDir, tail), encodeLz4Frame(content.subarray(cut)));
      return tail;
    }

    /** Last segments of their index whose next-to-last frame is not a commit (a transaction of 2+ frames). */
    const candidates = () => {
      const lastOfIndex = segments.filter(
        (s, i) => segments[i + 1]?.index !== s.index && contentOf(pristine, s.name).length > 2 * FRAME,
      );
      return lastOfIndex.filter((s) => {
        const content = contentOf(pristine, s.name);
        const starts = frameStarts(s, content);
        return !isCommit(content, starts[starts.length - 2]!);
      });
    };

    test("fails naming the object, whether a later index follows it or it is the newest", async () => {
      const found = candidates();
      expect(found.length).toBeGreaterThan(0);
      for (const seg of [found[0]!, found[found.length - 1]!]) {
        const replica = damaged(`open-txn-${seg.index}`, (r) => {
          fs.rmSync(path.join(r, walDir, splitInsideTransaction(r, seg)));
        });
        await expectFailure(replica, [
          new RegExp(seg.name.replace(/\./g, "\\.")),
          /ends inside a transaction/,
        ]);
      }
    });

    test("restores when both parts are there, and to a point in time between them", async () => {
      const seg = candidates()[0]!;
      const replica = damaged(`split-${seg.index}`, (r) => {
        splitInsideTransaction(r, seg);
        // Everything up to the head is an hour old; the tail and all after it were written now.
        const old = new Date(Date.now() - 3_600_000);
        for (const s of segments) {
          if (s.index < seg.index || s.name === seg.name)
            fs.utimesSync(path.join(r, walDir, s.name), old, old);
        }
        for (const snap of fs.readdirSync(path.join(r, walDir, "..", "snapshots"))) {
          fs.utimesSync(path.join(r, walDir, "..", "snapshots", snap), old, old);
        }
      });
      const whole = path.join(dir, "split-whole.db");
      expect((await runCli(["restore", "-o", whole, `file://${replica}`])).code).toBe(0);
      expect(readDatabase(whole).rows).toEqual(readDatabase(db).rows);
      // A point in time between the two parts ends inside the index on purpose: the open transaction is
      // left out, not an error.
      const earlier = path.join(dir, "split-earlier.db");
      const at = new Date(Date.now() - 1_800_000).toISOString();
      const r = await runCli(["restore", "-timestamp", at, "-o", earlier, `file://${replica}`]);
      expect({ code: r.code, stderr: r.code === 0 ? "" : r.stderr }).toEqual({ code: 0, stderr: "" });
      expect(readDatabase(earlier).integrity).toBe("ok");
      expect(readDatabase(earlier).rows.length).toBeLessThan(readDatabase(db).rows.length);
    });
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

  test("a .zip output's entry is its name without .zip, with .db added when no extension remains", async () => {
    const outDir = path.join(dir, "zip-names");
    fs.mkdirSync(outDir);
    const plain = path.join(outDir, "plain.db");
    expect((await runCli(["restore", "-o", plain, `file://${pristine}`])).code).toBe(0);
    const original = new Uint8Array(fs.readFileSync(plain));
    const cases: [output: string, entry: string][] = [
      ["qt.zip", "qt.db"],
      ["app.db.zip", "app.db"],
      ["app.sqlite3.zip", "app.sqlite3"],
    ];
    for (const [output, entry] of cases) {
      const r = await runCli(["restore", "-o", path.join(outDir, output), `file://${pristine}`]);
      expect(r.code).toBe(0);
      const entries = unzipSync(new Uint8Array(fs.readFileSync(path.join(outDir, output))));
      expect(Object.keys(entries)).toEqual([entry]);
      expect(entries[entry]).toEqual(original);
    }
  });
});
