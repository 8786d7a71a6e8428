/**
 * A storage failure that is a definite answer, which waiting cannot change: the server rejected the
 * credentials or denied access, the bucket does not exist, no credentials exist at all, or the directory
 * refuses this user. Anything else (refused connections, timeouts, DNS, 5xx, resets) may heal by
 * itself: the storage may simply not be up yet. Read from codes and statuses, never message text.
 */
import { errorChain } from "./error-chain.ts";

export type StorageRefusal =
  | "credentials-rejected"
  | "access-denied"
  | "no-bucket"
  | "no-credentials"
  | "not-writable"
  /** An SSH server whose host key is not known (known_hosts, host-key-fingerprint). */
  | "host-key-unknown"
  /** An SSH server whose host key differs from the known one: reinstalled, or someone in between. */
  | "host-key-mismatch";

/** S3 error codes (the SDK's error `name`/`code`) that are the server's final word. */
const BY_S3_CODE: Readonly<Record<string, StorageRefusal>> = {
  InvalidAccessKeyId: "credentials-rejected",
  SignatureDoesNotMatch: "credentials-rejected",
  InvalidToken: "credentials-rejected",
  AccessDenied: "access-denied",
  // HeadBucket (the AWS region lookup) answers without a body: only the status names what happened.
  Forbidden: "access-denied",
  NoSuchBucket: "no-bucket",
  NotFound: "no-bucket",
  // The SDK found no credentials anywhere: no request was sent, and none will be until the config changes.
  CredentialsProviderError: "no-credentials",
};

/** Azure Blob Storage error codes (x-ms-error-code, the SDK's RestError `code`) that are final. */
const BY_AZURE_CODE: Readonly<Record<string, StorageRefusal>> = {
  // A wrong account key: the signature does not check out (S3's SignatureDoesNotMatch).
  AuthenticationFailed: "credentials-rejected",
  InvalidAuthenticationInfo: "credentials-rejected",
  // Azurite says this for a wrong key; Azure for a firewall or a key without the permission.
  AuthorizationFailure: "access-denied",
  AuthorizationPermissionMismatch: "access-denied",
  AuthorizationResourceTypeMismatch: "access-denied",
  ContainerNotFound: "no-bucket",
  ContainerBeingDeleted: "no-bucket",
  AccountIsDisabled: "access-denied",
};

/** A directory replica that this user may not write is as final as a rejected key. */
const BY_ERRNO: Readonly<Record<string, StorageRefusal>> = {
  EACCES: "not-writable",
  EPERM: "not-writable",
  EROFS: "not-writable",
  ENOTDIR: "not-writable",
};

/** Every refusal, for telling a StorageError's code apart. */
const REFUSALS: Readonly<Record<StorageRefusal, true>> = {
  "credentials-rejected": true,
  "access-denied": true,
  "no-bucket": true,
  "no-credentials": true,
  "not-writable": true,
  "host-key-unknown": true,
  "host-key-mismatch": true,
};

export function isRefusal(code: string): code is StorageRefusal {
  return Object.hasOwn(REFUSALS, code);
}

export function classifyRefusal(err: unknown): StorageRefusal | undefined {
  for (const value of errorChain(err)) {
    const e = value as { name?: unknown; code?: unknown; $metadata?: { httpStatusCode?: unknown } };
    for (const code of [e.code, e.name]) {
      if (typeof code !== "string") continue;
      // A backend that made its own refusal (SFTP) already names it.
      if (isRefusal(code)) return code;
      const kind = BY_S3_CODE[code] ?? BY_AZURE_CODE[code] ?? BY_ERRNO[code];
      if (kind !== undefined) return kind;
    }
    if (e.$metadata?.httpStatusCode === 403) return "access-denied";
  }
  return undefined;
}

export function isDefiniteRefusal(err: unknown): boolean {
  return classifyRefusal(err) !== undefined;
}

/** What a refusal means and what to do, for the S3 store's errors and doctor alike. */
export function refusalAdvice(kind: StorageRefusal, bucket: string): { cause: string; fix: string } {
  const keys =
    "config access-key-id/secret-access-key, LITESTREAM_ACCESS_KEY_ID/LITESTREAM_SECRET_ACCESS_KEY or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY";
  switch (kind) {
    case "credentials-rejected":
    case "access-denied":
      return {
        cause: "the server rejected the credentials, or they may not use this bucket",
        fix: `check the access key and secret (${keys}), and that they may list and write the bucket "${bucket}"`,
      };
    case "no-bucket":
      return {
        cause: `the bucket "${bucket}" does not exist on this server`,
        fix: `create the bucket "${bucket}" or fix the bucket name in the replica URL`,
      };
    case "no-credentials":
      return {
        cause: "no credentials were found",
        fix: "set LITESTREAM_ACCESS_KEY_ID and LITESTREAM_SECRET_ACCESS_KEY, or access-key-id in the config",
      };
    case "host-key-unknown":
      return {
        cause: "the SSH server's host key is not in known_hosts, so walship cannot tell it from an impostor",
        fix: "add the server's line to known_hosts (the error shows it), or set host-key-fingerprint",
      };
    case "host-key-mismatch":
      return {
        cause:
          "the SSH server's host key differs from the one in known_hosts: a reinstalled server, or someone in between",
        fix: "check the server's key on the server itself; if it changed, replace its line in known_hosts",
      };
    case "not-writable":
      return {
        cause: "this user may not write the replica directory",
        fix: "give the directory to walship's user (the application's), or add it to ReadWritePaths= in the systemd unit",
      };
  }
}
