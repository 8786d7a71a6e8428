import { describe, expect, test } from "bun:test";
import { normalizeArgs } from "../../src/cli/args.ts";
import { splitCommand } from "../../src/cli/replicate.ts";

const VALUE_FLAGS = new Set(["config", "exec", "o", "timestamp"]);

describe("Litestream-style single-dash flags", () => {
  test("long flags with one dash become --long, values and positionals stay", () => {
    expect(
      normalizeArgs(["restore", "-config", "/etc/l.yml", "-o", "out.db", "/data/app.db"], VALUE_FLAGS),
    ).toEqual(["restore", "--config", "/etc/l.yml", "-o", "out.db", "/data/app.db"]);
    expect(normalizeArgs(["-timestamp=2026-01-01T00:00:00Z", "-if-db-not-exists"], VALUE_FLAGS)).toEqual([
      "--timestamp=2026-01-01T00:00:00Z",
      "--if-db-not-exists",
    ]);
  });

  test("a flag's value that looks like a flag is passed through", () => {
    expect(normalizeArgs(["replicate", "-exec", "-weird-program", "x"], VALUE_FLAGS)).toEqual([
      "replicate",
      "--exec",
      "-weird-program",
      "x",
    ]);
    expect(normalizeArgs(["--exec", "-x"], VALUE_FLAGS)).toEqual(["--exec", "-x"]);
  });

  test("nothing after -- is touched", () => {
    expect(normalizeArgs(["replicate", "--", "-config"], VALUE_FLAGS)).toEqual([
      "replicate",
      "--",
      "-config",
    ]);
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
