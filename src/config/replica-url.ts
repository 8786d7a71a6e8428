/**
 * The replica URL grammar (DESIGN.md §5). Every URL Litestream 0.3.13 accepted keeps its meaning;
 * walship adds `?endpoint=`, `https://HOST/BUCKET/PATH` and `s3://IP-or-HOST:PORT/BUCKET/PATH`.
 *
 * | form | target |
 * |---|---|
 * | `/abs`, `./rel`, `rel/dir`, `~/dir`, `file:///abs` (`file://a/b` is `/a/b`) | directory |
 * | `s3://BUCKET/PATH` | AWS, or the endpoint from AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL / LITESTREAM_S3_ENDPOINT |
 * | `s3://BUCKET/PATH?endpoint=HOST[:PORT]&region=R&force-path-style=B&skip-verify=B` | that endpoint |
 * | `http(s)://HOST[:PORT]/BUCKET/PATH` | path-style endpoint `http(s)://HOST[:PORT]` |
 * | `s3://BUCKET.PROVIDER-HOST/PATH`, `s3://PROVIDER-HOST/BUCKET/PATH` | see s3-providers.ts |
 * | `s3://IP[:PORT]/BUCKET/PATH`, `s3://HOST:PORT/BUCKET/PATH` | endpoint `HOST[:PORT]` |
 * | `sftp://USER[:PASSWORD]@HOST[:PORT]/PATH[?host-key-fingerprint=…]` | see sftp-target.ts |
 * | `abs://ACCOUNT@CONTAINER/PATH[?endpoint=URL]` | see abs-target.ts |
 */

import { type AbsSettings, parseAbsUrl, resolveAbsTarget } from "./abs-target.ts";
import { didYouMean } from "./did-you-mean.ts";
import { type EndpointSpec, isIpAddress, parseEndpoint, type SchemeDefault } from "./endpoint.ts";
import type { EnvLookup } from "./env-expand.ts";
import { ReplicaUrlError, redactUrl } from "./errors.ts";
import { cleanPath, expandPath } from "./posix-path.ts";
import type { ReplicaTarget, S3Settings } from "./replica-target.ts";
import { matchProviderBucketHost, matchProviderEndpoint } from "./s3-providers.ts";
import {
  bucketNameProblem,
  cleanKeyPrefix,
  type ExplicitS3Settings,
  resolveS3Target,
  type S3Location,
} from "./s3-target.ts";
import { parseSftpUrl, resolveSftpTarget, type SftpSettings } from "./sftp-target.ts";

export interface ReplicaUrlOptions {
  /** Directory that relative file paths are resolved against. */
  cwd: string;
  /** Home directory for `~`. */
  home: string;
  /** Environment lookup for the endpoint fallback; none by default. */
  env?: EnvLookup;
  /**
   * S3 settings from config keys beside `url` (`endpoint`, `region`, ...). A setting given both
   * here and in the URL query must agree.
   */
  settings?: S3Settings;
  /** SFTP keys beside `url` (`user`, `password`, `key-path`, host key settings); they win over the URL's. */
  sftp?: SftpSettings;
  /** Azure keys beside `url` (`account-name`, `account-key`, `endpoint`); they win over the URL's. */
  abs?: AbsSettings;
}

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/;

/** `scheme://...`: a replica URL rather than a path (what the CLI and the config's `path:` check). */
export function isReplicaUrl(input: string): boolean {
  return /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(input);
}
/** The storage type a replica URL names by its scheme; undefined for a scheme walship does not know. */
export function replicaUrlType(input: string): ReplicaTarget["type"] | undefined {
  const scheme = SCHEME.exec(input)?.[1]?.toLowerCase();
  if (scheme === undefined || scheme === "file") return "file";
  if (scheme === "s3" || scheme === "http" || scheme === "https") return "s3";
  if (scheme === "sftp" || scheme === "abs") return scheme;
  return undefined;
}

const SUPPORTED_SCHEMES = ["file", "s3", "https", "http", "sftp", "abs"];
// Litestream 0.3.13 backends that walship does not have yet.
const LATER_SCHEMES: Readonly<Record<string, string>> = {
  gcs: "s3://BUCKET/PATH?endpoint=storage.googleapis.com (GCS with HMAC keys)",
  gs: "s3://BUCKET/PATH?endpoint=storage.googleapis.com (GCS with HMAC keys)",
};
const QUERY_KEYS: Readonly<Record<string, Exclude<keyof S3Settings, "caFile">>> = {
  endpoint: "endpoint",
  region: "region",
  "force-path-style": "forcePathStyle",
  forcePathStyle: "forcePathStyle",
  "skip-verify": "skipVerify",
  skipVerify: "skipVerify",
};
// Litestream 0.5 query parameters: recognised so the error says "not supported yet", not "unknown".
const LATER_QUERY_KEYS = new Set([
  "sign-payload",
  "signPayload",
  "require-content-md5",
  "requireContentMD5",
  "concurrency",
  "part-size",
  "partSize",
  "storage-class",
  "storageClass",
  "sse-customer-key",
  "sse-customer-algorithm",
  "sse-kms-key-id",
]);

/**
 * Parses a replica URL or directory path into a target.
 *
 * @throws ReplicaUrlError naming the URL (without userinfo), with a hint showing a valid form
 */
export function parseReplicaUrl(input: string, options: ReplicaUrlOptions): ReplicaTarget {
  const fail: Fail = (reason, hint) => {
    throw new ReplicaUrlError(input, reason, { hint });
  };
  if (input.trim() === "")
    fail("it is empty", "give a directory such as /var/backups/app or s3://BUCKET/PATH");

  const scheme = SCHEME.exec(input)?.[1]?.toLowerCase();
  if (scheme === undefined) return parseSchemelessPath(input, options, fail);
  if (scheme === "file") return parseFileUrl(input, options, fail);
  if (scheme === "s3" || scheme === "http" || scheme === "https")
    return parseS3Url(input, scheme, options, fail);
  if (scheme === "sftp")
    return resolveSftpTarget(parseSftpUrl(input, fail), options.sftp ?? {}, options, fail);
  if (scheme === "abs") return resolveAbsTarget(parseAbsUrl(input, fail), options.abs ?? {}, fail);

  const later = LATER_SCHEMES[scheme];
  if (later !== undefined) fail(`the "${scheme}" scheme is not supported yet`, `use ${later}`);
  const suggestion = didYouMean(scheme, SUPPORTED_SCHEMES);
  return fail(
    `unknown scheme "${scheme}"`,
    suggestion === undefined
      ? "use s3://BUCKET/PATH, https://HOST/BUCKET/PATH or a directory such as /var/backups/app"
      : `use ${suggestion}:// instead of ${scheme}://`,
  );
}

type Fail = (reason: string, hint: string) => never;

function parseSchemelessPath(input: string, options: ReplicaUrlOptions, fail: Fail): ReplicaTarget {
  // A bare word is as likely a bucket as a directory; Litestream rejects it too.
  const looksLikePath = input.includes("/") || input === "~" || input === "." || input === "..";
  if (!looksLikePath) {
    const shown = redactUrl(input);
    fail(
      "it has no scheme, so it is neither a path nor a URL",
      `write ./${shown} for a directory, or s3://${shown}/PATH for a bucket`,
    );
  }
  return { type: "file", path: expandPath(input, options) };
}

function parseFileUrl(input: string, options: ReplicaUrlOptions, fail: Fail): ReplicaTarget {
  // Litestream cleans everything after "file:", so file://foo/bar is /foo/bar (no host part).
  const cleaned = cleanPath(input.slice("file:".length));
  if (cleaned === "/" || cleaned === ".") {
    fail("it names no directory", "use file:///var/backups/app or /var/backups/app");
  }
  return { type: "file", path: expandPath(cleaned, options) };
}

function parseS3Url(input: string, scheme: string, options: ReplicaUrlOptions, fail: Fail): ReplicaTarget {
  const example = scheme === "s3" ? "s3://BUCKET/PATH" : `${scheme}://HOST[:PORT]/BUCKET/PATH`;
  if (!input.slice(scheme.length + 1).startsWith("//")) {
    fail(`"${scheme}:" must be followed by "//"`, `use ${example}`);
  }
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return fail("it is not a valid URL", `use ${example}`);
  }
  if (url.username !== "" || url.password !== "") {
    fail(
      "credentials in the URL are not used",
      "remove the user:password@ part and set access-key-id/secret-access-key in the config, " +
        "or LITESTREAM_ACCESS_KEY_ID/LITESTREAM_SECRET_ACCESS_KEY",
    );
  }
  if (url.hash !== "") fail('it contains a "#" fragment', `use ${example}; percent-encode "#" as %23`);

  const segments = decodePathSegments(url.pathname, fail, example);
  const query = parseQuery(url.searchParams, fail);
  const explicit = mergeSettings(query, options.settings ?? {}, fail);
  const env = options.env ?? (() => undefined);
  // WHATWG keeps `[...]` around IPv6 hosts, which is also how they appear in an endpoint.
  const hostname = url.hostname;
  const hostPort = url.port === "" ? hostname : `${hostname}:${url.port}`;

  if (scheme !== "s3") {
    if (query.endpoint !== undefined) {
      fail("an http(s) URL already names its endpoint, so ?endpoint= is not allowed", `use ${example}`);
    }
    if (options.settings?.endpoint !== undefined) {
      fail(
        "an http(s) URL already names its endpoint, so the endpoint key is not allowed with it",
        "remove the endpoint key, or use url: s3://BUCKET/PATH with endpoint",
      );
    }
    const bucketHost = matchProviderBucketHost(hostname);
    if (bucketHost !== undefined && bucketHost.provider !== "localhost") {
      const path = segments.join("/");
      fail(
        `"${hostname}" is a bucket-specific host, but http(s) URLs are read as ${scheme}://HOST/BUCKET/PATH`,
        `use ${scheme}://${bucketHost.endpointHost}/${bucketHost.bucket}/${path} or s3://${hostname}/${path}`,
      );
    }
    const endpoint = { text: `${scheme}://${hostPort}`, schemeDefault: "https" as const };
    return bucketFromFirstSegment(segments, endpoint, explicit, env, fail, example);
  }

  if (hostname === "") fail("the bucket name is empty", "use s3://BUCKET/PATH");

  // 1. Litestream's host forms: a provider endpoint host, or BUCKET.<provider endpoint host>.
  // Their scheme is implied, not written: skip-verify or ca-file still make it https.
  const providerHost = matchProviderEndpoint(hostname);
  if (providerHost !== undefined) {
    const endpoint = {
      text: withPort(providerHost.endpointHost, url.port),
      schemeDefault: providerHost.scheme,
    };
    return bucketFromFirstSegment(segments, endpoint, explicit, env, fail, `s3://${hostPort}/BUCKET/PATH`);
  }
  const bucketHost = matchProviderBucketHost(hostname);
  if (bucketHost !== undefined) {
    const endpoint = { text: withPort(bucketHost.endpointHost, url.port), schemeDefault: bucketHost.scheme };
    return s3Target(bucketHost.bucket, segments, endpoint, false, explicit, env, fail);
  }
  // 2. A host that cannot be a bucket name (an IP address, or anything with a port) is an endpoint.
  if (url.port !== "" || isIpAddress(hostname)) {
    const endpoint = { text: hostPort, schemeDefault: "http-if-local" as const };
    return bucketFromFirstSegment(segments, endpoint, explicit, env, fail, `s3://${hostPort}/BUCKET/PATH`);
  }
  // 3. Otherwise the host is the bucket, as in Litestream, even when it has dots.
  return s3Target(hostname, segments, undefined, hostname.includes("."), explicit, env, fail);
}

/** The endpoint a URL names by its form, before parsing. */
interface UrlEndpoint {
  text: string;
  schemeDefault: SchemeDefault;
}

function bucketFromFirstSegment(
  segments: string[],
  endpoint: UrlEndpoint,
  explicit: ExplicitS3Settings,
  env: EnvLookup,
  fail: Fail,
  example: string,
): ReplicaTarget {
  const [bucket = "", ...rest] = segments;
  if (bucket === "")
    fail("the bucket name is missing: the first path segment names the bucket", `use ${example}`);
  return s3Target(bucket, rest, endpoint, false, explicit, env, fail);
}

function s3Target(
  bucket: string,
  segments: string[],
  endpoint: UrlEndpoint | undefined,
  ambiguousHost: boolean,
  explicit: ExplicitS3Settings,
  env: EnvLookup,
  fail: Fail,
): ReplicaTarget {
  const problem = bucketNameProblem(bucket);
  if (problem !== undefined) fail(problem, "use s3://BUCKET/PATH");
  let urlEndpoint: EndpointSpec | undefined;
  if (endpoint !== undefined) {
    try {
      urlEndpoint = parseEndpoint(endpoint.text, endpoint.schemeDefault);
    } catch (error) {
      fail(error instanceof Error ? error.message : String(error), "use s3://HOST:PORT/BUCKET/PATH");
    }
  }
  const location: S3Location = { bucket, path: cleanKeyPrefix(segments.join("/")), ambiguousHost };
  if (urlEndpoint !== undefined) location.urlEndpoint = urlEndpoint;
  return resolveS3Target(location, explicit, env, fail);
}

function withPort(host: string, port: string): string {
  return port === "" ? host : `${host}:${port}`;
}

/** Splits and percent-decodes the path; Go's url.Parse also decodes before Litestream cleans it. */
function decodePathSegments(pathname: string, fail: Fail, example: string): string[] {
  try {
    return pathname
      .split("/")
      .filter((segment) => segment !== "")
      .map((segment) => decodeURIComponent(segment));
  } catch {
    return fail("its path has an invalid percent-encoding", `use ${example}`);
  }
}

function parseQuery(params: URLSearchParams, fail: Fail): S3Settings {
  const settings: S3Settings = {};
  const seen = new Map<Exclude<keyof S3Settings, "caFile">, string>();
  for (const [name, value] of params) {
    const field = QUERY_KEYS[name];
    if (field === undefined) {
      if (LATER_QUERY_KEYS.has(name)) fail(`the "${name}" parameter is not supported yet`, `remove ${name}`);
      const suggestion = didYouMean(name, Object.keys(QUERY_KEYS));
      fail(
        `unknown parameter "${name}"`,
        suggestion === undefined
          ? "use endpoint, region, force-path-style or skip-verify"
          : `use ${suggestion} instead of ${name}`,
      );
    }
    const previous = seen.get(field);
    if (previous !== undefined)
      fail(`"${name}" is given more than once (also as "${previous}")`, `keep one ${name}`);
    seen.set(field, name);
    if (field === "endpoint") {
      try {
        settings.endpoint = parseEndpoint(value, "http-if-local");
      } catch (error) {
        fail(
          error instanceof Error ? error.message : String(error),
          "use ?endpoint=HOST[:PORT] or ?endpoint=https://HOST",
        );
      }
    } else if (field === "region") {
      if (value === "") fail("the region parameter is empty", "use ?region=us-east-1 or remove it");
      settings.region = value;
    } else {
      settings[field] = parseQueryBool(name, value, fail);
    }
  }
  return settings;
}

/** Go's strconv.ParseBool forms; a bare `?skip-verify` means true. */
function parseQueryBool(name: string, value: string, fail: Fail): boolean {
  if (["", "1", "t", "T", "true", "TRUE", "True"].includes(value)) return true;
  if (["0", "f", "F", "false", "FALSE", "False"].includes(value)) return false;
  return fail(`the ${name} parameter must be true or false, not "${value}"`, `use ${name}=true`);
}

function mergeSettings(query: S3Settings, keys: S3Settings, fail: Fail): ExplicitS3Settings {
  const merged: ExplicitS3Settings = {};
  if (query.endpoint !== undefined && keys.endpoint !== undefined) {
    const [inQuery, inKeys] = [writtenEndpoint(query.endpoint), writtenEndpoint(keys.endpoint)];
    if (inQuery !== inKeys) {
      fail(
        `endpoint is "${inQuery}" in the URL but "${inKeys}" in the endpoint key`,
        "give endpoint in one place only",
      );
    }
  }
  for (const field of ["region", "forcePathStyle", "skipVerify"] as const) {
    const fromQuery = query[field];
    const fromKeys = keys[field];
    if (fromQuery !== undefined && fromKeys !== undefined && fromQuery !== fromKeys) {
      const name = KEY_NAMES[field];
      fail(
        `${name} is "${fromQuery}" in the URL but "${fromKeys}" in the ${name} key`,
        `give ${name} in one place only`,
      );
    }
  }
  // The same endpoint in both places gets the config key's default scheme, as Litestream reads the file.
  const endpoint = keys.endpoint ?? query.endpoint;
  if (endpoint !== undefined) {
    merged.endpoint = endpoint;
    merged.endpointSource = keys.endpoint !== undefined ? "config" : "query";
  }
  const region = query.region ?? keys.region;
  if (region !== undefined) merged.region = region;
  const forcePathStyle = query.forcePathStyle ?? keys.forcePathStyle;
  if (forcePathStyle !== undefined) merged.forcePathStyle = forcePathStyle;
  const skipVerify = query.skipVerify ?? keys.skipVerify;
  if (skipVerify !== undefined) merged.skipVerify = skipVerify;
  // Only a config key sets a CA file: a URL names where data goes, not how to trust it.
  if (keys.caFile !== undefined) merged.caFile = keys.caFile;
  return merged;
}

/** An endpoint as the user wrote it (scheme only if written), for comparing two of them. */
function writtenEndpoint(spec: EndpointSpec): string {
  return spec.schemeWritten ? `${spec.scheme}://${spec.host}` : spec.host;
}

const KEY_NAMES: Readonly<Record<keyof S3Settings, string>> = {
  endpoint: "endpoint",
  region: "region",
  forcePathStyle: "force-path-style",
  skipVerify: "skip-verify",
  caFile: "ca-file",
};
