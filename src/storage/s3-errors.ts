/**
 * What an S3 failure means, for the user: the SDK's or the network's error turned into a StorageError
 * whose message says what was understood and whose hint says what to do.
 */
import { classifyNetworkError } from "./network-error.ts";
import { StorageError, storageFailureCode } from "./object-store.ts";
import type { S3StoreOptions } from "./s3.ts";
import { storageAdvice } from "./storage-advice.ts";

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/** The SDK's "no such key" (GetObject) or "not found" (HeadObject, HeadBucket). */
export function isNotFound(err: unknown): boolean {
  const e = err as SdkError | undefined;
  return e?.name === "NoSuchKey" || e?.name === "NotFound" || e?.$metadata?.httpStatusCode === 404;
}

/**
 * Maps an SDK or network failure to a StorageError whose message says what was understood, whose code
 * says what happened (read here, once, from the SDK's and the runtime's codes) and whose hint is the
 * advice for that code.
 */
export function describeS3Error(err: unknown, op: string, key: string, opts: S3StoreOptions): StorageError {
  const e = (err ?? {}) as SdkError;
  const status = e.$metadata?.httpStatusCode;
  const name = e.code ?? e.name ?? "Error";
  const where = `bucket=${opts.bucket} endpoint=${opts.endpoint ?? "AWS"}`;
  let detail = status ? `${name} (HTTP ${status})` : `${name}: ${e.message ?? String(err)}`;
  const network = classifyNetworkError(err);
  const code = storageFailureCode(err) ?? "storage-failed";
  const advice = storageAdvice(code, {
    bucket: opts.bucket,
    at: opts.endpoint ? { endpoint: opts.endpoint } : { aws: true },
    status: network?.status,
  });
  if (advice !== undefined && network?.kind === code) {
    // What it means first; the runtime's own words (which name the certificate's hosts, say) after.
    detail = `${advice.cause} (${network.kind === "http-not-s3" ? network.code : detail})`;
  }
  const hint = opts.ambiguousHost
    ? ambiguityHint(opts.bucket, opts.prefix)
    : (advice?.fix ??
      "walship doctor checks the replica step by step: walship doctor URL, or walship doctor -config FILE");
  return new StorageError(
    `Cannot ${op} ${key ? `"${key}" ` : ""}on S3 (${where}): ${detail}`,
    op,
    key,
    hint,
    {
      cause: err,
      code,
      status: network?.status ?? status,
    },
  );
}

/**
 * For `s3://HOST/FIRST/REST` with a dotted HOST and no endpoint, HOST was taken as an AWS bucket (as
 * Litestream does); the user more likely meant a server at HOST with bucket FIRST.
 */
export function ambiguityHint(host: string, prefix: string): string {
  const slash = prefix.indexOf("/");
  const first = slash < 0 ? prefix : prefix.slice(0, slash);
  const rest = slash < 0 ? "" : prefix.slice(slash + 1);
  const alt = first ? `s3://${first}/${rest}?endpoint=${host}` : `s3://BUCKET/PATH?endpoint=${host}`;
  return `"${host}" was read as an AWS bucket name; did you mean https://${host}/${prefix} or ${alt}`;
}
