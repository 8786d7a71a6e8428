/**
 * The keys a config file may contain at each level, with an example line for hints, and the
 * Litestream 0.3.13 keys that walship recognises but does not implement yet.
 */

export type KeyLevel = "global" | "logging" | "db" | "replica";

/** Known keys per level, each with an example line used in "Try: …" hints. */
export const KNOWN_KEYS: Readonly<Record<KeyLevel, Readonly<Record<string, string>>>> = {
  global: {
    dbs: "dbs: [{ path: /var/lib/app/app.db, replicas: [{ url: s3://BUCKET/app }] }]",
    addr: 'addr: ":9090"',
    "health-max-lag": "health-max-lag: 2m",
    exec: 'exec: "myapp serve"',
    "access-key-id": "access-key-id: $AWS_ACCESS_KEY_ID",
    "secret-access-key": "secret-access-key: $AWS_SECRET_ACCESS_KEY",
    logging: "logging: { level: info, type: text, stderr: false }",
  },
  logging: {
    level: "level: info",
    type: "type: text",
    stderr: "stderr: true",
  },
  db: {
    path: "path: /var/lib/app/app.db",
    dir: "dir: /var/lib/app/tenants",
    pattern: 'pattern: "*.db"',
    recursive: "recursive: true",
    watch: "watch: true",
    "meta-path": "meta-path: /var/lib/app/.app.db-litestream",
    "monitor-interval": "monitor-interval: 1s",
    "checkpoint-interval": "checkpoint-interval: 1m",
    "min-checkpoint-page-count": "min-checkpoint-page-count: 1000",
    "max-checkpoint-page-count": "max-checkpoint-page-count: 10000",
    "max-wal-size": "max-wal-size: 256MiB",
    replicas: "replicas: [{ url: s3://BUCKET/app }]",
    replica: "replica: { url: s3://BUCKET/app }",
  },
  replica: {
    type: "type: s3",
    name: "name: backup",
    url: "url: s3://BUCKET/PATH",
    path: "path: app",
    bucket: "bucket: my-bucket",
    endpoint: "endpoint: https://s3.example.com",
    region: "region: us-east-1",
    "force-path-style": "force-path-style: true",
    "skip-verify": "skip-verify: false",
    "ca-file": "ca-file: /etc/ssl/certs/my-ca.pem",
    "access-key-id": "access-key-id: $AWS_ACCESS_KEY_ID",
    "secret-access-key": "secret-access-key: $AWS_SECRET_ACCESS_KEY",
    "sync-interval": "sync-interval: 1s",
    retention: "retention: 24h",
    "retention-check-interval": "retention-check-interval: 1h",
    "snapshot-interval": "snapshot-interval: 6h",
    "validation-interval": "validation-interval: 6h",
    age: "age: { identities: [$AGE_IDENTITY], recipients: [age1…] }",
    host: "host: nas.example.com:22",
    user: "user: backup",
    password: "password: $SFTP_PASSWORD",
    "key-path": "key-path: /etc/walship/id_ed25519",
    "known-hosts": "known-hosts: /etc/walship/known_hosts",
    "host-key-fingerprint": "host-key-fingerprint: SHA256:…",
    "insecure-ignore-host-key": "insecure-ignore-host-key: true",
    "account-name": "account-name: myaccount",
    "account-key": "account-key: $LITESTREAM_AZURE_ACCOUNT_KEY",
  },
};

/** The replica keys that apply only to some storage types; every other replica key applies to all. */
export const TYPE_KEYS: Readonly<Record<"s3" | "sftp" | "abs", readonly string[]>> = {
  s3: [
    "bucket",
    "endpoint",
    "region",
    "force-path-style",
    "skip-verify",
    "ca-file",
    "access-key-id",
    "secret-access-key",
  ],
  sftp: [
    "host",
    "user",
    "password",
    "key-path",
    "known-hosts",
    "host-key-fingerprint",
    "insecure-ignore-host-key",
  ],
  abs: ["bucket", "endpoint", "account-name", "account-key"],
};

/** Litestream 0.3.13 keys walship does not implement yet, with what they were for. */
export const LATER_KEYS: Readonly<Record<KeyLevel, Readonly<Record<string, string>>>> = {
  global: {},
  logging: {},
  db: {},
  replica: {},
};

/** Keys whose values must never appear in messages. */
export const SECRET_KEYS: ReadonlySet<string> = new Set([
  "access-key-id",
  "secret-access-key",
  "password",
  "account-key",
  "identities",
]);

/** Where keys of each level live, for "belongs …" messages. */
export const LEVEL_PLACES: Readonly<Record<KeyLevel, string>> = {
  global: "at the top level",
  logging: "under logging",
  db: "in a dbs entry",
  replica: "in a replicas entry",
};

/** Where to move a misplaced key, for hints. */
export const LEVEL_DESTINATIONS: Readonly<Record<KeyLevel, string>> = {
  global: "to the top level",
  logging: "under logging:",
  db: "into the dbs entry",
  replica: "into a replicas entry",
};
