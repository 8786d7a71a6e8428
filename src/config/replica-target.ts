/**
 * Where a replica lives, as understood from a replica URL or from `type`/`path`/`bucket`/... keys.
 * Storage backends are built from these values and nothing else.
 */

import type { EndpointSpec } from "./endpoint.ts";
import type { S3ProviderId } from "./s3-providers.ts";

/** Environment variables that supply an S3 endpoint when neither the URL nor the config does, in order. */
export const ENDPOINT_ENV_VARS = [
  "AWS_ENDPOINT_URL_S3",
  "AWS_ENDPOINT_URL",
  "LITESTREAM_S3_ENDPOINT",
] as const;
export type EndpointEnvVar = (typeof ENDPOINT_ENV_VARS)[number];

/**
 * AWS's first region: what S3-compatible servers are signed for when no region is configured (as in
 * Litestream), and where walship asks AWS for a bucket's region.
 */
export const DEFAULT_REGION = "us-east-1";

/**
 * The region requests to `target` are signed for without asking AWS: its own, else DEFAULT_REGION when it
 * has an endpoint; undefined for an AWS bucket whose region must be looked up.
 */
export function knownRegion(target: {
  region?: string | undefined;
  endpoint?: string | undefined;
}): string | undefined {
  return target.region || (target.endpoint ? DEFAULT_REGION : undefined);
}

/**
 * Where the endpoint came from: the URL itself (`https://HOST/…`, a provider host, an IP or
 * host:port), its `?endpoint=` parameter, the `endpoint` config key, or an environment variable.
 */
export type EndpointSource = "url" | "query" | "config" | `env:${EndpointEnvVar}`;

/** A directory replica. */
export interface FileTarget {
  type: "file";
  /** Absolute, cleaned directory path. */
  path: string;
}

/** An S3 or S3-compatible bucket. */
export interface S3Target {
  type: "s3";
  bucket: string;
  /** Key prefix without leading or trailing slash; "" for the bucket root. */
  path: string;
  /** `http(s)://host[:port]`; absent means AWS. */
  endpoint?: string;
  endpointSource?: EndpointSource;
  /** Absent means: DEFAULT_REGION with an endpoint, otherwise discovered from AWS (see knownRegion). */
  region?: string;
  forcePathStyle: boolean;
  skipVerify: boolean;
  /** PEM file of extra certificate authorities to trust (a private CA); absent means the system's. */
  caFile?: string;
  /**
   * The URL host was taken as an AWS bucket name although it contains a dot and matches no known
   * provider (`s3://s3.example.com/bkt/db`). Litestream reads it the same way, but the user may
   * have meant `https://HOST/FIRSTSEG/REST`; callers mention that when a request fails.
   */
  ambiguousHost: boolean;
  /** The provider recognised from the endpoint host, for provider-specific defaults. */
  provider?: S3ProviderId;
}

/**
 * How an SFTP server's host key is checked: against known_hosts files (the first that exists is read;
 * `~/.ssh/known_hosts` by default), against one pinned fingerprint, or not at all (Litestream 0.3.13's
 * behaviour, only on request).
 */
export type HostKeyPolicy =
  | { kind: "known-hosts"; files: string[] }
  | { kind: "fingerprint"; fingerprint: string }
  | { kind: "ignore" };

/** A directory on an SSH server, over SFTP. */
export interface SftpTarget {
  type: "sftp";
  host: string;
  /** 22 unless given. */
  port: number;
  user: string;
  /** The replica directory on the server: absolute, or relative to the login directory. */
  path: string;
  /** Secret: never logged, printed or put in an error. */
  password?: string;
  /** A private key file (OpenSSH or PEM); without it and a password, the default keys and the agent. */
  keyPath?: string;
  hostKey: HostKeyPolicy;
}

/** An Azure Blob Storage container. */
export interface AbsTarget {
  type: "abs";
  accountName: string;
  /** The container (Litestream's `bucket`). */
  container: string;
  /** Blob name prefix without leading or trailing slash; "" for the container root. */
  path: string;
  /** `http(s)://host[:port][/account]`; absent means `https://ACCOUNT.blob.core.windows.net`. */
  endpoint?: string;
  /** Secret: never logged, printed or put in an error. Absent: LITESTREAM_AZURE_ACCOUNT_KEY when opened. */
  accountKey?: string;
}

export type ReplicaTarget = FileTarget | S3Target | SftpTarget | AbsTarget;

/** S3 settings given beside the bucket: URL query parameters or config keys. */
export interface S3Settings {
  /** As parsed by `parseEndpoint`, with the default scheme of where it was given. */
  endpoint?: EndpointSpec;
  region?: string;
  forcePathStyle?: boolean;
  skipVerify?: boolean;
  caFile?: string;
}
