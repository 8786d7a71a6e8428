/**
 * Reading an age identity or recipient file (age's own format, see format/age-keys.ts): every key is
 * checked, and a problem is reported by file and line, never by the key.
 */
import * as fs from "node:fs";
import { ageIdentityProblem, ageKeyFileLines, ageRecipientProblem } from "../format/age-keys.ts";
import { ConfigError } from "./errors.ts";

export function readAgeKeyFile(file: string, kind: "identity" | "recipient", what: string): string[] {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "error";
    throw new ConfigError(`Cannot read ${what} ${file} (${code})`, {
      code: "age-key-file-invalid",
      subject: file,
      hint: `check the path and that this user may read it (age-keygen -o ${file} writes one)`,
    });
  }
  const problem = kind === "identity" ? ageIdentityProblem : ageRecipientProblem;
  const keys = ageKeyFileLines(text);
  for (const { line, key } of keys) {
    const why = problem(key);
    if (why !== undefined) {
      throw new ConfigError(`Cannot use ${what} ${file}: line ${line} is not usable: ${why}`, {
        code: "age-key-file-invalid",
        subject: file,
        hint: kind === "identity" ? "one AGE-SECRET-KEY-1… a line, as age-keygen writes" : "one age1… a line",
      });
    }
  }
  if (keys.length === 0) {
    throw new ConfigError(`Cannot use ${what} ${file}: it holds no key`, {
      code: "age-key-file-invalid",
      subject: file,
      hint: kind === "identity" ? "age-keygen -o FILE writes one" : "age-keygen -y IDENTITY_FILE prints one",
    });
  }
  return keys.map((k) => k.key);
}
