/**
 * known_hosts matching and the host key policies, checked against OpenSSH's own tools: ssh-keygen hashes
 * the names (`-H`) and prints the fingerprints walship must agree with.
 */
import { afterAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { StorageError } from "../../src/storage/object-store.ts";
import { hostKeyCheck } from "../../src/storage/ssh-host-key.ts";
import {
  checkKnownHost,
  knownHostName,
  parseKnownHosts,
  patternsMatch,
  sha256Fingerprint,
} from "../../src/storage/ssh-known-hosts.ts";
import { runSync } from "../helpers/test-runtime.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

const hasKeygen = runSync(["sh", "-c", "command -v ssh-keygen"]).exitCode === 0 || !!process.env.CI;

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));
function tmpDir(prefix: string): string {
  const dir = makeTempDir(prefix);
  dirs.push(dir);
  return dir;
}

function keygen(dir: string, name: string): { line: string; blob: Buffer; fingerprint: string } {
  const file = path.join(dir, name);
  const r = runSync(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", file]);
  if (r.exitCode !== 0) throw new Error(r.stderr.toString());
  const line = fs.readFileSync(`${file}.pub`, "utf8").trim();
  const fp = runSync(["ssh-keygen", "-lf", `${file}.pub`])
    .stdout.toString()
    .split(" ")[1]!;
  return { line, blob: Buffer.from(line.split(" ")[1]!, "base64"), fingerprint: fp };
}

describe("known_hosts patterns", () => {
  test.each([
    ["nas.lan", "nas.lan", true],
    ["NAS.lan", "nas.lan", true],
    ["other,nas.lan", "nas.lan", true],
    ["*.lan", "nas.lan", true],
    ["n?s.lan", "nas.lan", true],
    ["*.lan,!nas.lan", "nas.lan", false],
    ["nas.lan", "[nas.lan]:2222", false],
    ["[nas.lan]:2222", "[nas.lan]:2222", true],
    ["nas", "nas.lan", false],
  ])("%s covers %s: %s", (patterns, name, expected) => {
    expect(patternsMatch(patterns, name)).toBe(expected);
  });
  test("the name for port 22 is the bare host, for others [host]:port", () => {
    expect(knownHostName("nas", 22)).toBe("nas");
    expect(knownHostName("10.0.0.2", 2222)).toBe("[10.0.0.2]:2222");
  });
});

describe.skipIf(!hasKeygen)("against OpenSSH's ssh-keygen", () => {
  test("fingerprints agree with ssh-keygen -l", () => {
    const dir = tmpDir("walship-hostkey-");
    const k = keygen(dir, "k");
    expect(sha256Fingerprint(k.blob)).toBe(k.fingerprint);
  });
  test("hashed entries (ssh-keygen -H) match their host and port only", () => {
    const dir = tmpDir("walship-hostkey-");
    const k = keygen(dir, "k");
    const file = path.join(dir, "known_hosts");
    const [type, b64] = k.line.split(" ");
    fs.writeFileSync(file, `nas.lan ${type} ${b64}\n[10.0.0.2]:2222 ${type} ${b64}\n`);
    expect(runSync(["ssh-keygen", "-H", "-f", file]).exitCode).toBe(0);
    const text = fs.readFileSync(file, "utf8");
    expect(text).not.toContain("nas.lan");
    const lines = parseKnownHosts(text);
    expect(lines).toHaveLength(2);
    expect(checkKnownHost(lines, "nas.lan", k.blob)).toEqual({ ok: true });
    expect(checkKnownHost(lines, "[10.0.0.2]:2222", k.blob)).toEqual({ ok: true });
    expect(checkKnownHost(lines, "10.0.0.2", k.blob)).toEqual({ ok: false, reason: "unknown" });
  });
  test("another key of the same type is a mismatch; a revoked key is refused everywhere", () => {
    const dir = tmpDir("walship-hostkey-");
    const known = keygen(dir, "known");
    const other = keygen(dir, "other");
    const lines = parseKnownHosts(`# comment\n\nnas ${known.line}\n@revoked * ${other.line}\ngarbage\n`);
    expect(checkKnownHost(lines, "nas", known.blob)).toEqual({ ok: true });
    expect(checkKnownHost(lines, "nas", other.blob)).toEqual({ ok: false, reason: "revoked" });
    const third = keygen(dir, "third");
    expect(checkKnownHost(lines, "nas", third.blob)).toEqual({ ok: false, reason: "mismatch" });
    expect(checkKnownHost(lines, "elsewhere", third.blob)).toEqual({ ok: false, reason: "unknown" });
  });

  test("an unknown host's refusal names its fingerprint and the exact line to add", () => {
    const dir = tmpDir("walship-hostkey-");
    const k = keygen(dir, "k");
    const files = [path.join(dir, "known_hosts"), path.join(dir, "missing")];
    fs.writeFileSync(files[0]!, "");
    const refusal = hostKeyCheck({ kind: "known-hosts", files }, "127.0.0.1", 2222)(k.blob);
    expect(refusal).toBeInstanceOf(StorageError);
    expect(refusal?.code).toBe("host-key-unknown");
    expect(refusal?.message).toContain(k.fingerprint);
    const line = `[127.0.0.1]:2222 ${k.line.split(" ").slice(0, 2).join(" ")}`;
    expect(refusal?.hint).toContain(`add this line to ${files[0]}: ${line}`);
    // The line really is what makes it trusted.
    fs.writeFileSync(files[0]!, `${line}\n`);
    expect(hostKeyCheck({ kind: "known-hosts", files }, "127.0.0.1", 2222)(k.blob)).toBeUndefined();
  });
  test("a pinned fingerprint", () => {
    const dir = tmpDir("walship-hostkey-");
    const k = keygen(dir, "k");
    const other = keygen(dir, "o");
    const pinned = hostKeyCheck({ kind: "fingerprint", fingerprint: k.fingerprint }, "h", 22);
    expect(pinned(k.blob)).toBeUndefined();
    expect(pinned(other.blob)?.code).toBe("host-key-mismatch");
    expect(pinned(other.blob)?.message).toContain(other.fingerprint);
  });
  test("ignore accepts anything", () => {
    expect(hostKeyCheck({ kind: "ignore" }, "h", 22)(Buffer.from("x"))).toBeUndefined();
  });
});
