/**
 * Whether a storage failure is a definite answer that waiting cannot change: the server rejected the
 * credentials or the signature, denied access, or has no such bucket; or no credentials exist at all; or
 * the directory refuses this user. Anything else (refused connections, timeouts, DNS, 5xx, resets) may
 * heal by itself: the storage may simply not be up yet.
 */

/** S3 error codes (the SDK's error `name`/`code`) that are the server's final word on this request. */
const DEFINITE_S3_CODES = new Set([
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "AccessDenied",
  "NoSuchBucket",
  // HeadBucket (the AWS region lookup) answers without a body: only the status names what happened.
  "Forbidden",
  "NotFound",
  // The SDK found no credentials anywhere: no request was sent, and none will be until the config changes.
  "CredentialsProviderError",
]);

/** A directory replica that this user may not write is as final as a rejected key. */
const DEFINITE_ERRNO_CODES = new Set(["EACCES", "EPERM", "EROFS", "ENOTDIR"]);

interface Failure {
  name?: unknown;
  code?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  cause?: unknown;
}

export function isDefiniteRefusal(err: unknown): boolean {
  // A StorageError wraps the SDK's or the file system's error as its cause.
  for (let e = err, depth = 0; e && typeof e === "object" && depth < 5; e = (e as Failure).cause, depth++) {
    const f = e as Failure;
    if (f.$metadata?.httpStatusCode === 403) return true;
    for (const code of [f.name, f.code]) {
      if (typeof code !== "string") continue;
      if (DEFINITE_S3_CODES.has(code) || DEFINITE_ERRNO_CODES.has(code)) return true;
    }
  }
  return false;
}
