/**
 * build/etc/walship.service: `systemd-analyze verify` accepts it without a single message, it carries the
 * sandbox and the stop behaviour the README describes, and `systemd-analyze security` rates it low. Needs
 * the systemd-analyze binary (Debian's systemd package, installed by .ci/run), not a running systemd.
 */
import { afterAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { MAIN } from "../helpers/cli.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

const ROOT = path.join(import.meta.dirname, "../..");
const UNIT = path.join(ROOT, "build/etc/walship.service");
const ANALYZE = Bun.which("systemd-analyze");
/** In CI a missing systemd-analyze is a broken setup, not a reason to skip. */
const SKIP = ANALYZE === null && !process.env.CI;
if (SKIP) {
  console.warn(
    "SKIPPED: systemd-analyze is not installed, so build/etc/walship.service is not verified. " +
      "Try: apt-get install --no-install-recommends systemd",
  );
}

function analyze(args: string[]): { code: number; stdout: string; stderr: string } {
  if (ANALYZE === null) {
    throw new Error(
      "systemd-analyze is not installed (CI is set, so this does not skip). " +
        "Try: apt-get install --no-install-recommends systemd (.ci/run does it)",
    );
  }
  const r = Bun.spawnSync([ANALYZE, ...args], { env: { ...process.env, SYSTEMD_COLORS: "0" } });
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/** The [Service] section's settings; a key given several times keeps every value, in order. */
function serviceSettings(unit: string): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  let section = "";
  for (const raw of unit.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) section = header[1]!;
    else if (section === "Service") {
      const eq = line.indexOf("=");
      const key = line.slice(0, eq).trim();
      settings.set(key, [...(settings.get(key) ?? []), line.slice(eq + 1).trim()]);
    }
  }
  return settings;
}

/**
 * The command the test copy starts: verify checks that ExecStart's executable exists and is executable,
 * and the shipped /usr/local/bin/walship is not installed here. The built dist/walship when there is one;
 * else (CI runs the suite without building) walship from source, the bun running this test with
 * src/cli/main.ts, which is the same program the build compiles.
 */
function walshipCommand(): string {
  const built = path.join(ROOT, "dist/walship");
  try {
    fs.accessSync(built, fs.constants.X_OK);
    return `"${built}"`;
  } catch {
    return `"${process.execPath}" "${MAIN}"`;
  }
}

describe("build/etc/walship.service", () => {
  const dir = makeTempDir();
  afterAll(() => removeDir(dir));
  const shipped = fs.readFileSync(UNIT, "utf8");

  /** A copy whose ExecStart runs a real walship; everything else as shipped. */
  function testCopy(): string {
    expect(shipped).toMatch(/^ExecStart=\/usr\/local\/bin\/walship replicate /m);
    const copy = path.join(dir, "walship.service");
    fs.writeFileSync(copy, shipped.replace(/^ExecStart=\S+/m, `ExecStart=${walshipCommand()}`));
    return copy;
  }

  test.skipIf(SKIP)("systemd-analyze verify prints nothing, with ExecStart pointed at a real walship", () => {
    // User=app stays as shipped: verify does not look users up (systemd 252 says nothing about a user
    // that does not exist), so there is nothing to rewrite; the README tells the reader to change it.
    expect(analyze(["verify", testCopy()])).toEqual({ code: 0, stdout: "", stderr: "" });
  });

  test.skipIf(SKIP)(
    "systemd-analyze security rates its exposure at most 3.0 (the unhardened unit: 9.6)",
    () => {
      // --threshold counts in tenths: exit 1 when the overall exposure is above 3.0.
      const r = analyze(["security", "--offline=true", "--threshold=30", testCopy()]);
      const overall = r.stdout.split("\n").find((l) => l.includes("Overall exposure level")) ?? r.stderr;
      expect({ code: r.code, overall }).toEqual({ code: 0, overall });
    },
  );

  test("runs as a user of its own choosing, in a sandbox that still lets it replicate", () => {
    const s = serviceSettings(shipped);
    const one = (key: string) => s.get(key)?.join(" ");
    // The application's user and group (placeholders the README says to change), never root.
    expect(one("User")).toMatch(/^[a-z_][a-z0-9_-]*$/);
    expect(one("Group")).toMatch(/^[a-z_][a-z0-9_-]*$/);
    expect(one("User")).not.toBe("root");
    expect(one("ReadWritePaths")).toMatch(/^\//);
    const hardening: Record<string, string> = {
      NoNewPrivileges: "yes",
      ProtectSystem: "strict",
      ProtectHome: "yes",
      PrivateTmp: "yes",
      PrivateDevices: "yes",
      PrivateMounts: "yes",
      CapabilityBoundingSet: "",
      ProtectProc: "invisible",
      ProtectKernelTunables: "yes",
      ProtectKernelModules: "yes",
      ProtectKernelLogs: "yes",
      ProtectControlGroups: "yes",
      ProtectClock: "yes",
      ProtectHostname: "yes",
      RestrictAddressFamilies: "AF_UNIX AF_INET AF_INET6",
      RestrictNamespaces: "yes",
      RestrictRealtime: "yes",
      RestrictSUIDSGID: "yes",
      LockPersonality: "yes",
      SystemCallArchitectures: "native",
      SystemCallFilter: "@system-service",
      SystemCallErrorNumber: "EPERM",
    };
    for (const [key, value] of Object.entries(hardening)) expect([key, one(key)]).toEqual([key, value]);
    // What walship needs left alone: writable+executable memory for Bun's JIT, the boot id in /proc/sys
    // (without it every capture is fsynced), the network for S3.
    for (const key of ["MemoryDenyWriteExecute", "ProcSubset", "PrivateNetwork", "IPAddressDeny"]) {
      expect([key, one(key)]).toEqual([key, undefined]);
    }
  });

  test("stops with SIGTERM to walship alone, and does not restart on a wrong configuration", () => {
    const s = serviceSettings(shipped);
    const one = (key: string) => s.get(key)?.join(" ");
    expect(one("KillSignal")).toBe("SIGTERM");
    // mixed: SIGTERM to the main process only (walship forwards it to an -exec child once).
    expect(one("KillMode")).toBe("mixed");
    expect(Number(one("TimeoutStopSec"))).toBeGreaterThanOrEqual(30);
    expect(one("Restart")).toBe("always");
    // Exit code 2 is a wrong command line or config: a restart would repeat it every RestartSec.
    expect(one("RestartPreventExitStatus")).toBe("2");
  });
});
