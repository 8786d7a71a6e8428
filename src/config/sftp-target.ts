/**
 * SFTP targets: the URL `sftp://USER[:PASSWORD]@HOST[:PORT]/PATH` and the keys `host`, `user`, `password`,
 * `key-path`, as Litestream 0.3.13 reads them (keys win over the URL's parts), plus walship's host key
 * settings `known-hosts`, `host-key-fingerprint` and `insecure-ignore-host-key` (keys, or URL query
 * parameters of the same names for a command line without a config).
 */
import { percentDecode } from "./percent-decode.ts";
import { expandPath } from "./posix-path.ts";
import type { HostKeyPolicy, SftpTarget } from "./replica-target.ts";

export type SftpFail = (reason: string, hint: string) => never;

/** Everything an SFTP replica may say besides its path; from config keys or URL parts. */
export interface SftpSettings {
  /** `HOST` or `HOST:PORT` (`[V6]:PORT`). */
  host?: string | undefined;
  user?: string | undefined;
  password?: string | undefined;
  keyPath?: string | undefined;
  knownHosts?: string | undefined;
  hostKeyFingerprint?: string | undefined;
  insecureIgnoreHostKey?: boolean | undefined;
}

/** Key names of the settings a URL may also give, for "give it in one place" messages. */
const SFTP_KEY_NAMES = {
  knownHosts: "known-hosts",
  hostKeyFingerprint: "host-key-fingerprint",
  insecureIgnoreHostKey: "insecure-ignore-host-key",
  keyPath: "key-path",
} as const;

const EXAMPLE = "sftp://USER@HOST[:PORT]/PATH";
/** OpenSSH reads both; the user's own file first. */
const SYSTEM_KNOWN_HOSTS = "/etc/ssh/ssh_known_hosts";

/**
 * The parts of an sftp:// URL. The path is kept as written (Litestream does not clean it): `/backups/app`
 * is absolute on the server.
 */
export function parseSftpUrl(input: string, fail: SftpFail): SftpSettings & { path: string } {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return fail("it is not a valid URL", `use ${EXAMPLE}`);
  }
  if (url.hash !== "") fail('it contains a "#" fragment', `use ${EXAMPLE}; percent-encode "#" as %23`);
  const settings: SftpSettings & { path: string } = { path: percentDecode(url.pathname, fail, EXAMPLE) };
  if (url.hostname !== "") settings.host = url.port === "" ? url.hostname : `${url.hostname}:${url.port}`;
  if (url.username !== "") settings.user = percentDecode(url.username, fail, EXAMPLE);
  if (url.password !== "") settings.password = percentDecode(url.password, fail, EXAMPLE);
  for (const [name, value] of url.searchParams) {
    if (name === "known-hosts") settings.knownHosts = value;
    else if (name === "host-key-fingerprint") settings.hostKeyFingerprint = value;
    else if (name === "key-path") settings.keyPath = value;
    else if (name === "insecure-ignore-host-key") settings.insecureIgnoreHostKey = value !== "false";
    else
      fail(
        `unknown parameter "${name}"`,
        "use host-key-fingerprint=SHA256:..., known-hosts=FILE, key-path=FILE or insecure-ignore-host-key",
      );
  }
  return settings;
}

/**
 * Builds the target from the URL's parts (if any) and the keys; a key wins over the URL's part, as in
 * Litestream, except for the host key settings, which must be given in one place.
 */
export function resolveSftpTarget(
  fromUrl: (SftpSettings & { path: string }) | undefined,
  keys: SftpSettings & { path?: string | undefined },
  dirs: { cwd: string; home: string },
  fail: SftpFail,
): SftpTarget {
  for (const field of ["knownHosts", "hostKeyFingerprint", "insecureIgnoreHostKey", "keyPath"] as const) {
    if (fromUrl?.[field] !== undefined && keys[field] !== undefined && fromUrl[field] !== keys[field]) {
      const name = SFTP_KEY_NAMES[field];
      fail(`${name} is given both in the URL and as a key, differently`, `give ${name} in one place only`);
    }
  }
  const merged: SftpSettings = { ...fromUrl, ...definedOnly(keys) };
  if (!merged.host) fail("it names no host", `add host: nas.example.com, or use url: ${EXAMPLE}`);
  if (!merged.user) fail("it names no user", `add user: backup, or use url: ${EXAMPLE}`);
  const { host, port } = splitHostPort(merged.host, fail);
  const path = keys.path ?? fromUrl?.path ?? "";
  if (path === "" || path === "/")
    fail("it names no directory on the server", `use ${EXAMPLE}, such as sftp://backup@nas/backups/app`);

  const target: SftpTarget = {
    type: "sftp",
    host,
    port,
    user: merged.user,
    path,
    hostKey: hostKeyPolicy(merged, dirs, fail),
  };
  if (merged.password) target.password = merged.password;
  if (merged.keyPath) target.keyPath = expandPath(merged.keyPath, dirs);
  return target;
}

function hostKeyPolicy(s: SftpSettings, dirs: { cwd: string; home: string }, fail: SftpFail): HostKeyPolicy {
  const given = (["knownHosts", "hostKeyFingerprint", "insecureIgnoreHostKey"] as const).filter(
    (f) => s[f] !== undefined && s[f] !== false,
  );
  if (given.length > 1) {
    const names = given.map((f) => SFTP_KEY_NAMES[f]);
    fail(`${names.join(" and ")} contradict each other`, `keep one of ${names.join(", ")}`);
  }
  if (s.insecureIgnoreHostKey) return { kind: "ignore" };
  if (s.hostKeyFingerprint !== undefined)
    return { kind: "fingerprint", fingerprint: normalFingerprint(s.hostKeyFingerprint, fail) };
  if (s.knownHosts !== undefined) return { kind: "known-hosts", files: [expandPath(s.knownHosts, dirs)] };
  return { kind: "known-hosts", files: [`${dirs.home}/.ssh/known_hosts`, SYSTEM_KNOWN_HOSTS] };
}

/** `SHA256:` and 43 base64 characters, as `ssh-keygen -lf` and ssh print it (padding tolerated). */
function normalFingerprint(text: string, fail: SftpFail): string {
  const m = /^SHA256:([A-Za-z0-9+/]{43})=?$/.exec(text.trim());
  if (!m)
    fail(
      `host-key-fingerprint "${text}" is not a SHA256 fingerprint`,
      "write it as ssh-keygen -lf prints it: host-key-fingerprint: SHA256:<43 characters> (run ssh-keyscan HOST | ssh-keygen -lf - on a trusted network)",
    );
  return `SHA256:${m[1]}`;
}

function splitHostPort(text: string, fail: SftpFail): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(text);
  if (!m) return fail(`host "${text}" is not HOST or HOST:PORT`, "host: nas.example.com:22");
  const port = m[2] === undefined ? 22 : Number(m[2]);
  if (!(port >= 1 && port <= 65535)) fail(`port ${m[2]} is out of range`, "use a port from 1 to 65535");
  return { host: m[1]!.replace(/^\[(.*)\]$/, "$1"), port };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
