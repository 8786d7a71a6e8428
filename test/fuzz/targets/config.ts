// biome-ignore-all lint/suspicious/noTemplateCurlyInString: literal ${VAR} text is the input under test
/**
 * Fuzz target: the config parser (src/config/config.ts parseConfig). Seeds are every config text in
 * test/config/config.test.ts, build/etc/walship.yml and a few hand-written configs; inputs are their
 * mutations (characters, YAML tokens, line splices, re-indentation), random YAML-ish text, and random
 * environments for `$VAR` expansion (values that break the YAML, or hold endpoints and secrets).
 *
 * parseConfig may only throw ConfigError (a message starting "Cannot "); a config it accepts must be
 * well-formed (absolute paths, usable buckets and endpoints, unique replica names, non-negative durations,
 * a directory pattern that compiles); and a secret that appears only as the value of a secret key never
 * shows up in an error's message or hint.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { type Config, parseConfig } from "../../../src/config/config.ts";
import { globToRegExp } from "../../../src/config/directory.ts";
import { ConfigError } from "../../../src/config/errors.ts";
import { bucketNameProblem } from "../../../src/config/s3-target.ts";
import { check, type FuzzCtx, type FuzzTarget, type Rng } from "../harness.ts";
import { mutateLines, mutateText, randomString } from "../mutate.ts";

const ROOT = path.join(import.meta.dirname, "../../..");
const SECRET = "Sekr1tValue9f3k";
const ENV_SECRET = "EnvSekr1t77q";

const TOKENS = [
  "dbs:",
  "\n  - path: ",
  "\n    replicas:\n      - url: ",
  "replicas:",
  "replica:",
  "- ",
  ": ",
  ":",
  "  ",
  "\n",
  "\t",
  "#",
  "---\n",
  "...\n",
  "&a ",
  "*a",
  "<<: ",
  "<<: *a",
  "!!str ",
  "!!binary ",
  "!!map ",
  "!tag ",
  "? ",
  "|\n  ",
  ">-\n  ",
  "{",
  "}",
  "[",
  "]",
  ", ",
  '"',
  "'",
  "\\",
  "${",
  "}",
  "$HOME",
  "${SECRET}",
  "$1",
  "$$",
  "~",
  "null",
  "yes",
  "off",
  "0",
  "-1",
  "1e309",
  "0x1f",
  "0o17",
  ".inf",
  ".nan",
  "9007199254740993",
  "2024-01-01",
  "1h30m",
  "1.5s",
  "-5m",
  "10",
  "300µs",
  "9999999999h",
  "s3://bkt/app",
  "s3://s3.amazonaws.com/bkt/x",
  "https://host:9000/bkt/p",
  "file:///var/backups",
  "/abs/path",
  "./rel",
  "..",
  "endpoint: ",
  "region: ",
  "bucket: ",
  "path: ",
  "url: ",
  "type: s3",
  "type: file",
  "name: ",
  "dir: ",
  "pattern: ",
  "[z-a]",
  "[",
  "*.db",
  "recursive: true",
  "watch: true",
  "meta-path: ",
  "sync-interval: ",
  "retention: ",
  "snapshot-interval: ",
  "retention-check-interval: ",
  "monitor-interval: ",
  "checkpoint-interval: ",
  "min-checkpoint-page-count: ",
  "max-checkpoint-page-count: ",
  "access-key-id: ",
  "secret-access-key: ",
  "ca-file: ",
  "force-path-style: ",
  "skip-verify: ",
  "logging:\n  level: ",
  "addr: ",
  "health-max-lag: ",
  "exec: ",
  "age:",
  "validation-interval: 1s",
  "\u00a0",
  "\ufeff",
  "\0",
];

const HAND_SEEDS = [
  `access-key-id: AKIAGLOBAL\nsecret-access-key: ${SECRET}\ndbs:\n  - path: /data/app.db\n    replicas:\n      - url: s3://bkt/app\n`,
  `dbs:\n  - path: /data/app.db\n    replicas:\n      - type: s3\n        bucket: bkt\n        path: app\n        endpoint: minio.local:9000\n        access-key-id: AKIAREPLICA\n        secret-access-key: ${SECRET}\n`,
  "access-key-id: ${KEY}\nsecret-access-key: ${SECRET}\ndbs:\n  - path: $DB\n    replicas:\n      - url: ${URL}\n",
  "base: &base\n  sync-interval: 1s\n  retention: 24h\ndbs:\n  - path: /a.db\n    replicas:\n      - <<: *base\n        url: /backups/a\n",
  'dbs:\n  - dir: /var/lib/tenants\n    pattern: "[a-m]*.db"\n    recursive: true\n    watch: true\n    replicas:\n      - url: s3://bkt/tenants?region=eu-central-1\n',
  "dbs: [{ path: /a.db, replicas: [{ url: 's3://b/p?endpoint=127.0.0.1:9000' }] }]\n",
  "logging: { level: debug, type: json, stderr: true }\naddr: ':9090'\nhealth-max-lag: 5m\nexec: app serve\n",
  'dbs:\n  - path: /a.db\n    replica:\n      url: "https://s3.example.com/bkt/p"\n      ca-file: /etc/ca.pem\n',
];

/** JS string literals in a test file that look like configs (double-quoted and backtick, no interpolation). */
function literalsFrom(file: string): string[] {
  const source = fs.readFileSync(file, "utf8");
  const out: string[] = [];
  for (const m of source.matchAll(/"((?:[^"\\\n]|\\.)*)"/g)) {
    try {
      const s = JSON.parse(`"${m[1]}"`) as string;
      if (s.includes(":")) out.push(s);
    } catch {
      // JS-only escapes; not a config anyway.
    }
  }
  for (const m of source.matchAll(/`((?:[^`\\$]|\\.)*)`/g)) {
    const s = m[1]!.replace(/\\n/g, "\n").replace(/\\`/g, "`").replace(/\\\\/g, "\\");
    if (s.includes(":")) out.push(s);
  }
  // Replica-only snippets (the test's withReplica helper) become whole configs too.
  const wrapped = out
    .filter((s) => !s.includes("dbs") && /^[a-z-]+: /.test(s))
    .map(
      (s) =>
        `dbs:\n  - path: /data/app.db\n    replicas:\n      - url: s3://bkt/app\n${s
          .split("\n")
          .map((l) => `        ${l}`)
          .join("\n")}\n`,
    );
  return [...out, ...wrapped];
}

interface Corpus {
  seeds: string[];
  /** Seeds that parse (with an empty environment): mutating these reaches the deeper checks. */
  valid: string[];
}

function prepare(): Corpus {
  const seeds = [
    ...HAND_SEEDS,
    fs.readFileSync(path.join(ROOT, "build/etc/walship.yml"), "utf8"),
    ...literalsFrom(path.join(ROOT, "test/config/config.test.ts")),
  ];
  const unique = [...new Set(seeds)];
  const valid = unique.filter((text) => {
    try {
      parseConfig(text, { expandEnv: true, env: () => undefined, cwd: "/srv", home: "/home/u" });
      return /dbs/.test(text);
    } catch {
      return false;
    }
  });
  return { seeds: unique, valid };
}

type Env = Record<string, string>;

function makeEnv(rng: Rng): Env {
  const values = [
    "",
    "a: b",
    "\n- x",
    "'",
    '"',
    "${SECRET}",
    "s3://bkt/app",
    "/var/backups/x",
    "http://127.0.0.1:9000",
    "minio.local:9000",
    "ftp://nope",
    "http://user:pw@host",
    "10s",
    "[1, 2]",
    "{a: 1}",
    "*a",
    "# comment",
  ];
  const env: Env = {};
  for (const name of [
    "KEY",
    "DB",
    "URL",
    "HOME",
    "1",
    "X",
    "VAR",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL",
    "LITESTREAM_S3_ENDPOINT",
  ]) {
    if (rng.chance(0.5)) env[name] = rng.chance(0.8) ? rng.pick(values) : randomString(rng, 20);
  }
  env.SECRET = ENV_SECRET;
  return env;
}

function makeText(rng: Rng, corpus: Corpus): string {
  const r = rng.float();
  if (r < 0.05) return randomString(rng, 200);
  if (r < 0.1) {
    let s = "";
    const n = rng.small(30);
    for (let i = 0; i < n; i++) s += rng.chance(0.5) ? rng.pick(TOKENS) : randomString(rng, 6);
    return s;
  }
  const seed = rng.pick(rng.chance(0.6) ? corpus.valid : corpus.seeds);
  if (r < 0.14) return seed;
  let text = seed;
  const rounds = rng.chance(0.6) ? 1 : 1 + rng.small(3);
  for (let i = 0; i < rounds; i++) {
    text = rng.chance(0.4)
      ? mutateLines(rng, text, corpus.seeds)
      : mutateText(rng, text, TOKENS, corpus.seeds, 3);
  }
  return text;
}

const SECRET_LINE = /^[ \t]*(?:-[ \t]+)?(?:access-key-id|secret-access-key)[ \t]*:[ \t]*(.*)$/;

/**
 * True when every occurrence of `secret` (or of a `$VAR`/`${VAR}` naming it) is the whole plain value of
 * an access-key-id / secret-access-key line, so no error may ever show it.
 */
function secretOnlyInSecretKeys(text: string, needles: readonly string[]): boolean {
  let seen = false;
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (!needles.some((n) => line.includes(n))) continue;
    const m = SECRET_LINE.exec(line);
    if (!m) return false;
    const value = m[1]!.replace(/[ \t]+#.*$/, "").trim();
    if (!needles.includes(value)) return false;
    seen = true;
  }
  // A block scalar or flow collection can pull a later line into another value: only plain block maps.
  return seen && !/[|>{}[\]"'\\]|\t/.test(text);
}

function checkConfig(config: Config): void {
  check(Array.isArray(config.dbs), "dbs is not a list");
  const durations = (o: object) =>
    Object.entries(o).filter(([k, v]) => k.endsWith("Ms") && typeof v === "number") as [string, number][];
  for (const [k, v] of durations(config)) check(Number.isFinite(v) && v >= 0, `${k} is ${v}`);
  const paths = new Set<string>();
  for (const db of config.dbs) {
    check(typeof db.path === "string" && db.path.startsWith("/"), `db path ${JSON.stringify(db.path)}`);
    check(!paths.has(db.path), `db path ${db.path} listed twice`);
    paths.add(db.path);
    for (const [k, v] of durations(db)) check(Number.isFinite(v) && v >= 0, `db ${k} is ${v}`);
    check(Number.isSafeInteger(db.minCheckpointPageCount) && db.minCheckpointPageCount > 0, "min pages");
    check(Number.isSafeInteger(db.maxCheckpointPageCount) && db.maxCheckpointPageCount >= 0, "max pages");
    if (db.directory) {
      const pattern = db.directory.pattern;
      try {
        globToRegExp(pattern);
      } catch (err) {
        throw new Error(
          `parseConfig accepted dir pattern ${JSON.stringify(pattern)}, which globToRegExp cannot compile: ${String(err)}`,
        );
      }
    }
    const names = new Set<string>();
    for (const r of db.replicas) {
      check(!names.has(r.name), `replica name ${r.name} twice`);
      names.add(r.name);
      for (const [k, v] of durations(r)) check(Number.isFinite(v) && v >= 0, `replica ${k} is ${v}`);
      if (r.target.type === "file") {
        check(r.target.path.startsWith("/"), `file replica path ${JSON.stringify(r.target.path)}`);
      } else if (r.target.type === "s3") {
        check(bucketNameProblem(r.target.bucket) === undefined, `bucket ${JSON.stringify(r.target.bucket)}`);
        check(!r.target.path.startsWith("/") && !r.target.path.endsWith("/"), `key prefix ${r.target.path}`);
        if (r.target.endpoint !== undefined) {
          check(
            /^https?:\/\/[^/?#@]+$/.test(r.target.endpoint),
            `endpoint ${JSON.stringify(r.target.endpoint)}`,
          );
        }
      }
    }
  }
}

/** One case: config text, the environment for `$VAR` expansion, and whether to expand. */
export interface ConfigCase {
  text: string;
  env: Record<string, string>;
  expandEnv: boolean;
}

/** Runs parseConfig on one case and checks every property; returns the outcome label. */
export function verifyConfigCase(c: ConfigCase): string {
  const { text, env, expandEnv } = c;
  let config: Config;
  try {
    config = parseConfig(text, {
      file: "/etc/walship.yml",
      expandEnv,
      env: (name) => env[name],
      cwd: "/srv",
      home: "/home/u",
    });
  } catch (err) {
    check(err instanceof ConfigError, () => `threw ${String(err)}, not a ConfigError`);
    check(err.message.startsWith("Cannot "), `message does not start with "Cannot ": ${err.message}`);
    for (const n of [err.line, err.column]) {
      check(n === undefined || (Number.isInteger(n) && n >= 0), `bad position ${err.line}:${err.column}`);
    }
    const shown = `${err.message}\n${err.hint ?? ""}`;
    if (shown.includes(SECRET) && secretOnlyInSecretKeys(text, [SECRET])) {
      throw new Error(`an error shows the secret-access-key value: ${shown}`);
    }
    if (
      expandEnv &&
      shown.includes(ENV_SECRET) &&
      !Object.entries(env).some(([k, v]) => k !== "SECRET" && v.includes("SECRET")) &&
      secretOnlyInSecretKeys(text, ["$SECRET", "${SECRET}"])
    ) {
      throw new Error(`an error shows an expanded secret: ${shown}`);
    }
    return "rejected";
  }
  checkConfig(config);
  return config.dbs.length > 0 ? "accepted-with-dbs" : "accepted-empty";
}

function property(ctx: FuzzCtx, corpus: Corpus): string {
  const { rng } = ctx;
  const c: ConfigCase = { text: makeText(rng, corpus), env: makeEnv(rng), expandEnv: rng.chance(0.8) };
  ctx.input(c);
  return verifyConfigCase(c);
}

export const target: FuzzTarget<Corpus> = { prepare, property };
