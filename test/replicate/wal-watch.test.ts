import { afterAll, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { WalWatch } from "../../src/replicate/wal-watch.ts";
import { memoryLogger } from "../helpers/quiet-log.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

const dir = makeTempDir();
afterAll(() => removeDir(dir));

/** Polls `cond` every 5 ms for up to `ms`. */
async function until(cond: () => boolean, ms = 2000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!cond() && Date.now() < deadline) await Bun.sleep(5);
  return cond();
}

test("captures on change events while light, polls without a watch while heavy, and watches again after", async () => {
  const db = path.join(dir, "app.db");
  const wal = `${db}-wal`;
  fs.writeFileSync(wal, "");
  let captures = 0;
  let captureBytes = 0;
  const watch = new WalWatch(
    db,
    20,
    () => {
      captures++;
      return captureBytes;
    },
    memoryLogger().log,
  );
  watch.start();
  try {
    expect(watch.watching).toBe(true);
    // Light: a change is captured without any polling.
    await Bun.sleep(50);
    expect(captures).toBe(0);
    fs.appendFileSync(wal, "x");
    expect(await until(() => captures === 1)).toBe(true);

    // Heavy: the watch closes and captures keep coming with no change events at all.
    captureBytes = 1024 * 1024;
    fs.appendFileSync(wal, "x");
    expect(await until(() => !watch.watching)).toBe(true);
    const polled = captures;
    expect(await until(() => captures >= polled + 5)).toBe(true);
    expect(watch.watching).toBe(false);

    // Light again: the watch is back (after one more capture), and polling has stopped.
    captureBytes = 0;
    expect(await until(() => watch.watching)).toBe(true);
    await Bun.sleep(100);
    const settled = captures;
    await Bun.sleep(100);
    expect(captures).toBe(settled);
    fs.appendFileSync(wal, "x");
    expect(await until(() => captures === settled + 1)).toBe(true);
  } finally {
    watch.close();
  }
  const closedAt = captures;
  fs.appendFileSync(wal, "x");
  await Bun.sleep(100);
  expect(captures).toBe(closedAt);
});

test("a file renamed over the database, or the database deleted, is captured at once; writes to it are not", async () => {
  const db = path.join(dir, "renamed.db");
  fs.writeFileSync(db, "old");
  fs.writeFileSync(`${db}-wal`, "");
  let captures = 0;
  // A light gap far longer than the test: only the rename can have caused a capture.
  const watch = new WalWatch(
    db,
    60_000,
    () => {
      captures++;
      return 0;
    },
    memoryLogger().log,
  );
  watch.start();
  try {
    fs.appendFileSync(db, "a page written by a checkpoint");
    await Bun.sleep(100);
    expect(captures).toBe(0);
    fs.writeFileSync(path.join(dir, "new.db"), "new");
    fs.renameSync(path.join(dir, "new.db"), db);
    expect(await until(() => captures === 1)).toBe(true);
    fs.rmSync(db);
    expect(await until(() => captures === 2)).toBe(true);
  } finally {
    watch.close();
  }
});
