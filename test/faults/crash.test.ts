/**
 * Crash harness: cycles of SIGKILL to walship at random moments while the application commits and runs
 * its own PASSIVE, RESTART and TRUNCATE checkpoints, and now and then SIGKILL to the application too.
 * The backpressure bound is at its smallest, so the application's writers are held (and walship killed
 * while it holds them) now and then. After each kill the replica is restored: it must pass
 * integrity_check, hold a prefix of the committed sequence, and hold at least everything the previous
 * restore held (no upload is ever lost). At the end every generation on the replica is restored and
 * checked the same way.
 * CI runs WALSHIP_CRASH_CYCLES (default 30); `npm run torture` runs 500.
 */
import { afterAll, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { type Running, runCli, startCli, waitFor } from "../helpers/cli.ts";
import { readDatabase } from "../helpers/db-content.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

const CYCLES = Number(process.env.WALSHIP_CRASH_CYCLES ?? 30);
const WRITER = path.join(import.meta.dirname, "crash-writer.ts");
const dir = makeTempDir("walship-crash-");
afterAll(() => removeDir(dir));

let seed = Number(process.env.WALSHIP_CRASH_SEED ?? Date.now() % 100_000);
function rand(n: number): number {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed % n;
}

function startWriter(db: string): ReturnType<typeof Bun.spawn> {
  return Bun.spawn([process.execPath, WRITER, db, String(rand(1_000_000) + 1)], {
    stdout: "ignore",
    stderr: "inherit",
  });
}

/**
 * Restores the replica (its newest state, or `generation`'s) and checks it: integrity ok, rows are
 * exactly 1..k. Returns k.
 */
async function restoreAndCheck(replica: string, cycle: number, generation?: string): Promise<number> {
  const out = path.join(dir, `restore-${cycle}.db`);
  const pick = generation ? ["-generation", generation] : [];
  const r = await runCli(["restore", "--verify", "full", ...pick, "-o", out, `file://${replica}`]);
  if (r.code !== 0) throw new Error(`cycle ${cycle}: restore ${generation ?? ""} failed: ${r.stderr}`);
  const { integrity, rows } = readDatabase(out, "seq");
  fs.rmSync(out, { force: true });
  expect({ cycle, integrity }).toEqual({ cycle, integrity: "ok" });
  const ns = (rows as { n: number }[]).map((row) => row.n);
  const gap = ns.findIndex((n, i) => n !== i + 1);
  expect({ cycle, firstOutOfSequence: gap }).toEqual({ cycle, firstOutOfSequence: -1 });
  return ns.length;
}

test(
  `no committed and uploaded transaction is lost across ${CYCLES} crash cycles`,
  async () => {
    const db = path.join(dir, "app.db");
    const replica = path.join(dir, "replica");
    const config = path.join(dir, "walship.yml");
    fs.writeFileSync(
      config,
      [
        "dbs:",
        `  - path: ${db}`,
        "    monitor-interval: 50ms",
        "    min-checkpoint-page-count: 100",
        "    max-checkpoint-page-count: 400",
        // The smallest bound: the writer's large transactions (2-15 MB) pass it, so writers are held
        // while they go up, and WAL sessions restart at 2 MiB, at moments the kills land in.
        "    max-wal-size: 4MiB",
        "    replicas:",
        `      - url: file://${replica}`,
        "        sync-interval: 50ms",
        "",
      ].join("\n"),
    );
    console.log(`crash harness: ${CYCLES} cycles, seed ${seed}`);
    let writer = startWriter(db);
    await waitFor(() => fs.existsSync(db), 10_000, "the writer to create the database");
    let walship: Running = startCli(["replicate", "-config", config]);
    await waitFor(() => fs.existsSync(path.join(replica, "generations")), 20_000, "the first snapshot");

    let previous = 0;
    let writerKills = 0;
    let heldCycles = 0;
    const started = Date.now();
    for (let cycle = 1; cycle <= CYCLES; cycle++) {
      await Bun.sleep(50 + rand(400));
      if (walship.stderr().includes("held the application's writers")) heldCycles++;
      await walship.stop("SIGKILL");
      if (rand(5) === 0) {
        writer.kill("SIGKILL");
        await writer.exited;
        writerKills++;
        writer = startWriter(db);
      }
      const restored = await restoreAndCheck(replica, cycle);
      expect({ cycle, restored, atLeast: previous }).toEqual({
        cycle,
        restored: Math.max(restored, previous),
        atLeast: previous,
      });
      previous = restored;
      walship = startCli(["replicate", "-config", config]);
      await waitFor(
        () => walship.stderr().includes("initialized db"),
        20_000,
        `walship to restart (cycle ${cycle})`,
      );
    }

    // Finally: stop the application, then walship gracefully: the replica equals the database.
    writer.kill("SIGTERM");
    await writer.exited;
    const last = await walship.stop("SIGTERM");
    expect({ code: last.code, stderr: last.code === 0 ? "" : last.stderr }).toEqual({ code: 0, stderr: "" });
    const final = await restoreAndCheck(replica, CYCLES + 1);
    expect(final).toBe(readDatabase(db, "seq").rows.length);
    // Every generation walship left with a snapshot is a backup it called good: each must restore too. (A
    // kill between a new generation's first WAL upload and its snapshot leaves one without.)
    // (A kill before its snapshot upload even began leaves no snapshots directory at all.)
    const snapshotsOf = (g: string): string[] => {
      const dir = path.join(replica, "generations", g, "snapshots");
      return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
    };
    const generations = fs
      .readdirSync(path.join(replica, "generations"))
      .filter((g) => snapshotsOf(g).some((f) => f.endsWith(".lz4")));
    for (const generation of generations) await restoreAndCheck(replica, CYCLES + 2, generation);
    console.log(
      `crash harness: ${CYCLES} cycles (${writerKills} writer kills, ${heldCycles} with writers held) in ${((Date.now() - started) / 1000).toFixed(1)} s; ${final} rows at the end; ${generations.length} generations, each restored`,
    );
  },
  30 * 60_000,
);
