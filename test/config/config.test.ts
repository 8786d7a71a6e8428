import { describe, expect, test } from "bun:test";
import {
  type Config,
  dbConfigFromArgs,
  type ParseConfigOptions,
  parseConfig,
} from "../../src/config/config.ts";
import { ConfigError } from "../../src/config/errors.ts";

const FILE = "/etc/walship.yml";
const base: ParseConfigOptions = {
  file: FILE,
  expandEnv: true,
  env: () => undefined,
  cwd: "/srv",
  home: "/home/u",
};

function parse(text: string, options: Partial<ParseConfigOptions> = {}): Config {
  return parseConfig(text, { ...base, ...options });
}

function configError(text: string, options: Partial<ParseConfigOptions> = {}): ConfigError {
  try {
    parse(text, options);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

/** One db with one replica, for tests that vary a replica key. */
function withReplica(lines: string): string {
  const indented = lines
    .trim()
    .split("\n")
    .map((line) => `        ${line}`)
    .join("\n");
  return `dbs:\n  - path: /data/app.db\n    replicas:\n      - url: s3://bkt/app\n${indented}\n`;
}

describe("defaults", () => {
  test("an empty file is an empty config", () => {
    expect(parse("")).toEqual({
      dbs: [],
      logging: { level: "info", type: "text", stderr: false },
      healthMaxLagMs: 120_000,
    });
    expect(parse("# only a comment\n")).toEqual({
      dbs: [],
      logging: { level: "info", type: "text", stderr: false },
      healthMaxLagMs: 120_000,
    });
  });

  test("a minimal db and replica get Litestream's defaults", () => {
    const config = parse("dbs:\n  - path: app.db\n    replicas:\n      - url: s3://bkt/app\n");
    expect(config.dbs).toEqual([
      {
        path: "/srv/app.db",
        monitorIntervalMs: 1_000,
        checkpointIntervalMs: 60_000,
        minCheckpointPageCount: 1_000,
        maxCheckpointPageCount: 10_000,
        maxWalBytes: 256 * 2 ** 20,
        replicas: [
          {
            name: "s3",
            target: {
              type: "s3",
              bucket: "bkt",
              path: "app",
              forcePathStyle: false,
              skipVerify: false,
              ambiguousHost: false,
            },
            syncIntervalMs: 1_000,
            retentionMs: 86_400_000,
            retentionCheckIntervalMs: 3_600_000,
            snapshotIntervalMs: 0,
            validationIntervalMs: 0,
          },
        ],
      },
    ]);
  });

  test("every key is read", () => {
    const config = parse(`
access-key-id: AKIAGLOBAL
secret-access-key: globalsecret
addr: ":9090"
exec: myapp serve --port 8080
logging:
  level: WARNING
  type: json
  stderr: yes
dbs:
  - path: ~/app.db
    meta-path: ./meta
    monitor-interval: 500ms
    checkpoint-interval: 2m
    min-checkpoint-page-count: 2000
    max-checkpoint-page-count: 0
    max-wal-size: 64MiB
    replicas:
      - name: backup
        type: s3
        bucket: bkt
        path: /app/db/
        endpoint: minio.local:9000
        region: eu-1
        force-path-style: off
        skip-verify: on
        access-key-id: AKIAREPLICA
        secret-access-key: replicasecret
        sync-interval: 10s
        retention: 72h
        retention-check-interval: 30m
        snapshot-interval: 6h
        validation-interval: 12h
      - path: /backups/app
`);
    expect(config).toEqual({
      healthMaxLagMs: 120_000,
      accessKeyId: "AKIAGLOBAL",
      secretAccessKey: "globalsecret",
      addr: ":9090",
      exec: "myapp serve --port 8080",
      logging: { level: "warn", type: "json", stderr: true },
      dbs: [
        {
          path: "/home/u/app.db",
          metaPath: "/srv/meta",
          monitorIntervalMs: 500,
          checkpointIntervalMs: 120_000,
          minCheckpointPageCount: 2000,
          maxCheckpointPageCount: 0,
          maxWalBytes: 64 * 2 ** 20,
          replicas: [
            {
              name: "backup",
              target: {
                type: "s3",
                bucket: "bkt",
                path: "app/db",
                endpoint: "https://minio.local:9000",
                endpointSource: "config",
                region: "eu-1",
                forcePathStyle: false,
                skipVerify: true,
                ambiguousHost: false,
              },
              syncIntervalMs: 10_000,
              retentionMs: 259_200_000,
              retentionCheckIntervalMs: 1_800_000,
              snapshotIntervalMs: 21_600_000,
              validationIntervalMs: 43_200_000,
              accessKeyId: "AKIAREPLICA",
              secretAccessKey: "replicasecret",
            },
            {
              name: "file",
              target: { type: "file", path: "/backups/app" },
              syncIntervalMs: 1_000,
              retentionMs: 86_400_000,
              retentionCheckIntervalMs: 3_600_000,
              snapshotIntervalMs: 0,
              validationIntervalMs: 0,
            },
          ],
        },
      ],
    });
  });

  test("global credentials are copied into S3 replicas only", () => {
    const config = parse(`
access-key-id: AKIAGLOBAL
secret-access-key: globalsecret
dbs:
  - path: /data/app.db
    replicas:
      - url: s3://bkt/app
      - url: file:///backups/app
`);
    const [s3, file] = config.dbs[0]?.replicas ?? [];
    expect(s3).toMatchObject({ accessKeyId: "AKIAGLOBAL", secretAccessKey: "globalsecret" });
    expect(file?.accessKeyId).toBeUndefined();
  });

  test("string fields keep the raw scalar text, as yaml.v2 does", () => {
    const config = parse(
      withReplica("access-key-id: 0123\nsecret-access-key: yes\nregion: no\nname: 2024-01-01"),
    );
    const replica = config.dbs[0]?.replicas[0];
    expect(replica).toMatchObject({ name: "2024-01-01", accessKeyId: "0123", secretAccessKey: "yes" });
    expect(replica?.target).toMatchObject({ region: "no" });
  });

  test("a bare 0 duration is allowed", () => {
    expect(parse(withReplica("snapshot-interval: 0")).dbs[0]?.replicas[0]?.snapshotIntervalMs).toBe(0);
  });

  test("validation-interval is read like the other intervals, off by default and with 0", () => {
    const replica = (line: string) => parse(withReplica(line)).dbs[0]?.replicas[0]?.validationIntervalMs;
    expect(replica("validation-interval: 90s")).toBe(90_000);
    expect(replica("validation-interval: 0")).toBe(0);
    expect(replica("sync-interval: 1s")).toBe(0);
    expect(configError(withReplica("validation-interval: 10")).message).toContain("validation-interval");
  });

  test("retention 0 turns retention off and allows a 0 check interval", () => {
    const replica = parse(withReplica("retention: 0s\nretention-check-interval: 0s")).dbs[0]?.replicas[0];
    expect(replica).toMatchObject({ retentionMs: 0, retentionCheckIntervalMs: 0 });
  });

  test("YAML merge keys and aliases are resolved", () => {
    const merged = parse(`
dbs:
  - path: /data/app.db
    replicas:
      - &first
        url: s3://bkt/app
        name: one
        sync-interval: 5s
      - <<: *first
        name: two
        url: s3://bkt/other
`);
    expect(merged.dbs[0]?.replicas.map((r) => [r.name, r.syncIntervalMs])).toEqual([
      ["one", 5000],
      ["two", 5000],
    ]);
  });
});

describe("environment expansion", () => {
  const env = (name: string) => ({ BUCKET: "from-env", DB: "/data/env.db" })[name];
  // biome-ignore lint/suspicious/noTemplateCurlyInString: literal ${VAR} text is the input under test
  test("$VAR and ${VAR} are expanded before parsing", () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: literal ${VAR} text is the input under test
    const config = parse("dbs:\n  - path: $DB\n    replicas:\n      - url: s3://${BUCKET}/app\n", { env });
    expect(config.dbs[0]?.path).toBe("/data/env.db");
    expect(config.dbs[0]?.replicas[0]?.target).toMatchObject({ bucket: "from-env" });
  });
  test("expansion can be turned off", () => {
    const config = parse("dbs:\n  - path: /data/$DB\n", { env, expandEnv: false });
    expect(config.dbs[0]?.path).toBe("/data/$DB");
  });
});

describe("unknown and unsupported keys", () => {
  test("a misspelt key gets a did-you-mean with its key path and line", () => {
    const error = configError(withReplica("sync-intervall: 10s"));
    expect(error.message).toBe(
      'Cannot load config "/etc/walship.yml" (line 5): unknown key dbs[0].replicas[0].sync-intervall; did you mean "sync-interval"?',
    );
    expect(error).toMatchObject({
      file: FILE,
      key: "dbs[0].replicas[0].sync-intervall",
      hint: 'rename "sync-intervall" to "sync-interval"',
      line: 5,
      column: 9,
    });
  });
  test("camelCase and snake_case spellings are recognised", () => {
    expect(configError(withReplica("forcePathStyle: true")).hint).toBe(
      'rename "forcePathStyle" to "force-path-style"',
    );
    expect(configError("dbs:\n  - path: /a.db\n    monitor_interval: 1s\n").hint).toBe(
      'rename "monitor_interval" to "monitor-interval"',
    );
  });
  test("a top-level typo", () => {
    expect(configError("db:\n  - path: /a.db\n").message).toContain('unknown key db; did you mean "dbs"?');
  });
  test("a key with no close match lists the valid keys", () => {
    const error = configError("logging:\n  colour: true\n");
    expect(error.message).toBe('Cannot load config "/etc/walship.yml" (line 2): unknown key logging.colour');
    expect(error.hint).toBe('remove "colour"; valid keys under logging are level, type, stderr');
  });
  test("a key at the wrong level says where it belongs", () => {
    const error = configError("dbs:\n  - path: /a.db\n    url: s3://bkt/a\n");
    expect(error.message).toContain('dbs[0].url is not valid here; "url" belongs in a replicas entry');
    expect(error.hint).toBe('move "url" into a replicas entry');
  });
  test("unsupported replica types", () => {
    const error = configError("dbs:\n  - path: /a.db\n    replicas:\n      - type: gcs\n        bucket: b\n");
    expect(error.message).toContain('dbs[0].replicas[0].type "gcs" is not supported yet');
    expect(error.hint).toContain("endpoint: storage.googleapis.com");
  });
  test("an unknown type gets a did-you-mean", () => {
    const error = configError("dbs:\n  - path: /a.db\n    replicas:\n      - type: S3\n        bucket: b\n");
    expect(error.message).toContain('must be file, s3, sftp or abs, not "S3"');
    expect(error.hint).toBe("type: s3");
  });
});

describe("type errors", () => {
  test("an integer key given text", () => {
    const error = configError('dbs:\n  - path: /a.db\n    min-checkpoint-page-count: "abc"\n');
    expect(error.message).toBe(
      'Cannot load config "/etc/walship.yml" (line 3): dbs[0].min-checkpoint-page-count must be a whole number, not "abc"',
    );
    expect(error.key).toBe("dbs[0].min-checkpoint-page-count");
    expect(error.hint).toBe("write it like: min-checkpoint-page-count: 1000");
  });
  test("a quoted number is not an integer (yaml.v2 rejects it too)", () => {
    expect(configError('dbs:\n  - path: /a.db\n    min-checkpoint-page-count: "1000"\n').key).toBe(
      "dbs[0].min-checkpoint-page-count",
    );
  });
  test("dbs: 5", () => {
    const error = configError("dbs: 5\n");
    expect(error.message).toContain("dbs must be a list, not 5");
    expect(error.key).toBe("dbs");
  });
  test("replicas that is not a list", () => {
    const error = configError("dbs:\n  - path: /a.db\n    replicas:\n      url: s3://bkt/a\n");
    expect(error.message).toContain("dbs[0].replicas must be a list, not a mapping");
  });
  test("a db entry that is not a mapping", () => {
    expect(configError("dbs:\n  - /a.db\n").message).toContain(
      'dbs[0] must be a mapping of keys to values, not "/a.db"',
    );
  });
  test("skip-verify: maybe", () => {
    const error = configError(withReplica("skip-verify: maybe"));
    expect(error.message).toContain('dbs[0].replicas[0].skip-verify must be true or false, not "maybe"');
    expect(error.hint).toBe("write it like: skip-verify: false");
  });
  test("YAML 1.1 booleans are booleans", () => {
    for (const [word, value] of [
      ["yes", true],
      ["no", false],
      ["on", true],
      ["off", false],
      ["y", true],
      ["N", false],
    ] as const) {
      expect(parse(withReplica(`skip-verify: ${word}`)).dbs[0]?.replicas[0]?.target).toMatchObject({
        skipVerify: value,
      });
    }
  });
  test("a secret of the wrong type is not echoed", () => {
    const error = configError("secret-access-key: [s3cr3t]\n");
    expect(error.message).toContain("secret-access-key must be a string, not a list");
    expect(error.message).not.toContain("s3cr3t");
  });
  test("a mapping at the top is required", () => {
    expect(configError("- a\n- b\n").message).toBe(
      'Cannot load config "/etc/walship.yml" (line 1): the config must be a mapping of keys to values, not a list',
    );
  });
});

describe("durations", () => {
  test("a bare integer is rejected with a hint", () => {
    const error = configError(withReplica("sync-interval: 10"));
    expect(error.message).toBe(
      'Cannot load config "/etc/walship.yml" (line 5): dbs[0].replicas[0].sync-interval must be a duration string such as "10s"; a bare number is ambiguous',
    );
    expect(error.hint).toBe("write sync-interval: 10s (Litestream reads a bare 10 as nanoseconds)");
  });
  test("a quoted bare number is rejected the same way", () => {
    expect(configError('dbs:\n  - path: /a.db\n    monitor-interval: "5"\n').message).toContain(
      'dbs[0].monitor-interval must be a duration string such as "5s"',
    );
  });
  test("a float is rejected too", () => {
    expect(configError(withReplica("retention: 1.5")).message).toContain("a bare number is ambiguous");
  });
  test("an unknown unit", () => {
    const error = configError(withReplica("retention: 7d"));
    expect(error.message).toContain('dbs[0].replicas[0].retention is not a valid duration: unknown unit "d"');
    expect(error.hint).toBe("use a duration such as retention: 10s, 5m or 1h30m");
  });
  test("a negative duration", () => {
    expect(configError("dbs:\n  - path: /a.db\n    checkpoint-interval: -1m\n").message).toContain(
      "dbs[0].checkpoint-interval must not be negative",
    );
  });
  test("sync-interval: 0 means ship on commit (Litestream panics on 0)", () => {
    expect(parse(withReplica("sync-interval: 0s")).dbs[0]?.replicas[0]?.syncIntervalMs).toBe(0);
    expect(configError(withReplica("sync-interval: -1s")).message).toContain("must not be negative");
  });
  test("retention-check-interval must be positive while retention is on", () => {
    expect(configError(withReplica("retention-check-interval: 0s")).key).toBe(
      "dbs[0].replicas[0].retention-check-interval",
    );
  });
});

describe("database rules", () => {
  test("a db without a path", () => {
    const error = configError("dbs:\n  - monitor-interval: 1s\n");
    expect(error.message).toContain("dbs[0] has no path");
    expect(error.key).toBe("dbs[0].path");
  });
  test("min-checkpoint-page-count must be above 0", () => {
    const error = configError("dbs:\n  - path: /a.db\n    min-checkpoint-page-count: 0\n");
    expect(error.message).toContain("dbs[0].min-checkpoint-page-count must be greater than 0");
  });
  test("max-checkpoint-page-count below min is rejected", () => {
    const error = configError(
      "dbs:\n  - path: /a.db\n    min-checkpoint-page-count: 5000\n    max-checkpoint-page-count: 100\n",
    );
    expect(error.message).toContain("is below min-checkpoint-page-count");
  });
  test("max-wal-size takes sizes with units, 0 turns it off, and a bound too small is refused", () => {
    const bound = (value: string) =>
      parse(`dbs:\n  - path: /a.db\n    max-wal-size: ${value}\n`).dbs[0]?.maxWalBytes;
    expect(bound("1GiB")).toBe(2 ** 30);
    expect(bound("100 MB")).toBe(100e6);
    expect(bound("0")).toBe(0);
    const small = configError("dbs:\n  - path: /a.db\n    max-wal-size: 1MiB\n");
    expect(small.key).toBe("dbs[0].max-wal-size");
    expect(small.message).toContain("(1MiB) is below 4MiB");
    expect(small.hint).toContain("0 to turn the bound off");
    const unit = configError("dbs:\n  - path: /a.db\n    max-wal-size: 256MiBs\n");
    expect(unit.message).toContain('unknown unit "MiBs"');
  });
  test("the same database twice", () => {
    expect(configError("dbs:\n  - path: /a.db\n  - path: /b/../a.db\n").message).toContain(
      'dbs[1].path is the same database as dbs[0].path ("/a.db")',
    );
  });
  test("the singular replica key (Litestream 0.5)", () => {
    const config = parse("dbs:\n  - path: /a.db\n    replica:\n      url: s3://bkt/a\n      name: only\n");
    expect(config.dbs[0]?.replicas.map((r) => r.name)).toEqual(["only"]);
  });
  test("an error in a singular replica names replica", () => {
    expect(
      configError("dbs:\n  - path: /a.db\n    replica:\n      url: s3://bkt/a\n      sync-interval: 5\n").key,
    ).toBe("dbs[0].replica.sync-interval");
  });
  test("replica and replicas together", () => {
    const error = configError(
      "dbs:\n  - path: /a.db\n    replica:\n      url: s3://bkt/a\n    replicas:\n      - url: s3://bkt/b\n",
    );
    expect(error.message).toContain("dbs[0] has both replicas and replica");
  });
  test("duplicate replica names: two unnamed S3 replicas clash, as in Litestream", () => {
    const error = configError(
      "dbs:\n  - path: /a.db\n    replicas:\n      - url: s3://one/a\n      - url: s3://two/a\n",
    );
    expect(error.message).toContain('duplicate replica name "s3" in dbs[0] (also dbs[0].replicas[0])');
    expect(error.key).toBe("dbs[0].replicas[1].name");
  });
  test("logging and addr are validated", () => {
    expect(configError("logging:\n  level: verbose\n").message).toContain(
      'logging.level must be debug, info, warn or error, not "verbose"',
    );
    expect(configError("logging:\n  level: debg\n").hint).toBe("level: debug");
    expect(configError("logging:\n  type: xml\n").message).toContain("logging.type must be text or json");
    expect(configError("addr: localhost\n").message).toContain('addr must include a port, such as ":9090"');
  });
});

describe("replica targets from keys", () => {
  test("url and path together", () => {
    const error = configError(withReplica("path: app"));
    expect(error.message).toContain("dbs[0].replicas[0] has both url and path");
    expect(error.key).toBe("dbs[0].replicas[0].path");
  });
  test("url and bucket together", () => {
    const error = configError(withReplica("bucket: other"));
    expect(error.message).toContain("dbs[0].replicas[0] has both url and bucket");
  });
  test("url with endpoint and region keys (the documented Litestream form)", () => {
    const target = parse(withReplica("endpoint: https://s3.mydomain.com\nregion: us-east-1")).dbs[0]
      ?.replicas[0]?.target;
    expect(target).toMatchObject({
      bucket: "bkt",
      path: "app",
      endpoint: "https://s3.mydomain.com",
      endpointSource: "config",
      region: "us-east-1",
      forcePathStyle: true,
    });
  });
  test("an explicit force-path-style: false beats a provider URL (Litestream overrode it)", () => {
    const config = parse(
      "dbs:\n  - path: /a.db\n    replicas:\n      - url: s3://foo.nyc3.digitaloceanspaces.com/db\n        force-path-style: false\n",
    );
    expect(config.dbs[0]?.replicas[0]?.target).toMatchObject({ bucket: "foo", forcePathStyle: false });
  });
  test("an unusable url names the key and keeps the URL error's hint", () => {
    const error = configError("dbs:\n  - path: /a.db\n    replicas:\n      - url: gcs://bkt/db\n");
    expect(error.message).toBe(
      'Cannot load config "/etc/walship.yml" (line 4): dbs[0].replicas[0].url "gcs://bkt/db" is not usable: the "gcs" scheme is not supported yet',
    );
    expect(error.key).toBe("dbs[0].replicas[0].url");
    expect(error.hint).toContain("storage.googleapis.com");
  });
  test("type contradicting the url", () => {
    expect(configError(withReplica("type: file")).message).toContain(
      "dbs[0].replicas[0].type is file but the url is a s3 URL",
    );
  });
  test("an s3 replica without a bucket", () => {
    expect(
      configError("dbs:\n  - path: /a.db\n    replicas:\n      - type: s3\n        path: x\n").message,
    ).toContain("dbs[0].replicas[0] is an s3 replica without a bucket");
  });
  test("a file replica without a path", () => {
    expect(configError("dbs:\n  - path: /a.db\n    replicas:\n      - name: x\n").message).toContain(
      "dbs[0].replicas[0] has no path or url",
    );
  });
  test("a path that is a URL", () => {
    const error = configError("dbs:\n  - path: /a.db\n    replicas:\n      - path: s3://u:pw@bkt/a\n");
    expect(error.message).toContain("dbs[0].replicas[0].path cannot be a URL");
    expect(error.hint).toBe("use url: s3://bkt/a");
  });
  test("s3-only keys on a file replica", () => {
    expect(
      configError("dbs:\n  - path: /a.db\n    replicas:\n      - path: /b\n        region: x\n").message,
    ).toContain("dbs[0].replicas[0].region only applies to s3 replicas");
  });
  test("a key id without a secret", () => {
    const error = configError(withReplica("access-key-id: AKIAONLY"));
    expect(error.message).toContain("has access-key-id but no secret-access-key");
    expect(error.message).not.toContain("AKIAONLY");
  });
  test("file replica paths expand ~ and resolve against cwd", () => {
    const config = parse(
      "dbs:\n  - path: /a.db\n    replicas:\n      - path: ~/b\n        name: home\n      - path: rel\n",
    );
    expect(config.dbs[0]?.replicas.map((r) => r.target)).toEqual([
      { type: "file", path: "/home/u/b" },
      { type: "file", path: "/srv/rel" },
    ]);
  });
  test.each([
    // Litestream's own form: its http is implied by the host, not written.
    ["s3://bkt.localhost:9000/app", "skip-verify: true", "https://localhost:9000"],
    ["s3://10.0.0.5:9000/bkt/app", "skip-verify: true", "https://10.0.0.5:9000"],
    ["s3://bkt/app?endpoint=10.0.0.5:9000", "ca-file: /etc/ssl/my-ca.pem", "https://10.0.0.5:9000"],
    ["s3://bkt/app?endpoint=10.0.0.5:80&skip-verify=true", "name: x", "https://10.0.0.5:80"],
    ["s3://10.0.0.5:9000/bkt/app", "skip-verify: false", "http://10.0.0.5:9000"],
  ])("url %s with %s: the endpoint is %s", (url, line, endpoint) => {
    const text = `dbs:\n  - path: /a.db\n    replicas:\n      - url: ${url}\n        ${line}\n`;
    expect(parse(text).dbs[0]?.replicas[0]?.target).toMatchObject({ endpoint });
  });
  test("an http:// url with skip-verify is refused, naming the url key", () => {
    const error = configError(
      "dbs:\n  - path: /a.db\n    replicas:\n      - url: http://10.0.0.5:9000/bkt/app\n        skip-verify: true\n",
    );
    expect(error.message).toContain(
      'dbs[0].replicas[0].url "http://10.0.0.5:9000/bkt/app" is not usable: the endpoint http://10.0.0.5:9000 (from the URL) is plain HTTP, but skip-verify only applies to HTTPS',
    );
    expect(error.key).toBe("dbs[0].replicas[0].url");
    expect(error.hint).toContain("https://10.0.0.5:9000");
  });
  test("the same endpoint in the url query and the key takes the key's https", () => {
    expect(
      parse(
        withReplica("endpoint: 10.0.0.5:9000").replace("s3://bkt/app", "s3://bkt/app?endpoint=10.0.0.5:9000"),
      ).dbs[0]?.replicas[0]?.target,
    ).toMatchObject({ endpoint: "https://10.0.0.5:9000", endpointSource: "config" });
  });
  test("the endpoint env fallback applies to config replicas", () => {
    const env = (name: string) => (name === "LITESTREAM_S3_ENDPOINT" ? "localhost:9000" : undefined);
    expect(parse(withReplica("name: x"), { env }).dbs[0]?.replicas[0]?.target).toMatchObject({
      endpoint: "http://localhost:9000",
      endpointSource: "env:LITESTREAM_S3_ENDPOINT",
    });
  });
});

describe("YAML errors", () => {
  test("a syntax error has a line and column", () => {
    const error = configError("dbs:\n  - path: /a.db\n    replicas: [\n");
    expect(error.message).toStartWith('Cannot load config "/etc/walship.yml" (line ');
    expect(error.line).toBeGreaterThan(0);
    expect(error.column).toBeGreaterThan(0);
  });
  test("a syntax error does not quote the source", () => {
    const error = configError("secret-access-key: abc: def\n");
    expect(error.message).toContain("invalid YAML");
    expect(error.message).not.toContain("def");
    expect(error.line).toBe(1);
  });
  test("expanded variables get a quoting hint", () => {
    const env = () => "a: b";
    expect(configError("secret-access-key: $SECRET\n", { env }).hint).toContain("quote values");
  });
  test("duplicate keys are an error", () => {
    expect(configError("addr: ':1'\naddr: ':2'\n").message).toContain("map keys must be unique");
  });
});

describe("dbConfigFromArgs", () => {
  test("replicas are named by type and numbered when a type repeats", () => {
    const db = dbConfigFromArgs("app.db", ["s3://a/x", "file:///b", "https://h/c/d", "s3://e/f"], {
      cwd: "/srv",
      home: "/home/u",
      env: () => undefined,
    });
    expect(db.path).toBe("/srv/app.db");
    expect(db.replicas.map((r) => r.name)).toEqual(["s3", "file", "s3-2", "s3-3"]);
    expect(db.replicas[0]).toMatchObject({ syncIntervalMs: 1000, retentionMs: 86_400_000 });
  });
});

describe("S3 keys beside type: s3 (one test per key form)", () => {
  const s3Replica = (lines: string) =>
    `dbs:\n  - path: /a.db\n    replicas:\n      - type: s3\n        bucket: bkt\n        path: app\n${lines
      .split("\n")
      .map((l) => `        ${l}`)
      .join("\n")}\n`;
  const target = (lines: string) => parse(s3Replica(lines)).dbs[0]?.replicas[0]?.target;

  test("endpoint with a scheme is used as given and implies path-style", () => {
    expect(target("endpoint: https://minio.internal:9000")).toMatchObject({
      endpoint: "https://minio.internal:9000",
      forcePathStyle: true,
    });
  });
  test("endpoint without a scheme is https, as Litestream 0.3.13 reads it, for private hosts too", () => {
    expect(target("endpoint: 127.0.0.1:9000")).toMatchObject({ endpoint: "https://127.0.0.1:9000" });
    expect(target("endpoint: 192.168.1.20:9000")).toMatchObject({ endpoint: "https://192.168.1.20:9000" });
    expect(target("endpoint: nas.local:9000")).toMatchObject({ endpoint: "https://nas.local:9000" });
    expect(target("endpoint: s3.mydomain.com")).toMatchObject({ endpoint: "https://s3.mydomain.com" });
  });
  test("endpoint with http:// stays plain HTTP", () => {
    expect(target("endpoint: http://192.168.1.20:9000")).toMatchObject({
      endpoint: "http://192.168.1.20:9000",
    });
  });
  test("the blog's self-signed MinIO: a scheme-less endpoint with skip-verify is https", () => {
    expect(target("endpoint: 192.168.1.10:9000\nskip-verify: true")).toMatchObject({
      endpoint: "https://192.168.1.10:9000",
      skipVerify: true,
    });
  });
  test("force-path-style: false keeps virtual-hosted addressing with an endpoint", () => {
    expect(target("endpoint: http://s3.localhost:9000\nforce-path-style: false")).toMatchObject({
      forcePathStyle: false,
    });
  });
  test("skip-verify: true", () => {
    expect(target("endpoint: https://10.0.0.5:9000\nskip-verify: true")).toMatchObject({ skipVerify: true });
  });
  test("region", () => {
    expect(target("endpoint: https://s3.mydomain.com\nregion: eu-central-1")).toMatchObject({
      region: "eu-central-1",
    });
  });
  test("ca-file for a private CA", () => {
    expect(target("endpoint: https://s3.mydomain.com\nca-file: /etc/ssl/my-ca.pem")).toMatchObject({
      caFile: "/etc/ssl/my-ca.pem",
    });
  });
  test.each([
    ["skip-verify: true", "skip-verify"],
    ["ca-file: /etc/ssl/my-ca.pem", "ca-file"],
  ])("an http:// endpoint with %s is refused: the two contradict each other", (line, setting) => {
    const error = configError(s3Replica(`endpoint: http://10.0.0.5:9000\n${line}`));
    expect(error.message).toContain(
      `(line 4): dbs[0].replicas[0] is not usable: the endpoint http://10.0.0.5:9000 (from the endpoint key) is plain HTTP, but ${setting} only applies to HTTPS`,
    );
    expect(error.hint).toBe(
      `write the endpoint as https://10.0.0.5:9000 if the server speaks HTTPS, or remove ${setting}`,
    );
  });
  test("skip-verify: false leaves an http:// endpoint alone", () => {
    expect(target("endpoint: http://10.0.0.5:9000\nskip-verify: false")).toMatchObject({
      endpoint: "http://10.0.0.5:9000",
    });
  });
  test("no endpoint means AWS, virtual-hosted", () => {
    const t = target("region: us-west-2");
    expect(t).toMatchObject({ bucket: "bkt", path: "app", forcePathStyle: false, region: "us-west-2" });
    expect(t && "endpoint" in t ? t.endpoint : undefined).toBeUndefined();
  });
});

describe("directory mode keys", () => {
  test("dir with pattern, recursive and watch", () => {
    const config = parse(
      'dbs:\n  - dir: /data\n    pattern: "*.sqlite"\n    recursive: true\n    replicas:\n      - url: s3://bkt/t\n',
    );
    expect(config.dbs[0]).toMatchObject({
      path: "/data",
      directory: { pattern: "*.sqlite", recursive: true, watch: false },
    });
  });
  test("pattern defaults to *.db", () => {
    expect(parse("dbs:\n  - dir: /data\n").dbs[0]?.directory?.pattern).toBe("*.db");
  });
  test("path and dir together are an error", () => {
    expect(configError("dbs:\n  - path: /a.db\n    dir: /data\n").message).toContain("has both path and dir");
  });
  test("pattern without dir is an error", () => {
    expect(configError("dbs:\n  - path: /a.db\n    pattern: '*.db'\n").message).toContain(
      "pattern only applies with dir",
    );
  });
  test("meta-path with dir is an error", () => {
    expect(configError("dbs:\n  - dir: /data\n    meta-path: /m\n").message).toContain(
      "meta-path cannot be used with dir",
    );
  });
});
