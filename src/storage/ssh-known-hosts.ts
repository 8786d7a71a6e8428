/**
 * OpenSSH's known_hosts format (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"), read as ssh reads it: comma-
 * separated host patterns with `*`, `?` and `!` negation, `[host]:port` for other ports than 22, hashed
 * names (`|1|SALT|HMAC-SHA1(SALT, NAME)`, written by `ssh-keygen -H` and HashKnownHosts), and the markers
 * `@revoked` (this key is refused for every host) and `@cert-authority` (not supported: skipped).
 * Pure: the caller reads the files.
 */
import { createHash, createHmac } from "node:crypto";

export interface KnownHostLine {
  marker: "" | "@revoked" | "@cert-authority";
  patterns: string;
  keyType: string;
  /** The key in SSH wire format. */
  key: Buffer;
}

export type HostKeyVerdict =
  | { ok: true }
  /** unknown: no line for this host with this key; mismatch: another key of the same type is known. */
  | { ok: false; reason: "unknown" | "mismatch" | "revoked" };

/** The name known_hosts stores a host under: `host`, or `[host]:port` for another port than 22. */
export function knownHostName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** `SHA256:<base64, unpadded>` of a key in wire format, as `ssh-keygen -l` prints it. */
export function sha256Fingerprint(key: Uint8Array): string {
  return `SHA256:${createHash("sha256").update(key).digest("base64").replace(/=+$/, "")}`;
}

/** The key type named inside a wire-format key (its first string), such as `ssh-ed25519`. */
export function wireKeyType(key: Uint8Array): string {
  if (key.length < 4) return "unknown";
  const n = new DataView(key.buffer, key.byteOffset, key.byteLength).getUint32(0);
  return Buffer.from(key.subarray(4, 4 + n)).toString("latin1");
}

/** The lines of a known_hosts file that carry a key; malformed lines are skipped, as ssh does. */
export function parseKnownHosts(text: string): KnownHostLine[] {
  const lines: KnownHostLine[] = [];
  for (const raw of text.split("\n")) {
    const fields = raw.trim().split(/\s+/);
    if (fields[0] === "" || fields[0]?.startsWith("#")) continue;
    let marker: KnownHostLine["marker"] = "";
    if (fields[0] === "@revoked" || fields[0] === "@cert-authority") marker = fields.shift() as typeof marker;
    const [patterns, keyType, base64] = fields;
    if (patterns === undefined || keyType === undefined || base64 === undefined) continue;
    const key = Buffer.from(base64, "base64");
    if (key.length === 0 || wireKeyType(key) !== keyType) continue;
    lines.push({ marker, patterns, keyType, key });
  }
  return lines;
}

/** Whether a line's host patterns cover `name` (as knownHostName gives it). */
export function patternsMatch(patterns: string, name: string): boolean {
  if (patterns.startsWith("|1|")) return hashedMatch(patterns, name);
  let matched = false;
  for (const pattern of patterns.split(",")) {
    const negated = pattern.startsWith("!");
    if (!wildcardMatch(negated ? pattern.slice(1) : pattern, name)) continue;
    // A negated pattern that matches rules the whole line out.
    if (negated) return false;
    matched = true;
  }
  return matched;
}

/** Checks `key` for `name` against the lines of every known_hosts file read. */
export function checkKnownHost(lines: readonly KnownHostLine[], name: string, key: Buffer): HostKeyVerdict {
  if (lines.some((l) => l.marker === "@revoked" && l.key.equals(key)))
    return { ok: false, reason: "revoked" };
  const forHost = lines.filter((l) => l.marker === "" && patternsMatch(l.patterns, name));
  if (forHost.some((l) => l.key.equals(key))) return { ok: true };
  const type = wireKeyType(key);
  return { ok: false, reason: forHost.some((l) => l.keyType === type) ? "mismatch" : "unknown" };
}

function hashedMatch(field: string, name: string): boolean {
  const [, , salt, hash] = field.split("|");
  if (salt === undefined || hash === undefined) return false;
  const mac = createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest("base64");
  return mac === hash;
}

function wildcardMatch(pattern: string, name: string): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${re}$`, "i").test(name);
}
