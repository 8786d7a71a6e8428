/** A replica's `age` keys: X25519 keys accepted, anything else refused by position, the key never shown. */
import { describe, expect, test } from "bun:test";
import { generateIdentity, identityToRecipient } from "age-encryption";
import { parseConfig } from "../../src/config/config.ts";
import { ConfigError } from "../../src/config/errors.ts";

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

  test("an age entry with no keys, or an unknown key, is refused", () => {
    expect(refusal(["age: {}"]).message).toContain("has neither identities nor recipients");
    expect(refusal(["age:", "  identity: [x]"]).message).toContain(
      "unknown key dbs[0].replicas[0].age.identity",
    );
  });
});
