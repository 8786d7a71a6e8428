/** Builds the storage backend for a replica target. */
import * as path from "node:path";
import type { Credentials } from "../config/credentials.ts";
import { knownRegion, type ReplicaTarget } from "../config/replica-target.ts";
import { FileStore } from "./file.ts";
import { ReplicaClient } from "./replica-client.ts";
import { S3Store } from "./s3.ts";

/** `credentials` as found by resolveCredentials (config/credentials.ts); empty means the AWS SDK's chain. */
export function openReplicaClient(
  target: ReplicaTarget,
  credentials: Credentials,
  env: (name: string) => string | undefined = (name) => process.env[name],
): ReplicaClient {
  if (target.type === "file") return new ReplicaClient(new FileStore(target.path));
  // AWS_CA_BUNDLE is the AWS CLI's and SDKs' variable for a private CA.
  const caFile = target.caFile ?? env("AWS_CA_BUNDLE");
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

/** One line describing where a replica goes, for the startup log. Never contains a secret. */
export function describeTarget(target: ReplicaTarget): Record<string, string> {
  if (target.type === "file") return { type: "file", path: target.path };
  return {
    type: "s3",
    bucket: target.bucket,
    path: target.path,
    endpoint: target.endpoint ?? "AWS",
    region: knownRegion(target) ?? "auto-detect",
    addressing: target.forcePathStyle ? "path-style" : "virtual-hosted",
  };
}
