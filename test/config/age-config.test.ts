/** A replica's `age` keys: X25519 keys accepted, anything else refused by position, the key never shown. */
import { afterAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { generateIdentity, identityToRecipient } from "age-encryption";
import { parseConfig } from "../../src/config/config.ts";
import { ConfigError } from "../../src/config/errors.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

const identity = await generateIdentity();
const recipient = await identityToRecipient(identity);

function parse(ageLines: string[]) {
  const text = [
    "dbs:",
    "  - path: /data/app.db",
    "    replicas:",
    "      - url: s3://bkt/app",
    ...ageLines.map((l) => `        ${l}`),
    "",
  ].join("\n");
  return parseConfig(text, {
    file: "/etc/walship.yml",
    expandEnv: true,
    env: () => undefined,
    cwd: "/",
    home: "/",
  });
}

function refusal(ageLines: string[]): ConfigError {
  try {
    parse(ageLines);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

describe("age keys in a replica", () => {
  test("X25519 identities and recipients are read", () => {
    const config = parse(["age:", `  identities: [${identity}]`, `  recipients: [${recipient}]`]);
    expect(config.dbs[0]!.replicas[0]!.age).toEqual({ identities: [identity], recipients: [recipient] });
  });

  test("validation-interval on an encrypted replica needs an identity to read it back", () => {
    const err = refusal(["validation-interval: 1h", "age:", `  recipients: [${recipient}]`]);
    expect(err.message).toContain("dbs[0].replicas[0].validation-interval needs age identities");
    const both = [
      "validation-interval: 1h",
      "age:",
      `  identities: [${identity}]`,
      `  recipients: [${recipient}]`,
    ];
    expect(parse(both).dbs[0]!.replicas[0]!.validationIntervalMs).toBe(3_600_000);
  });

  const pq = `age1pq1${"q".repeat(1900)}`;
  test.each([
    ["a recipient among the identities", [`  identities: [${recipient}]`], "identities[0]", "is a recipient"],
    ["an identity among the recipients", [`  recipients: [${identity}]`], "recipients[0]", "is an identity"],
    [
      "a mistyped identity",
      [`  identities: [${identity.slice(0, -2)}QQ]`],
      "identities[0]",
      "not a valid key",
    ],
    ["a post-quantum recipient", [`  recipients: [${pq}]`], "recipients[0]", "post-quantum"],
    ["a second, empty identity", [`  identities: [${identity}, ""]`], "identities[1]", "it is empty"],
    ["an identity given as text, not a list", [`  identities: ${identity}`], "identities", "must be a list"],
  ])("%s is refused where it stands, without the key", (_what, lines, where, why) => {
    const err = refusal(["age:", ...lines]);
    expect(err.message).toContain(`dbs[0].replicas[0].age.${where}`);
    expect(err.message).toContain(why);
    expect(err.line).toBe(6);
    expect(`${err.message} ${err.hint}`).not.toContain(identity.slice(16, 40));
    expect(`${err.message} ${err.hint}`).not.toContain(recipient.slice(5, 30));
  });

  describe("keys in files, as age writes them", () => {
    const dir = makeTempDir();
    afterAll(() => removeDir(dir));
    const file = (name: string, text: string) => {
      fs.writeFileSync(path.join(dir, name), text);
      return path.join(dir, name);
    };

    test("identities-file and recipients-file add to the keys in the config", () => {
      const ids = file("ids.txt", `# created: 2026-12-06\n# public key: ${recipient}\n${identity}\n\n`);
      const recs = file("recs.txt", `${recipient}\n`);
      const config = parse(["age:", `  identities-file: ${ids}`, `  recipients-file: ${recs}`]);
      expect(config.dbs[0]!.replicas[0]!.age).toEqual({ identities: [identity], recipients: [recipient] });
    });

    test("a bad line is named by number, an unreadable file by its path: at the key's line, no key shown", () => {
      const recs = file("swapped.txt", `# mine\n${identity}\n`);
      const swapped = refusal(["age:", `  recipients-file: ${recs}`]);
      expect(swapped.message).toContain(
        `age.recipients-file ${recs}: line 2 is not usable: it is an identity`,
      );
      expect(swapped.line).toBe(6);
      expect(`${swapped.message} ${swapped.hint}`).not.toContain(identity.slice(16, 40));
      const gone = refusal(["age:", `  identities-file: ${dir}/gone.txt`]);
      expect(gone.message).toContain(
        `Cannot read dbs[0].replicas[0].age.identities-file ${dir}/gone.txt (ENOENT)`,
      );
      expect(gone.line).toBe(6);
    });
  });

  test("an age entry with no keys, or an unknown key, is refused", () => {
    expect(refusal(["age: {}"]).message).toContain("has neither identities nor recipients");
    expect(refusal(["age:", "  identity: [x]"]).message).toContain(
      "unknown key dbs[0].replicas[0].age.identity",
    );
  });
});
