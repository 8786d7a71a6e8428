/**
 * What an S3 failure means, for the user: the SDK's or the network's error turned into a StorageError
 * whose message says what was understood and whose hint says what to do.
 */
import { networkAdvice } from "./network-advice.ts";
import { classifyNetworkError } from "./network-error.ts";
import { StorageError } from "./object-store.ts";
import type { S3StoreOptions } from "./s3.ts";
import { classifyRefusal, refusalAdvice } from "./storage-refusal.ts";

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

/** Maps an SDK or network failure to a StorageError whose message says what was understood. */
export function describeS3Error(err: unknown, op: string, key: string, opts: S3StoreOptions): StorageError {
  const e = (err ?? {}) as SdkError;
  const status = e.$metadata?.httpStatusCode;
  const code = e.code ?? e.name ?? "Error";
  const where = `bucket=${opts.bucket} endpoint=${opts.endpoint ?? "AWS"}`;
  let detail = status ? `${code} (HTTP ${status})` : `${code}: ${e.message ?? String(err)}`;
  let hint: string | undefined;
  const refusal = classifyRefusal(err);
  const network = classifyNetworkError(err);
  if (refusal !== undefined) {
    hint = refusalAdvice(refusal, opts.bucket).fix;
  } else if (network !== undefined) {
    const advice = networkAdvice(network, opts.endpoint ? { endpoint: opts.endpoint } : { aws: true });
    // What it means first; the runtime's own words (which name the certificate's hosts, say) after.
    detail = `${advice.cause} (${network.kind === "http-not-s3" ? network.code : detail})`;
    hint = advice.fix;
  } else {
    hint =
      "walship doctor checks the replica step by step: walship doctor URL, or walship doctor -config FILE";
  }
  if (opts.ambiguousHost) hint = ambiguityHint(opts.bucket, opts.prefix);
  return new StorageError(
    `Cannot ${op} ${key ? `"${key}" ` : ""}on S3 (${where}): ${detail}`,
    op,
    key,
    hint,
    {
      cause: err,
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
