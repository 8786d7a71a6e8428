/** SFTP and Azure Blob replicas as URLs and as config keys, read as Litestream 0.3.13 reads them. */
import { describe, expect, test } from "bun:test";
import { type ParseConfigOptions, parseConfig } from "../../src/config/config.ts";
import { ConfigError, ReplicaUrlError } from "../../src/config/errors.ts";
import type { HostKeyPolicy, ReplicaTarget } from "../../src/config/replica-target.ts";
import { parseReplicaUrl } from "../../src/config/replica-url.ts";

const dirs = { cwd: "/srv", home: "/home/u", env: () => undefined };
const base: ParseConfigOptions = { file: "/etc/walship.yml", expandEnv: true, ...dirs };
const defaultKnownHosts: HostKeyPolicy = {
  kind: "known-hosts",
  files: ["/home/u/.ssh/known_hosts", "/etc/ssh/ssh_known_hosts"],
};

function url(input: string): ReplicaTarget {
  return parseReplicaUrl(input, dirs);
}

function urlError(input: string): ReplicaUrlError {
  try {
    url(input);
  } catch (err) {
    if (err instanceof ReplicaUrlError) return err;
    throw err;
  }
  throw new Error(`expected ${input} to be rejected`);
}

function replica(lines: string): ReplicaTarget {
  const indented = lines
    .trim()
    .split("\n")
    .map((l) => `        ${l}`)
    .join("\n");
  const config = parseConfig(
    `dbs:\n  - path: /data/app.db\n    replicas:\n      - ${indented.trimStart()}\n`,
    base,
  );
  return config.dbs[0]!.replicas[0]!.target;
}

function replicaError(lines: string): ConfigError {
  try {
    replica(lines);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

describe("sftp URLs", () => {
  test("user, host, default port, absolute path, known_hosts by default", () => {
    expect(url("sftp://backup@nas.lan/srv/backups/app")).toEqual({
      type: "sftp",
      host: "nas.lan",
      port: 22,
      user: "backup",
      path: "/srv/backups/app",
      hostKey: defaultKnownHosts,
    });
  });
  test("password (percent-decoded), port, IPv6 host", () => {
    const t = url("sftp://backup:p%40ss@[::1]:2222/b");
    expect(t).toMatchObject({ host: "::1", port: 2222, user: "backup", password: "p@ss", path: "/b" });
  });
  test("host key settings as query parameters", () => {
    const fp = `SHA256:${"A".repeat(43)}`;
    expect(url(`sftp://u@h/b?host-key-fingerprint=${fp}`)).toMatchObject({
      hostKey: { kind: "fingerprint", fingerprint: fp },
    });
    expect(url("sftp://u@h/b?known-hosts=~/kh&key-path=./id")).toMatchObject({
      hostKey: { kind: "known-hosts", files: ["/home/u/kh"] },
      keyPath: "/srv/id",
    });
    expect(url("sftp://u@h/b?insecure-ignore-host-key")).toMatchObject({ hostKey: { kind: "ignore" } });
  });
  test.each([
    ["sftp://nas/b", "it names no user"],
    ["sftp://u@nas", "it names no directory on the server"],
    ["sftp://u@nas/", "it names no directory on the server"],
    [
      "sftp://u@nas/b?host-key-fingerprint=MD5:aa",
      'host-key-fingerprint "MD5:aa" is not a SHA256 fingerprint',
    ],
    ["sftp://u@nas/b?colour=1", 'unknown parameter "colour"'],
    ["sftp://u%zz@nas/b", "it has an invalid percent-encoding"],
    [
      `sftp://u@nas/b?insecure-ignore-host-key&host-key-fingerprint=SHA256:${"A".repeat(43)}`,
      "host-key-fingerprint and insecure-ignore-host-key contradict each other",
    ],
  ])("%s is refused: %s", (input, reason) => {
    expect(urlError(input).reason).toBe(reason);
  });
  test("an error never shows the password", () => {
    const err = urlError("sftp://u:hunter2@nas/b?colour=1");
    expect(`${err.message} ${err.hint}`).not.toContain("hunter2");
  });
});

describe("sftp keys", () => {
  test("host with port, user, password, key-path, pinned fingerprint", () => {
    const fp = `SHA256:${"b".repeat(43)}`;
    const t = replica(
      `type: sftp\nhost: nas.lan:2022\nuser: backup\npassword: s3cret\nkey-path: ~/.ssh/id\npath: /backups/app\nhost-key-fingerprint: ${fp}=`,
    );
    expect(t).toEqual({
      type: "sftp",
      host: "nas.lan",
      port: 2022,
      user: "backup",
      password: "s3cret",
      keyPath: "/home/u/.ssh/id",
      path: "/backups/app",
      hostKey: { kind: "fingerprint", fingerprint: fp },
    });
  });
  test("keys fill in and win over the URL's parts, as in Litestream", () => {
    const t = replica("url: sftp://old:pw@nas/b\nuser: new\nknown-hosts: /etc/walship/kh");
    expect(t).toMatchObject({
      host: "nas",
      user: "new",
      password: "pw",
      hostKey: { files: ["/etc/walship/kh"] },
    });
  });
  test("insecure-ignore-host-key: true", () => {
    expect(replica("type: sftp\nhost: h\nuser: u\npath: /b\ninsecure-ignore-host-key: true")).toMatchObject({
      hostKey: { kind: "ignore" },
    });
  });
  test.each([
    ["type: sftp\nuser: u\npath: /b", "it names no host"],
    ["type: sftp\nhost: h\npath: /b", "it names no user"],
    ["url: sftp://u@h/b\nhost: other", "has both url and host"],
    ["type: sftp\nhost: h\nuser: u\npath: /b\nbucket: x", "bucket only applies to s3 and abs replicas"],
    ["type: sftp\nhost: h:99999\nuser: u\npath: /b", "port 99999 is out of range"],
    ["url: s3://bkt/app\nuser: u", "user only applies to sftp replicas"],
  ])("%s is refused", (lines, reason) => {
    expect(replicaError(lines).message).toContain(reason);
  });
  test("the password never appears in an error", () => {
    const err = replicaError("type: sftp\nhost: h\npassword: hunter2\npath: /b");
    expect(`${err.message} ${err.hint}`).not.toContain("hunter2");
  });
});

describe("abs", () => {
  test("abs://ACCOUNT@CONTAINER/PATH", () => {
    expect(url("abs://acct@backups/db/app//")).toEqual({
      type: "abs",
      accountName: "acct",
      container: "backups",
      path: "db/app",
    });
  });
  test("keys: account-name, account-key, bucket, path, endpoint", () => {
    expect(
      replica(
        "type: abs\naccount-name: devstoreaccount1\naccount-key: k3y\nbucket: c\npath: /app\nendpoint: http://127.0.0.1:10000/devstoreaccount1/",
      ),
    ).toEqual({
      type: "abs",
      accountName: "devstoreaccount1",
      accountKey: "k3y",
      container: "c",
      path: "app",
      endpoint: "http://127.0.0.1:10000/devstoreaccount1",
    });
  });
  test("keys fill in the URL's account, as in Litestream", () => {
    expect(replica("url: abs://c/app\naccount-name: acct")).toMatchObject({
      accountName: "acct",
      container: "c",
    });
  });
  test("?endpoint= names an emulator from the command line", () => {
    expect(url("abs://devstoreaccount1@c/p?endpoint=http://127.0.0.1:10000/devstoreaccount1")).toMatchObject({
      endpoint: "http://127.0.0.1:10000/devstoreaccount1",
    });
  });
  test.each([
    ["abs://backups/db", "it names no storage account"],
    ["abs://a@c/p?region=x", 'unknown parameter "region"'],
    ["abs:///~%2", "it has an invalid percent-encoding"],
    ["abs://acct:key@backups/db", "an account key in the URL is not used"],
  ])("%s is refused", (input, reason) => {
    expect(urlError(input).reason).toBe(reason);
  });
  test("region is an s3 key", () => {
    expect(replicaError("url: abs://a@c/p\nregion: x").message).toContain(
      "region only applies to s3 replicas",
    );
  });
  test("the account key never appears in an error", () => {
    const err = replicaError("type: abs\naccount-key: hunter2\npath: p");
    expect(`${err.message} ${err.hint}`).not.toContain("hunter2");
    expect(err.message).toContain("it names no storage account");
  });
});
