/**
 * Whether an SSH server is the one the replica means: its host key checked against known_hosts files, a
 * pinned fingerprint, or (only when asked, Litestream 0.3.13's behaviour) not at all. A refusal names the
 * fingerprint the server offered and the exact known_hosts line to add, so the user can compare it with
 * the server's own (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` there) and trust it.
 */
import * as fs from "node:fs";
import type { HostKeyPolicy } from "../config/replica-target.ts";
import { StorageError } from "./object-store.ts";
import {
  checkKnownHost,
  type KnownHostLine,
  knownHostName,
  parseKnownHosts,
  sha256Fingerprint,
  wireKeyType,
} from "./ssh-known-hosts.ts";

/** Returns undefined for a trusted key, else the refusal to throw. */
export type HostKeyCheck = (key: Buffer) => StorageError | undefined;

export function hostKeyCheck(
  policy: HostKeyPolicy,
  host: string,
  port: number,
  readFile: (file: string) => string | undefined = readIfExists,
): HostKeyCheck {
  const at = `${host}:${port}`;
  if (policy.kind === "ignore") return () => undefined;
  if (policy.kind === "fingerprint") {
    return (key) => {
      const offered = sha256Fingerprint(key);
      if (offered === policy.fingerprint) return undefined;
      return refusal(
        "host-key-mismatch",
        `The SSH server at ${at} offers host key ${offered}, not the pinned host-key-fingerprint ${policy.fingerprint}`,
        "check the key on the server (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub there); if it was reinstalled, set host-key-fingerprint to its new fingerprint, otherwise someone may be intercepting the connection",
      );
    };
  }
  // Read when the connection is made, so an edit to known_hosts takes effect at the next reconnect.
  return (key) => {
    const read = policy.files.flatMap((file) => {
      const text = readFile(file);
      return text === undefined ? [] : [{ file, lines: parseKnownHosts(text) }];
    });
    const lines: KnownHostLine[] = read.flatMap((r) => r.lines);
    const name = knownHostName(host, port);
    const verdict = checkKnownHost(lines, name, key);
    if (verdict.ok) return undefined;
    const offered = `${sha256Fingerprint(key)} (${wireKeyType(key)})`;
    const line = `${name} ${wireKeyType(key)} ${key.toString("base64")}`;
    const files =
      read.length === 0
        ? `no known_hosts file (looked for ${policy.files.join(", ")})`
        : read.map((r) => r.file).join(", ");
    if (verdict.reason === "revoked")
      return refusal(
        "host-key-mismatch",
        `The SSH server at ${at} offers host key ${offered}, which ${files} marks @revoked`,
        "the server must use another host key; walship will not connect with this one",
      );
    if (verdict.reason === "mismatch")
      return refusal(
        "host-key-mismatch",
        `The SSH server at ${at} offers host key ${offered}, but ${files} holds another ${wireKeyType(key)} key for ${name}: the server was reinstalled, or someone is intercepting the connection`,
        `check the key on the server itself (ssh-keygen -lf /etc/ssh/ssh_host_${wireKeyType(key).replace(/^ssh-/, "")}_key.pub); if it changed, run ssh-keygen -R '${name}' and add: ${line}`,
      );
    return refusal(
      "host-key-unknown",
      `The SSH server at ${at} offers host key ${offered}, which is not in ${files}; walship does not send backups to a server it cannot identify`,
      `if that is the server's fingerprint (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub on the server), add this line to ${policy.files[0]}: ${line} (or set host-key-fingerprint: ${sha256Fingerprint(key)})`,
    );
  };
}

function refusal(
  code: "host-key-unknown" | "host-key-mismatch",
  message: string,
  hint: string,
): StorageError {
  return new StorageError(message, "connect", "", hint, { code });
}

function readIfExists(file: string): string | undefined {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}
