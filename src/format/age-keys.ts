/**
 * age keys as Litestream 0.3.13 can use them: native X25519 identities (`AGE-SECRET-KEY-1…`) and
 * recipients (`age1…`), Bech32-encoded 32-byte keys. Post-quantum, plugin and SSH keys exist in age
 * today but Litestream 0.3.13 (age 1.1) cannot read what they encrypt, so a replica shared with it must
 * not use them. Problems are described without the key: a key is a secret, or names one.
 */
import { bech32 } from "@scure/base";

/** Bech32 allows 90 characters; an X25519 key is well within it. */
const BECH32_LIMIT = 90;

/** Why `key` is not an X25519 identity Litestream 0.3.13 can use, or undefined when it is one. */
export function ageIdentityProblem(key: string): string | undefined {
  if (key.startsWith("age1")) return "it is a recipient (a public key, age1…), not an identity";
  if (/^AGE-SECRET-KEY-PQ-1/i.test(key)) return postQuantum;
  if (/^AGE-PLUGIN-/i.test(key)) return plugin;
  if (!/^AGE-SECRET-KEY-1/.test(key)) return "it does not start with AGE-SECRET-KEY-1";
  return bech32Problem(key.toLowerCase(), "age-secret-key-");
}

/** Why `key` is not an X25519 recipient Litestream 0.3.13 can use, or undefined when it is one. */
export function ageRecipientProblem(key: string): string | undefined {
  if (/^AGE-SECRET-KEY-/i.test(key)) return "it is an identity (a secret key), not a recipient";
  if (key.startsWith("age1pq1")) return postQuantum;
  if (/^age1[a-z0-9]+1/.test(key) && key.length > 62) return plugin;
  if (/^(ssh-|ecdsa-)/.test(key)) return "SSH keys are not supported: use an X25519 key from age-keygen";
  if (!key.startsWith("age1")) return "it does not start with age1";
  return bech32Problem(key, "age");
}

const postQuantum =
  "it is a post-quantum key, which Litestream 0.3.13 (age 1.1) cannot use: use an X25519 key from age-keygen";
const plugin = "it is a plugin key, which Litestream 0.3.13 cannot use: use an X25519 key from age-keygen";

function bech32Problem(key: string, prefix: string): string | undefined {
  let decoded: { prefix: string; bytes: Uint8Array };
  try {
    decoded = bech32.decodeToBytes(key as `${string}1${string}`, BECH32_LIMIT);
  } catch {
    // The library's message quotes the key.
    return "it is not a valid key (a typo, or cut short?)";
  }
  if (decoded.prefix !== prefix || decoded.bytes.length !== 32) return "it is not a valid X25519 key";
  return undefined;
}

/**
 * The keys of an age key file, as age reads its own identity and recipient files: one key a line,
 * blank lines and `#` comments ignored; with their 1-based line numbers, for errors that must not
 * quote them.
 */
export function ageKeyFileLines(text: string): { line: number; key: string }[] {
  return text
    .split(/\r?\n/)
    .map((raw, i) => ({ line: i + 1, key: raw.trim() }))
    .filter(({ key }) => key !== "" && !key.startsWith("#"));
}

/** The 32-byte X25519 public key of a recipient already checked by ageRecipientProblem. */
export function ageRecipientBytes(recipient: string): Uint8Array {
  return bech32.decodeToBytes(recipient as `${string}1${string}`, BECH32_LIMIT).bytes;
}

/** The Bech32 text of an X25519 identity (its 32-byte secret) and of a recipient (its public key). */
export function encodeAgeIdentity(secret: Uint8Array): string {
  return bech32.encode("age-secret-key-", bech32.toWords(secret), BECH32_LIMIT).toUpperCase();
}

export function encodeAgeRecipient(publicKey: Uint8Array): string {
  return bech32.encode("age", bech32.toWords(publicKey), BECH32_LIMIT);
}

/** The 32-byte secret of an identity already checked by ageIdentityProblem. */
export function ageIdentityBytes(identity: string): Uint8Array {
  return bech32.decodeToBytes(identity.toLowerCase() as `${string}1${string}`, BECH32_LIMIT).bytes;
}
