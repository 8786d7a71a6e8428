/** `walship age-keygen`: keys age and Litestream read, never overwritten, never printed where not asked. */
import { afterAll, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { Decrypter, Encrypter } from "age-encryption";
import { runCli } from "../helpers/cli.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

const dir = makeTempDir();
afterAll(() => removeDir(dir));
const goAgeKeygen = Bun.which("age-keygen");

test("-o writes an identity file (0600) in age-keygen's format; -y prints its recipient, as age-keygen -y does", async () => {
  const file = path.join(dir, "key.txt");
  const made = await runCli(["age-keygen", "-o", file]);
  expect(made.code).toBe(0);
  expect(made.stdout).toBe("");
  const text = fs.readFileSync(file, "utf8");
  expect(text).toMatch(/^# created: \S+Z\n# public key: age1[a-z0-9]{58}\nAGE-SECRET-KEY-1[A-Z0-9]{58}\n$/);
  expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  const recipient = /public key: (age1\S+)/.exec(text)![1]!;
  expect(made.stderr.trim()).toBe(`Public key: ${recipient}`);

  const y = await runCli(["age-keygen", "-y", file]);
  expect(y.stdout.trim()).toBe(recipient);
  if (goAgeKeygen || process.env.CI)
    expect(
      Bun.spawnSync([goAgeKeygen ?? "age-keygen", "-y", file])
        .stdout.toString()
        .trim(),
    ).toBe(recipient);

  // The pair works: typage encrypts to the recipient and decrypts with the identity.
  const e = new Encrypter();
  e.addRecipient(recipient);
  const d = new Decrypter();
  d.addIdentity(text.trim().split("\n").at(-1)!);
  expect(await d.decrypt(await e.encrypt("row"), "text")).toBe("row");
});

test("an existing file is never overwritten (exit 2, untouched); without -o the identity goes to stdout", async () => {
  const file = path.join(dir, "taken.txt");
  fs.writeFileSync(file, "precious\n");
  const r = await runCli(["age-keygen", "-o", file]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain("exists already, and walship never overwrites a key");
  expect(fs.readFileSync(file, "utf8")).toBe("precious\n");

  const printed = await runCli(["age-keygen"]);
  expect(printed.code).toBe(0);
  expect(printed.stdout).toMatch(/\nAGE-SECRET-KEY-1[A-Z0-9]{58}\n$/);
});
