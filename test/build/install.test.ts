/**
 * install.sh against a release directory built here (only the host's archive, through the release code,
 * to stay fast): it installs a walship that runs, from a directory and from a URL; it refuses a tampered
 * archive, a missing one and a musl host without libstdc++, each with one line and nothing installed;
 * --systemd writes the unit and the example config under --root, never to /etc. shellcheck finds nothing.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { archiveName, type ReleasePlatform, release } from "../../build/release.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

const ROOT = path.join(import.meta.dir, "../..");
const HOST = `${process.platform}-${process.arch}` as ReleasePlatform;
const SHELLCHECK = Bun.which("shellcheck");
const SKIP_SHELLCHECK = SHELLCHECK === null && !process.env.CI;
if (SKIP_SHELLCHECK) {
  console.warn(
    "SKIPPED: shellcheck is not installed, so install.sh is not linted. Try: apt-get install shellcheck",
  );
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function sh(args: string[], env: Record<string, string> = {}): Run {
  const r = Bun.spawnSync(["sh", ...args], { env: { ...process.env, ...env }, stdin: "ignore" });
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/** Every file below `dir`, relative; [] when it does not exist. */
function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) =>
    fs.statSync(path.join(dir, f)).isFile(),
  );
}

describe("install.sh", () => {
  const dir = makeTempDir("walship-install-");
  const rel = path.join(dir, "release");

  beforeAll(async () => {
    await release({ out: rel, platforms: [HOST] });
  }, 120_000);
  afterAll(() => removeDir(dir));

  test("installs the host's archive from the release directory into a prefix, and it runs", () => {
    const prefix = path.join(dir, "prefix");
    const r = sh([path.join(rel, "install.sh"), "--prefix", prefix]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const exe = path.join(prefix, "bin/walship");
    expect(r.stdout).toContain(`installed ${exe} (walship `);
    expect(filesUnder(prefix)).toEqual(["bin/walship"]);
    const version = Bun.spawnSync([exe, "version"]);
    expect(version.exitCode).toBe(0);
    expect(version.stdout.toString()).toStartWith("walship ");
  });

  test("installs from a URL", async () => {
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch(req) {
        const name = new URL(req.url).pathname.replace("/releases/v0.1.0/", "");
        const file = path.join(rel, path.basename(name));
        return fs.existsSync(file) ? new Response(Bun.file(file)) : new Response("no", { status: 404 });
      },
    });
    try {
      const prefix = path.join(dir, "prefix-url");
      const from = `http://127.0.0.1:${server.port}/releases/v0.1.0/`;
      // Bun.spawnSync would block the event loop this server answers on.
      const proc = Bun.spawn(["sh", path.join(ROOT, "install.sh"), "--from", from, "--prefix", prefix], {
        stdout: "pipe",
        stderr: "pipe",
      });
      const stderr = await new Response(proc.stderr).text();
      expect(stderr).toBe("");
      expect(await proc.exited).toBe(0);
      expect(filesUnder(prefix)).toEqual(["bin/walship"]);
    } finally {
      server.stop(true);
    }
  });

  test("refuses a tampered archive with one line, and installs nothing", () => {
    const bad = path.join(dir, "tampered");
    fs.cpSync(rel, bad, { recursive: true });
    const archive = path.join(bad, archiveName(HOST));
    const bytes = fs.readFileSync(archive);
    bytes[bytes.length >> 1]! ^= 0xff;
    fs.writeFileSync(archive, bytes);
    const prefix = path.join(dir, "prefix-tampered");
    const r = sh([path.join(ROOT, "install.sh"), "--from", bad, "--prefix", prefix]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^install\.sh: walship-.+ does not match SHA256SUMS .+: nothing installed\n$/);
    expect(filesUnder(prefix)).toEqual([]);
  });

  test("refuses a release without the host's archive, and an unknown target", () => {
    const empty = path.join(dir, "empty");
    fs.mkdirSync(empty);
    fs.writeFileSync(path.join(empty, "SHA256SUMS"), `${"0".repeat(64)}  walship-0.1.0-plan9-x64.tar.gz\n`);
    const prefix = path.join(dir, "prefix-missing");
    const r = sh([path.join(ROOT, "install.sh"), "--from", empty, "--prefix", prefix]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `install.sh: no walship archive for ${HOST} in ${empty} (SHA256SUMS does not list one)\n`,
    );
    const unknown = sh([
      path.join(ROOT, "install.sh"),
      "--from",
      rel,
      "--target",
      "sparc",
      "--prefix",
      prefix,
    ]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toStartWith("install.sh: unknown --target sparc");
    expect(filesUnder(prefix)).toEqual([]);
  });

  test.skipIf(fs.existsSync("/usr/lib/libstdc++.so.6"))(
    "on a musl target without libstdc++ it says apk add libstdc++",
    () => {
      // Neither ldconfig nor apk finds libstdc++, as on an Alpine without it.
      const bin = path.join(dir, "fake-bin");
      fs.mkdirSync(bin);
      fs.writeFileSync(path.join(bin, "ldconfig"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
      fs.writeFileSync(path.join(bin, "apk"), "#!/bin/sh\nexit 1\n", { mode: 0o755 });
      const prefix = path.join(dir, "prefix-musl");
      const r = sh(
        [path.join(ROOT, "install.sh"), "--from", rel, "--target", "linux-x64-musl", "--prefix", prefix],
        { PATH: `${bin}:/usr/bin:/bin` },
      );
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(
        "install.sh: walship's musl build needs libstdc++, which is not installed: apk add libstdc++\n",
      );
      expect(filesUnder(prefix)).toEqual([]);
    },
  );

  test("--systemd under --root writes the unit with the application's user and the example config", () => {
    const root = path.join(dir, "root");
    const r = sh([
      path.join(ROOT, "install.sh"),
      "--from",
      rel,
      "--root",
      root,
      "--systemd",
      "--user",
      "root",
      "--db-dir",
      "/srv/app",
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(filesUnder(root).sort()).toEqual([
      "etc/systemd/system/walship.service",
      "etc/walship.yml",
      "usr/local/bin/walship",
    ]);
    const unit = fs.readFileSync(path.join(root, "etc/systemd/system/walship.service"), "utf8");
    const shipped = fs.readFileSync(path.join(ROOT, "build/etc/walship.service"), "utf8");
    const expected = shipped
      .replace(/^User=.*$/m, "User=root")
      .replace(/^Group=.*$/m, "Group=root")
      .replace(/^ReadWritePaths=.*$/m, "ReadWritePaths=/srv/app");
    expect(unit).toBe(expected);
    expect(fs.statSync(path.join(root, "etc/walship.yml")).mode & 0o777).toBe(0o640);
    expect(r.stdout).toContain("systemctl daemon-reload && systemctl enable --now walship");
    // Nothing enabled: --enable is refused together with --root.
    const enable = sh([
      path.join(ROOT, "install.sh"),
      "--from",
      rel,
      "--root",
      root,
      "--systemd",
      "--enable",
    ]);
    expect(enable.code).toBe(1);
    expect(enable.stderr.split("\n").length).toBe(2);
  });

  test.skipIf(SKIP_SHELLCHECK)("shellcheck finds nothing in install.sh", () => {
    if (SHELLCHECK === null) throw new Error("shellcheck is not installed (CI is set): .ci/run installs it");
    const r = Bun.spawnSync([SHELLCHECK, "--shell=sh", path.join(ROOT, "install.sh")]);
    expect(r.stdout.toString()).toBe("");
    expect(r.exitCode).toBe(0);
  });
});
