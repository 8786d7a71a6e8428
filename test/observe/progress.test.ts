import { expect, test } from "bun:test";
import * as path from "node:path";
import { formatBytes, formatProgress, ProgressLine } from "../../src/observe/progress.ts";
import { runCli } from "../helpers/cli.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

test("progress shows bytes, objects, rate and ETA on a terminal", () => {
  const writes: string[] = [];
  let clock = 1_000_000;
  const line = new ProgressLine(
    { isTTY: true, write: (s: string) => writes.push(s) },
    "restoring",
    () => clock,
  );
  clock += 2000;
  line.update({ bytesDone: 1024 * 1024, bytesTotal: 4 * 1024 * 1024, objectsDone: 3, objectsTotal: 12 });
  line.done();
  expect(writes[0]).toContain("1.0 MiB/4.0 MiB");
  expect(writes[0]).toContain("3/12 objects");
  expect(writes[0]).toMatch(/\/s/);
  expect(writes[0]).toMatch(/ETA \d+s/);
  expect(writes[1]).toBe("\r\x1b[2K");
  expect(formatProgress("x", { bytesDone: 50, bytesTotal: 100, objectsDone: 1, objectsTotal: 2 }, 1000)).toBe(
    "x  50 B/100 B  1/2 objects  50 B/s  ETA 1s",
  );
  expect(formatBytes(1536)).toBe("1.5 KiB");
});

test("off a terminal, nothing but the final summary line", async () => {
  const writes: string[] = [];
  new ProgressLine({ isTTY: false, write: (s: string) => writes.push(s) }, "restoring").update({
    bytesDone: 1,
    bytesTotal: 2,
    objectsDone: 1,
    objectsTotal: 2,
  });
  expect(writes).toEqual([]);
  const dir = makeTempDir();
  try {
    const fixture = path.join(import.meta.dirname, "../fixtures/litestream-0.3.13");
    const r = await runCli(["restore", "-o", path.join(dir, "out.db"), `file://${fixture}`]);
    expect(r.code).toBe(0);
    const lines = r.stderr.trim().split("\n");
    expect(lines.length).toBe(1);
    expect(lines[0]).toMatch(/msg=restored .*segments=18 .*elapsed_ms=\d+/);
  } finally {
    removeDir(dir);
  }
});
