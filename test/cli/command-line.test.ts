import { describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { COMMANDS, findCommand } from "../../src/cli/commands.ts";
import { formatError, UsageError } from "../../src/cli/errors.ts";
import { parseFlags } from "../../src/cli/flags.ts";
import { commandHelp } from "../../src/cli/help.ts";
import { splitCommand } from "../../src/cli/replicate.ts";
import { runCli } from "../helpers/cli.ts";
import { demoHintRuns } from "../helpers/demo-hint.ts";

/** Every way a flag can be spelt: one dash or two, its long name or its alias. */
function spellings(name: string, alias?: string): string[] {
  return [name, ...(alias ? [alias] : [])].flatMap((n) => [`-${n}`, `--${n}`]);
}

describe("every flag of every command, in every position (one table drives parsing)", () => {
  for (const command of COMMANDS) {
    for (const flag of command.flags) {
      test(`${command.name} ${flag.kind} -${flag.name}`, () => {
        const parse = (argv: string[]) => parseFlags(command.name, command.flags, argv);
        for (const spelt of spellings(flag.name, flag.alias)) {
          if (flag.kind === "boolean") {
            // Before and after a positional: the flag never takes the next word as its value.
            for (const argv of [
              [spelt, "POS"],
              ["POS", spelt],
              [`${spelt}=true`, "POS"],
            ]) {
              const a = parse(argv);
              expect(a.boolean(flag.name)).toBe(true);
              expect(a.positionals).toEqual(["POS"]);
            }
            for (const argv of [
              [`${spelt}=false`, "POS"],
              ["POS", `${spelt}=0`],
            ]) {
              const a = parse(argv);
              expect(a.boolean(flag.name)).toBe(false);
              expect(a.positionals).toEqual(["POS"]);
            }
            expect(() => parse([`${spelt}=maybe`])).toThrow(UsageError);
          } else {
            // Values stay strings as typed, even all-digit or dash-led ones.
            for (const value of ["0123456789012345", "-x y", "a=b"]) {
              for (const argv of [
                [spelt, value, "POS"],
                [`${spelt}=${value}`, "POS"],
                ["POS", spelt, value],
              ]) {
                const a = parse(argv);
                expect(a.string(flag.name)).toBe(value);
                expect(a.positionals).toEqual(["POS"]);
              }
            }
            expect(() => parse(["POS", spelt])).toThrow(/needs a value/);
          }
        }
        // The help names the flag exactly as it is parsed.
        expect(commandHelp(command)).toContain(`-${flag.name}`);
      });
    }
  }

  test("-- ends the flags; the last of a repeated flag wins; unknown flags suggest the nearest", () => {
    const restore = findCommand("restore")!;
    const a = parseFlags("restore", restore.flags, ["-o", "a.db", "-o=b.db", "--", "-dry-run"]);
    expect(a.string("output")).toBe("b.db");
    expect(a.boolean("dry-run")).toBe(false);
    expect(a.positionals).toEqual(["-dry-run"]);
    expect(() => parseFlags("restore", restore.flags, ["-if-replica-exist"])).toThrow(
      /unknown flag -if-replica-exist/,
    );
    const err = (() => {
      try {
        parseFlags("restore", restore.flags, ["--timestmp", "x"]);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).hint).toContain("did you mean -timestamp?");
  });

  test("an on/off flag's help shows no default (-no-expand-env is not 'default: true')", () => {
    for (const command of COMMANDS) expect(commandHelp(command)).not.toContain("default: true");
  });
});

describe("the command line as Litestream 0.3.13 users type it", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "walship-cmdline-"));
  const empty = path.join(dir, "empty-replica");
  fs.mkdirSync(empty);

  test("restore -o d.db -if-replica-exists URL: nothing to restore, exit 0", async () => {
    const out = path.join(dir, "d.db");
    for (const flag of ["-if-replica-exists", "--if-replica-exists"]) {
      const r = await runCli(["restore", "-o", out, flag, `file://${empty}`]);
      expect(r.stderr).toContain("no matching backups found, skipping");
      expect(r.code).toBe(0);
    }
    expect(fs.existsSync(out)).toBe(false);
  });

  test("restore -if-db-not-exists before the URL: an existing output is left alone, exit 0", async () => {
    const out = path.join(dir, "exists.db");
    fs.writeFileSync(out, "keep");
    const r = await runCli(["restore", "-o", out, "-if-db-not-exists", `file://${empty}`]);
    expect(r.code).toBe(0);
    expect(fs.readFileSync(out, "utf8")).toBe("keep");
  });

  test("--version, -h, help and help COMMAND exit 0; an unknown command or flag exits 2", async () => {
    const version = await runCli(["--version"]);
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^walship \S+ \(commit/);
    for (const argv of [["-h"], ["--help"], ["help"]]) {
      const r = await runCli(argv);
      expect(r.code).toBe(0);
      for (const c of COMMANDS) expect(r.stdout).toContain(c.name);
    }
    for (const argv of [
      ["help", "restore"],
      ["restore", "-h"],
      ["restore", "--help"],
    ]) {
      const r = await runCli(argv);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("-if-replica-exists");
    }
    expect((await runCli(["help", "nope"])).code).toBe(2);
    const bad = await runCli(["restore", "-dryrun", "x"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("Try: did you mean -dry-run?");
  });

  test("databases URL says why not and where to look instead", async () => {
    const r = await runCli(["databases", "s3://bucket/app"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Try: walship generations s3://bucket/app");
  });
});

describe("-exec command splitting (no shell)", () => {
  test("quotes and escapes", () => {
    expect(splitCommand(`node server.js --name "my app" 'a b' c\\ d`)).toEqual([
      "node",
      "server.js",
      "--name",
      "my app",
      "a b",
      "c d",
    ]);
    expect(splitCommand(`printf ""`)).toEqual(["printf", ""]);
  });

  test("unterminated quotes and empty commands are usage errors", () => {
    expect(() => splitCommand(`node "x`)).toThrow(/unterminated quote/);
    expect(() => splitCommand("   ")).toThrow(/empty/);
  });
});

describe("a restore target is a replica directory, a URL, or a database of the config", () => {
  const FIXTURE = path.join(import.meta.dirname, "../fixtures/litestream-0.3.13");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "walship-target-"));
  // No config file anywhere: the default paths are looked up only when no -config is given.
  const env = { WALSHIP_CONFIG: path.join(dir, "absent.yml") };

  test("restore -o OUT /path/to/replica: the README's directory restore works without a config", async () => {
    const out = path.join(dir, "from-dir.db");
    const r = await runCli(["restore", "-o", out, FIXTURE], { env });
    expect(r.stderr).not.toContain("Cannot load config");
    expect(r.code).toBe(0);
    expect(fs.readFileSync(out)).toEqual(fs.readFileSync(path.join(FIXTURE, "expected-restored.db")));
    // The listing commands read the same directory the same way.
    const gens = await runCli(["generations", FIXTURE], { env });
    expect(gens.code).toBe(0);
    expect(gens.stdout).toContain("file");
  });

  test("a directory without -o asks for the output path", async () => {
    const r = await runCli(["restore", FIXTURE], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`Try: walship restore -o app.db ${FIXTURE}`);
  });

  test("a path that is neither gets one error naming both readings", async () => {
    const missing = path.join(dir, "no-such-backup");
    const r = await runCli(["restore", "-o", path.join(dir, "x.db"), missing], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `Cannot restore ${missing}: it is not a replica directory (no such directory)`,
    );
    expect(r.stderr).toContain("Cannot load config".toLowerCase());
    expect(r.stderr).toContain("Try: give the replica's directory or URL");
    expect(fs.existsSync(path.join(dir, "x.db"))).toBe(false);
  });
});

test("the demo's closing hint is a command that runs as printed, walship on PATH or not", async () => {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), "walship-demo-cwd-"));
  const hint = await demoHintRuns({ cwd });
  expect(hint).not.toStartWith("walship ");
});

test("every error gets a Try:, even one without a hint of its own", () => {
  expect(formatError(new Error("disk on fire"))).toContain("disk on fire. Try: walship doctor");
  expect(formatError(new UsageError("bad"))).toContain("bad. Try: walship COMMAND -h");
  expect(formatError(new UsageError("bad", "do this"))).toBe("walship: bad. Try: do this");
});
