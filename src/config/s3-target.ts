/**
 * Builds an S3 target from a bucket location and explicit settings, applying walship's precedence:
 * an explicit endpoint (URL query or config key) wins, then the endpoint the URL host implies, then
 * the environment; the region comes from explicit settings, else from a recognised provider host.
 * `skip-verify` and `ca-file` make an endpoint whose scheme was not written `https`.
 */

import { type EndpointSpec, endpointHostname, endpointUrl, parseEndpoint } from "./endpoint.ts";
import type { EnvLookup } from "./env-expand.ts";
import { ConfigError } from "./errors.ts";
import { cleanPath } from "./posix-path.ts";
import { ENDPOINT_ENV_VARS, type EndpointSource, type S3Settings, type S3Target } from "./replica-target.ts";
import { matchProviderEndpoint } from "./s3-providers.ts";

/** Bucket and key prefix, plus what the URL host implied. */
export interface S3Location {
  bucket: string;
  /** Key prefix, already cleaned by `cleanKeyPrefix`. */
  path: string;
  /** Endpoint implied by the URL itself, if any. */
  urlEndpoint?: EndpointSpec;
  /** See `S3Target.ambiguousHost`; only kept when no explicit endpoint is given. */
  ambiguousHost: boolean;
}

/** Explicit settings and where their endpoint came from. */
export interface ExplicitS3Settings extends S3Settings {
  endpointSource?: "query" | "config";
}

/** Reports a contradiction in the settings; never returns. */
export type S3TargetFail = (reason: string, hint: string) => never;

/** Combines a location with explicit settings and the environment into the final target. */
export function resolveS3Target(
  location: S3Location,
  explicit: ExplicitS3Settings,
  env: EnvLookup,
  fail: S3TargetFail,
): S3Target {
  let spec: EndpointSpec | undefined;
  let endpointSource: EndpointSource | undefined;
  if (explicit.endpoint !== undefined) {
    spec = explicit.endpoint;
    endpointSource = explicit.endpointSource ?? "config";
  } else if (location.urlEndpoint !== undefined) {
    spec = location.urlEndpoint;
    endpointSource = "url";
  } else {
    const fromEnv = endpointFromEnv(env);
    if (fromEnv !== undefined) {
      spec = fromEnv.endpoint;
      endpointSource = `env:${fromEnv.name}`;
    }
  }
  if (spec !== undefined && endpointSource !== undefined)
    spec = withTlsSettings(spec, endpointSource, explicit, fail);
  const endpoint = spec === undefined ? undefined : endpointUrl(spec);

  const provider = endpoint === undefined ? undefined : matchProviderEndpoint(endpointHostname(endpoint));
  // When an explicit endpoint replaces a provider host, Litestream keeps the host's region.
  const urlProvider =
    location.urlEndpoint === undefined
      ? undefined
      : matchProviderEndpoint(endpointHostname(endpointUrl(location.urlEndpoint)));
  const region = explicit.region ?? provider?.region ?? urlProvider?.region;

  const target: S3Target = {
    type: "s3",
    bucket: location.bucket,
    path: location.path,
    // A custom endpoint means path-style unless the user says otherwise (Litestream does the same).
    forcePathStyle: explicit.forcePathStyle ?? endpoint !== undefined,
    skipVerify: explicit.skipVerify ?? false,
    ambiguousHost: location.ambiguousHost && explicit.endpoint === undefined,
  };
  if (explicit.caFile !== undefined) target.caFile = explicit.caFile;
  if (endpoint !== undefined) target.endpoint = endpoint;
  if (endpointSource !== undefined) target.endpointSource = endpointSource;
  if (region !== undefined) target.region = region;
  if (provider !== undefined) target.provider = provider.provider;
  return target;
}

/**
 * `skip-verify` and `ca-file` only mean something over TLS: they make an endpoint whose scheme was
 * not written `https` (the blog-post MinIO: `endpoint: 192.168.1.10:9000` with `skip-verify: true`).
 * A written `http://` with them is a contradiction only the user can resolve, so it is refused rather
 * than half-obeyed: either the server speaks HTTPS and the scheme is wrong, or the setting is moot.
 */
function withTlsSettings(
  spec: EndpointSpec,
  source: EndpointSource,
  explicit: ExplicitS3Settings,
  fail: S3TargetFail,
): EndpointSpec {
  const setting =
    explicit.skipVerify === true ? "skip-verify" : explicit.caFile !== undefined ? "ca-file" : undefined;
  if (setting === undefined || spec.scheme === "https") return spec;
  if (spec.schemeWritten) {
    fail(
      `the endpoint ${endpointUrl(spec)} (from ${describeSource(source)}) is plain HTTP, but ${setting} only applies to HTTPS`,
      `write the endpoint as https://${spec.host} if the server speaks HTTPS, or remove ${setting}`,
    );
  }
  return { ...spec, scheme: "https" };
}

function describeSource(source: EndpointSource): string {
  if (source === "url") return "the URL";
  if (source === "query") return "?endpoint=";
  if (source === "config") return "the endpoint key";
  return source.slice("env:".length);
}

/**
 * Normalises an S3 key prefix: no leading slash (Litestream 0.3.13 kept one from a `path:` key,
 * which broke its listings), no trailing slash, no empty or `.` segments; "" for the bucket root.
 */
export function cleanKeyPrefix(path: string): string {
  // Cleaned as an absolute path, so that `..` (say a decoded `..%2F`) cannot survive above the root.
  const cleaned = cleanPath(`/${path}`).replace(/^\/+/, "");
  return cleaned === "." ? "" : cleaned;
}

/** Says what is wrong with a bucket name, or returns undefined when it is usable. */
export function bucketNameProblem(bucket: string): string | undefined {
  if (bucket === "") return "the bucket name is empty";
  if (bucket.includes("/")) return `the bucket name "${bucket}" contains "/"`;
  if (/\s/.test(bucket)) return `the bucket name "${bucket}" contains whitespace`;
  if (bucket.includes(":")) return `the bucket name "${bucket}" contains ":"`;
  // S3-compatible stores accept at most these; anything else is usually a leftover `$VAR`.
  if (!/^[A-Za-z0-9._-]+$/.test(bucket)) {
    return `the bucket name "${bucket}" may only contain letters, digits, ".", "-" and "_"`;
  }
  return undefined;
}

function endpointFromEnv(
  env: EnvLookup,
): { name: (typeof ENDPOINT_ENV_VARS)[number]; endpoint: EndpointSpec } | undefined {
  for (const name of ENDPOINT_ENV_VARS) {
    const value = env(name)?.trim();
    if (value === undefined || value === "") continue;
    try {
      return { name, endpoint: parseEndpoint(value, "http-if-local") };
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new ConfigError(`Cannot use the S3 endpoint from ${name}: ${reason}`, {
        hint: `set ${name} to an endpoint such as https://s3.example.com, or unset it`,
        cause: error,
      });
    }
  }
  return undefined;
}
