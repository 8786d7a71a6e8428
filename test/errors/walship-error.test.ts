/**
 * One base for walship's errors: each carries a stable code beside its message, so advice and exit codes
 * are chosen by the code. Checked over the source, so a new typed error cannot skip it.
 */
import { expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { UsageError } from "../../src/cli/errors.ts";
import { ConfigError, ReplicaUrlError } from "../../src/config/errors.ts";
import { WalshipError } from "../../src/errors/walship-error.ts";

const SRC = path.join(import.meta.dirname, "../../src");
/** sqlite/ and format/ may import only each other (test/format/purity.test.ts): their errors carry a code of their own. */
const PURE = new Set(["sqlite", "format"]);
/** Classes that extend Error directly, and why. */
const EXEMPT: Record<string, string> = {
  S3AnswerError: "shaped as the AWS SDK's own errors, for s3-errors.ts to turn into a StorageError",
  Unavailable: "internal to parallel-decode.ts, which hands on its cause",
  WalRestarted:
    "internal to pinned-state.ts: it switches to reading the database file alone, never thrown on",
};

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(p);
    else if (entry.name.endsWith(".ts")) yield p;
  }
}

test("every error class derives from WalshipError, or (in the pure codecs) carries a code of its own", () => {
  const found: string[] = [];
  for (const file of sourceFiles(SRC)) {
    const text = fs.readFileSync(file, "utf8");
    const folder = path.relative(SRC, file).split(path.sep)[0]!;
    for (const m of text.matchAll(/class (\w+) extends Error \{([\s\S]*?)\n\}/g)) {
      const [, name, body] = m;
      found.push(name!);
      const ok = PURE.has(folder) ? /readonly code\b/.test(body!) : name! in EXEMPT;
      expect({ file: path.relative(SRC, file), name, ok }).toEqual({
        file: path.relative(SRC, file),
        name,
        ok: true,
      });
    }
  }
  expect(found.length).toBeGreaterThan(0);
});

test("the base carries code, operation, subject, hint and cause; the message is the people's", () => {
  const cause = new Error("EACCES");
  const err = new WalshipError("Cannot load config: permission denied", {
    code: "config-unreadable",
    operation: "load config",
    subject: "/etc/walship.yml",
    hint: "check its mode",
    cause,
  });
  expect(err).toBeInstanceOf(Error);
  expect(err).toMatchObject({
    message: "Cannot load config: permission denied",
    code: "config-unreadable",
    operation: "load config",
    subject: "/etc/walship.yml",
    hint: "check its mode",
    cause,
  });
});

test("configuration and command-line errors have codes", () => {
  expect(new ConfigError("Cannot load config: x").code).toBe("config-invalid");
  expect(new ConfigError("Cannot load config: x", { code: "config-not-found" }).code).toBe(
    "config-not-found",
  );
  const url = new ReplicaUrlError("s3://user:secret@bkt/db", "credentials in the URL are not used");
  expect({ code: url.code, subject: url.subject }).toEqual({
    code: "replica-url-invalid",
    subject: "s3://bkt/db",
  });
  expect(new UsageError("bad", "do this")).toMatchObject({ code: "usage", hint: "do this" });
  expect(new UsageError("bad")).toBeInstanceOf(WalshipError);
});
