/**
 * A replica's `age` entry, as Litestream 0.3.13 reads it: `identities` (secret keys, to read) and
 * `recipients` (public keys, to write). Each key is checked where it stands; an error names its
 * position and what is wrong, never the key.
 */
import { ageIdentityProblem, ageRecipientProblem } from "../format/age-keys.ts";
import { type ConfigReader, childKey } from "./config-reader.ts";
import type { YamlNode } from "./yaml-tree.ts";

export interface AgeConfig {
  /** Secret; never print. */
  identities: string[];
  recipients: string[];
}

const AGE_KEYS = ["identities", "recipients"];

export function readAgeConfig(node: YamlNode, key: string, reader: ConfigReader): AgeConfig {
  const map = reader.map(node, key);
  for (const [name, entry] of map.entries) {
    if (!AGE_KEYS.includes(name)) {
      reader.fail(childKey(key, name), `unknown key ${childKey(key, name)}`, {
        hint: `remove "${name}"; ${key} holds identities and recipients`,
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
  const age: AgeConfig = {
    identities: keys("identities", ageIdentityProblem, "identities: [AGE-SECRET-KEY-1…] (from age-keygen)"),
    recipients: keys("recipients", ageRecipientProblem, "recipients: [age1…] (age-keygen -y prints it)"),
  };
  if (age.identities.length === 0 && age.recipients.length === 0) {
    reader.fail(key, `${key} has neither identities nor recipients`, {
      hint: "add identities (to restore) and recipients (to replicate), or remove age",
      position: map.position,
    });
  }
  return age;
}
