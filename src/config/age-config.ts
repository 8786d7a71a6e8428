/**
 * A replica's `age` entry, as Litestream 0.3.13 reads it: `identities` (secret keys, to read) and
 * `recipients` (public keys, to write); and walship's `identities-file` and `recipients-file`, which
 * keep keys out of the config (age's own file format). Each key is checked where it stands; an error
 * names its position (or the file's line) and what is wrong, never the key.
 */
import { ageIdentityProblem, ageRecipientProblem } from "../format/age-keys.ts";
import { readAgeKeyFile } from "./age-key-file.ts";
import { type ConfigReader, childKey } from "./config-reader.ts";
import { ConfigError } from "./errors.ts";
import { expandPath } from "./posix-path.ts";
import type { YamlNode } from "./yaml-tree.ts";

export interface AgeConfig {
  /** Secret; never print. */
  identities: string[];
  recipients: string[];
}

const AGE_KEYS = ["identities", "recipients", "identities-file", "recipients-file"];

export function readAgeConfig(
  node: YamlNode,
  key: string,
  reader: ConfigReader,
  dirs: { cwd: string; home: string },
): AgeConfig {
  const map = reader.map(node, key);
  for (const [name, entry] of map.entries) {
    if (!AGE_KEYS.includes(name)) {
      reader.fail(childKey(key, name), `unknown key ${childKey(key, name)}`, {
        hint: `remove "${name}"; ${key} holds ${AGE_KEYS.join(", ")}`,
        position: entry.keyPosition,
      });
    }
  }
  const keys = (name: string, problem: (k: string) => string | undefined, example: string): string[] => {
    const list = map.entries.get(name);
    if (!list) return [];
    const parent = childKey(key, name);
    return reader.list(list.value, parent).map((item, i) => {
      const itemKey = `${parent}[${i}]`;
      const value = reader.string(item, itemKey)?.trim();
      const why = value === undefined ? "it is empty" : problem(value);
      if (why !== undefined || value === undefined) {
        reader.fail(itemKey, `${itemKey} is not usable: ${why}`, {
          hint: example,
          position: item.kind === "scalar" ? item.position : undefined,
        });
      }
      return value;
    });
  };
  const fromFile = (name: string, kind: "identity" | "recipient"): string[] => {
    const entry = map.entries.get(name);
    if (!entry) return [];
    const fileKey = childKey(key, name);
    const file = reader.string(entry.value, fileKey);
    const position = entry.value.kind === "scalar" ? entry.value.position : undefined;
    if (file === undefined)
      reader.fail(fileKey, `${fileKey} is empty`, { hint: `${name}: /etc/walship/age.txt`, position });
    try {
      return readAgeKeyFile(expandPath(file, dirs), kind, fileKey);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      return reader.fail(fileKey, err.message, { ...(err.hint ? { hint: err.hint } : {}), position });
    }
  };
  const age: AgeConfig = {
    identities: [
      ...keys("identities", ageIdentityProblem, "identities: [AGE-SECRET-KEY-1…] (from age-keygen)"),
      ...fromFile("identities-file", "identity"),
    ],
    recipients: [
      ...keys("recipients", ageRecipientProblem, "recipients: [age1…] (age-keygen -y prints it)"),
      ...fromFile("recipients-file", "recipient"),
    ],
  };
  if (age.identities.length === 0 && age.recipients.length === 0) {
    reader.fail(key, `${key} has neither identities nor recipients`, {
      hint: "add identities or identities-file (to restore), recipients (to replicate), or remove age",
      position: map.position,
    });
  }
  return age;
}
