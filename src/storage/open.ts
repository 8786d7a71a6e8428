/** Builds the storage backend for a replica target. */

import * as os from "node:os";
import * as path from "node:path";
import type { Credentials } from "../config/credentials.ts";
import {
  type AbsTarget,
  type HostKeyPolicy,
  knownRegion,
  type ReplicaTarget,
  type SftpTarget,
} from "../config/replica-target.ts";
import { IS_BUN } from "../runtime/host.ts";
import { AzureBlobStore } from "./azure-blob.ts";
import { FileStore } from "./file.ts";
import { StorageError } from "./object-store.ts";
import { ReplicaClient } from "./replica-client.ts";
import { S3Store } from "./s3.ts";
import { SftpStore } from "./sftp.ts";
import { hostKeyCheck } from "./ssh-host-key.ts";

/** `credentials` as found by resolveCredentials (config/credentials.ts); empty means the AWS SDK's chain. */
export function openReplicaClient(
  target: ReplicaTarget,
  credentials: Credentials,
  env: (name: string) => string | undefined = (name) => process.env[name],
): ReplicaClient {
  if (target.type === "file") return new ReplicaClient(new FileStore(target.path));
  if (target.type === "sftp") return new ReplicaClient(openSftpStore(target, env));
  if (target.type === "abs") return new ReplicaClient(openAbsStore(target, env));
  // AWS_CA_BUNDLE is the AWS CLI's and SDKs' variable for a private CA.
  const caFile = target.caFile ?? env("AWS_CA_BUNDLE");
  if (!IS_BUN && (target.skipVerify || caFile)) {
    // The ranged downloads go through fetch, whose TLS options are Bun's: Deno's fetch would verify
    // against the system's CAs alone. Say so rather than half-apply the setting.
    throw new StorageError(
      `This S3 replica sets ${target.skipVerify ? "skip-verify" : "a CA file (ca-file or AWS_CA_BUNDLE)"}, which walship cannot apply under Deno`,
      "open",
      "",
      "run it with Bun (the walship executable), or make the server's CA trusted system-wide",
      { code: "storage-failed" },
    );
  }
  return new ReplicaClient(
    new S3Store({
      bucket: target.bucket,
      prefix: target.path,
      endpoint: target.endpoint,
      region: target.region,
      forcePathStyle: target.forcePathStyle,
      skipVerify: target.skipVerify,
      caFile: caFile ? path.resolve(caFile) : undefined,
      ambiguousHost: target.ambiguousHost,
      ...credentials,
    }),
  );
}

/** The account key: the replica's own, else LITESTREAM_AZURE_ACCOUNT_KEY (as Litestream 0.3.13). */
function openAbsStore(target: AbsTarget, env: (name: string) => string | undefined): AzureBlobStore {
  const accountKey = target.accountKey ?? env("LITESTREAM_AZURE_ACCOUNT_KEY");
  if (!accountKey)
    throw new StorageError(
      `No account key for Azure Blob Storage account ${target.accountName}`,
      "open",
      "",
      "set account-key in the replica's config, or LITESTREAM_AZURE_ACCOUNT_KEY in the environment",
      { code: "no-credentials" },
    );
  return new AzureBlobStore({
    accountName: target.accountName,
    accountKey,
    container: target.container,
    prefix: target.path,
    endpoint: target.endpoint,
  });
}

/** `onHostKey` sees the key the server offered, checked or not (doctor shows its fingerprint). */
export function openSftpStore(
  target: SftpTarget,
  env: (name: string) => string | undefined,
  onHostKey?: (key: Buffer) => void,
): SftpStore {
  const check = hostKeyCheck(target.hostKey, target.host, target.port);
  return new SftpStore({
    host: target.host,
    port: target.port,
    user: target.user,
    password: target.password,
    keyPath: target.keyPath,
    root: target.path,
    hostKey: (key) => {
      onHostKey?.(key);
      return check(key);
    },
    home: env("HOME") ?? os.homedir(),
    agent: env("SSH_AUTH_SOCK"),
  });
}

/** One line describing where a replica goes, for the startup log. Never contains a secret. */
export function describeTarget(target: ReplicaTarget): Record<string, string> {
  if (target.type === "file") return { type: "file", path: target.path };
  if (target.type === "sftp")
    return {
      type: "sftp",
      host: `${target.host}:${target.port}`,
      user: target.user,
      path: target.path,
      auth: target.password ? "password" : target.keyPath ? `key ${target.keyPath}` : "agent or ~/.ssh keys",
      "host-key": HOST_KEY_CHECKS[target.hostKey.kind],
    };
  if (target.type === "abs")
    return {
      type: "abs",
      account: target.accountName,
      container: target.container,
      path: target.path,
      endpoint: target.endpoint ?? `https://${target.accountName}.blob.core.windows.net`,
    };
  return {
    type: "s3",
    bucket: target.bucket,
    path: target.path,
    endpoint: target.endpoint ?? "AWS",
    region: knownRegion(target) ?? "auto-detect",
    addressing: target.forcePathStyle ? "path-style" : "virtual-hosted",
  };
}

const HOST_KEY_CHECKS: Readonly<Record<HostKeyPolicy["kind"], string>> = {
  "known-hosts": "checked against known_hosts",
  fingerprint: "pinned fingerprint",
  ignore: "NOT CHECKED (insecure-ignore-host-key)",
};
