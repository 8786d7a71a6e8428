/**
 * Fuzz target: the replica URL parser (src/config/replica-url.ts parseReplicaUrl). Seeds are the URLs and
 * paths in test/config/replica-url.test.ts plus credentialed forms; inputs are their mutations (URL syntax
 * tokens, provider hosts, percent escapes, IPv6 literals, unicode), random strings, random endpoint
 * environment variables and random config-key settings.
 *
 * parseReplicaUrl may only throw ReplicaUrlError or ConfigError; a target it returns is well-formed (an
 * absolute clean directory, or a usable bucket, a clean key prefix and an `http(s)://host[:port]`
 * endpoint); and a password the URL carries never appears in an error.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseEndpoint } from "../../../src/config/endpoint.ts";
import { ConfigError, ReplicaUrlError } from "../../../src/config/errors.ts";
import type { ReplicaTarget, S3Settings } from "../../../src/config/replica-target.ts";
import { parseReplicaUrl } from "../../../src/config/replica-url.ts";
import { bucketNameProblem } from "../../../src/config/s3-target.ts";
import { check, type FuzzCtx, type FuzzTarget, type Rng } from "../harness.ts";
import { mutateText, randomString } from "../mutate.ts";

const TEST_FILE = path.join(import.meta.dirname, "../../config/replica-url.test.ts");
const PASSWORD = "pAss9Word7";

const TOKENS = [
  "://",
  "s3://",
  "http://",
  "https://",
  "file://",
  "file:",
  "/",
  "//",
  "\\",
  "..",
  "/../",
  "./",
  ".",
  "~",
  "~/",
  "?",
  "&",
  "=",
  "#",
  "@",
  `user:${PASSWORD}@`,
  ":",
  ":9000",
  ":0",
  ":65536",
  ":99999999999",
  ":-1",
  "[::1]",
  "[",
  "]",
  "[fe80::1%25eth0]",
  "127.0.0.1",
  "256.1.1.1",
  "0x7f.1",
  "localhost",
  ".localhost",
  ".local",
  "%",
  "%2",
  "%zz",
  "%00",
  "%2F",
  "%2e%2e",
  "%40",
  "%E2%80%AE",
  "?endpoint=",
  "?endpoint=http://",
  "&endpoint=",
  "?region=",
  "&region=",
  "?force-path-style=",
  "?skip-verify",
  "?forcePathStyle=1",
  "?sign-payload=true",
  "?unknown=1",
  "s3.amazonaws.com",
  ".s3.amazonaws.com",
  "s3.us-west-000.backblazeb2.com",
  ".s3.us-west-000.backblazeb2.com",
  "fly.storage.tigris.dev",
  "nyc3.digitaloceanspaces.com",
  "s3.eu-central-1.wasabisys.com",
  "storage.googleapis.com",
  "xn--nxasmq6b.com",
  "bücher.example",
  "ﬃ",
  " ",
  "\t",
  "\n",
  "\0",
  "\u3000",
  "gcs://",
  "abs://",
  "sftp://",
  "S3://",
  "HTTP://",
];

const EXTRA_SEEDS = [
  `s3://AKIA:${PASSWORD}@bkt/db`,
  `https://user:${PASSWORD}@s3.example.com/bkt/db`,
  `http://u:${PASSWORD}@127.0.0.1:9000/bkt/db`,
  `s3://bkt/db?endpoint=http://u:${PASSWORD}@minio:9000`,
  "s3://bkt/db?endpoint=[::1]:9000&region=x&force-path-style=true&skip-verify=false",
  "s3://[fe80::1]:9000/bkt/db",
  "file:///a/../../b/./c//",
  "~",
  "..",
  "../x",
];

const ENV_VALUES = [
  "",
  " ",
  "http://127.0.0.1:9000",
  "minio:9000",
  "https://s3.example.com/path",
  "ftp://x",
  `http://u:${PASSWORD}@h`,
  "[::1]:9000",
  "::::",
  "http://[::1",
  "s3.us-west-000.backblazeb2.com",
];

interface Corpus {
  seeds: string[];
}

function prepare(): Corpus {
  const source = fs.readFileSync(TEST_FILE, "utf8");
  const seeds = new Set(EXTRA_SEEDS);
  for (const m of source.matchAll(/"((?:[^"\\\n]|\\.)*)"/g)) {
    let s: string;
    try {
      s = JSON.parse(`"${m[1]}"`) as string;
    } catch {
      continue;
    }
    if (s.includes(" ")) continue; // test names and hints, not URLs
    if (/^[a-z0-9]+:/i.test(s) || /^[./~]/.test(s)) seeds.add(s);
  }
  return { seeds: [...seeds] };
}

function makeInput(rng: Rng, corpus: Corpus): string {
  const r = rng.float();
  if (r < 0.05) return randomString(rng, 60);
  if (r < 0.1) {
    let s = "";
    const n = 1 + rng.small(12);
    for (let i = 0; i < n; i++) s += rng.chance(0.6) ? rng.pick(TOKENS) : randomString(rng, 8);
    return s;
  }
  const seed = rng.pick(corpus.seeds);
  return r < 0.15 ? seed : mutateText(rng, seed, TOKENS, corpus.seeds, 4);
}

function makeSettings(rng: Rng): S3Settings | undefined {
  if (!rng.chance(0.2)) return undefined;
  const settings: S3Settings = {};
  if (rng.chance(0.4)) {
    settings.endpoint = parseEndpoint(
      rng.pick(["http://127.0.0.1:9000", "https://s3.example.com", "10.0.0.5:9000"]),
      "https",
    );
  }
  if (rng.chance(0.4)) settings.region = rng.pick(["us-east-1", "eu-1", "a"]);
  if (rng.chance(0.3)) settings.forcePathStyle = rng.chance(0.5);
  if (rng.chance(0.3)) settings.skipVerify = rng.chance(0.5);
  if (rng.chance(0.2)) settings.caFile = "/etc/ca.pem";
  return settings;
}

/** Error wording a short password could coincide with ("secret", "access"), which is no leak. */
const WORDING =
  "cannot parse replica url: remove the user:password@ part and set access-key-id/secret-access-key in the config, or litestream_access_key_id/litestream_secret_access_key";

/**
 * The password in `input`'s userinfo, as WHATWG URL parsing finds it, also when the `//` after the scheme
 * is one slash short (`https:/user:secret@host/...`, a typo whose error echoes the input). Only a password
 * that occurs once in the input counts: a copy elsewhere (in the path, say) may be shown.
 */
function passwordIn(input: string): string[] {
  const trimmed = input.trim();
  const slashes = /^([A-Za-z][A-Za-z0-9+.-]*:)\/(?!\/)/.exec(trimmed);
  const candidates = [trimmed, ...(slashes ? [`${slashes[1]}//${trimmed.slice(slashes[0].length)}`] : [])];
  for (const candidate of candidates) {
    let raw: string;
    try {
      raw = new URL(candidate).password;
    } catch {
      continue;
    }
    let decoded = raw;
    try {
      decoded = decodeURIComponent(raw);
    } catch {
      // Stays encoded.
    }
    const forms = [...new Set([raw, decoded])].filter(
      (p) => p.length >= 4 && input.split(p).length === 2 && !WORDING.includes(p.toLowerCase()),
    );
    if (raw !== "") return forms;
  }
  return [];
}

function checkTarget(t: ReplicaTarget, passwords: readonly string[]): void {
  if (t.type === "sftp") {
    // The one target that carries the URL's password: the SFTP login needs it.
    check(
      t.host !== "" && t.user !== "" && t.port >= 1 && t.port <= 65535,
      `sftp target ${t.host}:${t.port}`,
    );
    check(t.path !== "" && t.path !== "/", `sftp path ${JSON.stringify(t.path)}`);
    return;
  }
  if (t.type === "abs") {
    check(t.accountName !== "" && t.container !== "", "abs target without account or container");
    check(
      !t.path.startsWith("/") && !t.path.endsWith("/"),
      `abs prefix ${JSON.stringify(t.path)} is not clean`,
    );
    for (const p of passwords) check(!JSON.stringify(t).includes(p), "the target carries the URL's password");
    return;
  }
  if (t.type === "file") {
    check(t.path.startsWith("/"), `file path ${JSON.stringify(t.path)} is not absolute`);
    check(
      t.path === "/" || (!t.path.endsWith("/") && !/\/\.{0,2}\//.test(`${t.path}/`)),
      `file path ${JSON.stringify(t.path)} is not clean`,
    );
    return;
  }
  check(bucketNameProblem(t.bucket) === undefined, `bucket ${JSON.stringify(t.bucket)} accepted`);
  check(
    t.path === "" || (!t.path.startsWith("/") && !t.path.endsWith("/") && !t.path.includes("//")),
    `key prefix ${JSON.stringify(t.path)} is not clean`,
  );
  check(
    !t.path.split("/").some((s) => s === "." || s === ".."),
    `key prefix ${JSON.stringify(t.path)} has dot segments`,
  );
  if (t.endpoint !== undefined) {
    check(
      /^https?:\/\/[^/?#@\s]+$/.test(t.endpoint),
      `endpoint ${JSON.stringify(t.endpoint)} is not scheme://host[:port]`,
    );
  }
  for (const p of passwords) check(!JSON.stringify(t).includes(p), "the target carries the URL's password");
}

/** One case: a URL, the endpoint variables and the config-key settings beside it. */
export interface UrlCase {
  input: string;
  env: Record<string, string>;
  settings?: S3Settings | undefined;
}

/** Runs parseReplicaUrl on one case and checks every property; returns the outcome label. */
export function verifyUrlCase(c: UrlCase): string {
  const passwords = passwordIn(c.input);
  let target: ReplicaTarget;
  try {
    target = parseReplicaUrl(c.input, {
      cwd: "/work/app",
      home: "/home/u",
      env: (name) => c.env[name],
      ...(c.settings === undefined ? {} : { settings: c.settings }),
    });
  } catch (err) {
    check(
      err instanceof ReplicaUrlError || err instanceof ConfigError,
      () => `threw ${String(err)}, not a ReplicaUrlError or ConfigError`,
    );
    const shown = `${err.message}\n${err.hint ?? ""}`;
    for (const p of passwords) check(!shown.includes(p), `an error shows the URL's password: ${shown}`);
    return err instanceof ReplicaUrlError ? "rejected-url" : "rejected-env";
  }
  checkTarget(target, passwords);
  if (target.type !== "s3") return target.type;
  return target.endpoint === undefined ? "s3-aws" : "s3-endpoint";
}

function property(ctx: FuzzCtx, corpus: Corpus): string {
  const { rng } = ctx;
  const input = makeInput(rng, corpus);
  const env: Record<string, string> = {};
  for (const name of ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "LITESTREAM_S3_ENDPOINT"]) {
    if (rng.chance(0.1)) env[name] = rng.pick(ENV_VALUES);
  }
  const c: UrlCase = { input, env, settings: makeSettings(rng) };
  ctx.input(c);
  return verifyUrlCase(c);
}

export const target: FuzzTarget<Corpus> = { prepare, property };
