/**
 * `walship age-keygen`: a new X25519 age identity in age-keygen's own file format (so Litestream 0.3.13,
 * age and walship all read it), for a host that has only the walship binary; `-y FILE` prints the
 * recipients of an identity file. The file is created 0600 and never overwritten; the secret goes to
 * stdout only when no file is given, as age-keygen does.
 */
import * as fs from "node:fs";
import { readAgeKeyFile } from "../config/age-key-file.ts";
import { ageIdentityBytes, encodeAgeIdentity, encodeAgeRecipient } from "../format/age-keys.ts";
import { x25519Generate, x25519PublicOf } from "../storage/age-cipher.ts";
import { EXIT_OK, UsageError } from "./errors.ts";

export function runAgeKeygen(
  opts: { output?: string | undefined; recipientsOf?: string | undefined },
  out: (line: string) => void,
  err: (line: string) => void,
): number {
  if (opts.recipientsOf !== undefined) {
    if (opts.output !== undefined) throw new UsageError("Cannot use -o with -y", "-y prints to stdout");
    for (const identity of readAgeKeyFile(opts.recipientsOf, "identity", "the age identity file"))
      out(encodeAgeRecipient(x25519PublicOf(ageIdentityBytes(identity))));
    return EXIT_OK;
  }
  const { secret, publicKey } = x25519Generate();
  const recipient = encodeAgeRecipient(publicKey);
  const text = `# created: ${new Date().toISOString().replace(/\.\d+Z$/, "Z")}\n# public key: ${recipient}\n${encodeAgeIdentity(secret)}\n`;
  if (opts.output === undefined) {
    out(text.trimEnd());
    return EXIT_OK;
  }
  try {
    fs.writeFileSync(opts.output, text, { mode: 0o600, flag: "wx" });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "error";
    throw new UsageError(
      `Cannot write the age identity file ${opts.output} (${code})`,
      code === "EEXIST"
        ? "it exists already, and walship never overwrites a key: choose another path"
        : "check the directory exists and this user may write to it",
    );
  }
  err(`Public key: ${recipient}`);
  return EXIT_OK;
}
