import { afterAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { currentBootId, RunMarker } from "../../src/replicate/run-marker.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

/** The boot id is read from /proc/sys/kernel/random/boot_id, which only Linux has. */
const NOT_LINUX = process.platform !== "linux";
if (NOT_LINUX) console.warn(`SKIPPED: the boot id check needs Linux (this is ${process.platform})`);

describe("run marker", () => {
  const dir = makeTempDir();
  afterAll(() => removeDir(dir));

  test("reports an unclosed session of another boot only", () => {
    const file = path.join(dir, "walship.run");
    const marker = new RunMarker(file);
    expect(marker.begin("boot-a")).toBe(false); // first run
    expect(marker.begin("boot-a")).toBe(false); // crashed process, same boot: page cache intact
    expect(marker.begin("boot-b")).toBe(true); // the machine went down while capturing
    marker.end();
    expect(fs.existsSync(file)).toBe(false);
    expect(marker.begin("boot-c")).toBe(false); // closed cleanly before the reboot
    expect(fs.readFileSync(file, "utf8")).toBe("boot-c\n");
    expect(fs.readdirSync(dir)).toEqual(["walship.run"]);
  });

  test.skipIf(NOT_LINUX)("this machine has a boot id (Linux)", () => {
    expect(currentBootId()).toMatch(/^[0-9a-f-]{36}$/);
  });
});
