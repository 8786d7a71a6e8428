import { describe, expect, test } from "bun:test";
import { parseEndpoint } from "../../src/config/endpoint.ts";
import { ConfigError, ReplicaUrlError } from "../../src/config/errors.ts";
import type { ReplicaTarget, S3Target } from "../../src/config/replica-target.ts";
import { parseReplicaUrl, type ReplicaUrlOptions } from "../../src/config/replica-url.ts";

const noEnv = () => undefined;
const base: ReplicaUrlOptions = { cwd: "/work/app", home: "/home/u", env: noEnv };

function parse(url: string, options: Partial<ReplicaUrlOptions> = {}): ReplicaTarget {
  return parseReplicaUrl(url, { ...base, ...options });
}

function s3(url: string, options: Partial<ReplicaUrlOptions> = {}): S3Target {
  const target = parse(url, options);
  if (target.type !== "s3") throw new Error(`expected an s3 target for ${url}`);
  return target;
}

function parseError(url: string, options: Partial<ReplicaUrlOptions> = {}): ReplicaUrlError {
  try {
    parse(url, options);
  } catch (error) {
    if (error instanceof ReplicaUrlError) return error;
    throw error;
  }
  throw new Error(`expected ${url} to be rejected`);
}

describe("directory replicas", () => {
  test("file:///abs/path", () => {
    expect(parse("file:///var/backups/app")).toEqual({ type: "file", path: "/var/backups/app" });
  });
  test("/abs/path", () => {
    expect(parse("/var/backups/app/")).toEqual({ type: "file", path: "/var/backups/app" });
  });
  test("./rel resolves against cwd", () => {
    expect(parse("./backups")).toEqual({ type: "file", path: "/work/app/backups" });
  });
  test("rel/with/slash resolves against cwd", () => {
    expect(parse("backups/app")).toEqual({ type: "file", path: "/work/app/backups/app" });
  });
  test("~/dir uses the home directory", () => {
    expect(parse("~/backups")).toEqual({ type: "file", path: "/home/u/backups" });
  });
  test("file://foo/bar is /foo/bar, as in Litestream", () => {
    expect(parse("file://foo/bar")).toEqual({ type: "file", path: "/foo/bar" });
  });
  test("file:rel is relative to cwd", () => {
    expect(parse("file:backups")).toEqual({ type: "file", path: "/work/app/backups" });
  });
  test("a bare word is rejected with a hint", () => {
    const error = parseError("backups");
    expect(error.message).toBe(
      'Cannot parse replica URL "backups": it has no scheme, so it is neither a path nor a URL',
    );
    expect(error.hint).toContain("./backups");
    expect(error).toBeInstanceOf(ConfigError);
  });
  test("file:// without a path is rejected", () => {
    expect(parseError("file://").reason).toBe("it names no directory");
  });
});

describe("s3://BUCKET/PATH (AWS)", () => {
  test("bucket and prefix", () => {
    expect(s3("s3://mybkt/app/db")).toEqual({
      type: "s3",
      bucket: "mybkt",
      path: "app/db",
      forcePathStyle: false,
      skipVerify: false,
      ambiguousHost: false,
    });
  });
  test("s3://bkt has an empty prefix (Litestream's '.')", () => {
    expect(s3("s3://bkt").path).toBe("");
    expect(s3("s3://bkt/").path).toBe("");
  });
  test("the prefix is cleaned like path.Clean", () => {
    expect(s3("s3://bkt//a//b/").path).toBe("a/b");
    expect(s3("s3://bkt/a/./b/../c").path).toBe("a/c");
  });
  test("the prefix is percent-decoded", () => {
    expect(s3("s3://bkt/my%20app/db").path).toBe("my app/db");
  });
});

describe("s3://BUCKET/PATH?endpoint=...", () => {
  test("all parameters", () => {
    expect(
      s3("s3://mybkt/db?endpoint=s3.example.com&region=eu-1&force-path-style=false&skip-verify=true"),
    ).toEqual({
      type: "s3",
      bucket: "mybkt",
      path: "db",
      endpoint: "https://s3.example.com",
      endpointSource: "query",
      region: "eu-1",
      forcePathStyle: false,
      skipVerify: true,
      ambiguousHost: false,
    });
  });
  test("camelCase parameters", () => {
    const target = s3("s3://mybkt/db?endpoint=https://s3.example.com&forcePathStyle=false&skipVerify=1");
    expect(target.forcePathStyle).toBe(false);
    expect(target.skipVerify).toBe(true);
  });
  test("an endpoint implies path-style", () => {
    expect(s3("s3://mybkt/db?endpoint=s3.example.com").forcePathStyle).toBe(true);
  });
  test.each([
    ["localhost:9000", "http://localhost:9000"],
    ["127.0.0.1:9000", "http://127.0.0.1:9000"],
    ["127.9.8.7", "http://127.9.8.7"],
    ["[::1]:9000", "http://[::1]:9000"],
    ["10.1.2.3:9000", "http://10.1.2.3:9000"],
    ["172.16.0.1", "http://172.16.0.1"],
    ["172.31.255.1", "http://172.31.255.1"],
    ["172.32.0.1", "https://172.32.0.1"],
    ["192.168.1.10:9000", "http://192.168.1.10:9000"],
    ["nas.local:9000", "http://nas.local:9000"],
    ["minio.localhost:9000", "http://minio.localhost:9000"],
    ["s3.example.com", "https://s3.example.com"],
    ["minio:9000", "https://minio:9000"],
    ["http://s3.example.com:8080", "http://s3.example.com:8080"],
    ["https://10.0.0.1", "https://10.0.0.1"],
  ])("scheme-less endpoint %s becomes %s", (given, expected) => {
    expect(s3(`s3://bkt/db?endpoint=${given}`).endpoint).toBe(expected);
  });
  test("a dotted bucket with an endpoint is not ambiguous", () => {
    const target = s3("s3://my.bucket/db?endpoint=s3.example.com");
    expect(target.bucket).toBe("my.bucket");
    expect(target.ambiguousHost).toBe(false);
  });
  test("region is inferred from a provider endpoint", () => {
    expect(s3("s3://bkt/db?endpoint=s3.eu-central-003.backblazeb2.com")).toMatchObject({
      endpoint: "https://s3.eu-central-003.backblazeb2.com",
      region: "eu-central-003",
      provider: "backblaze-b2",
    });
  });
  test("Cloudflare R2 endpoint gets region auto", () => {
    const account = "0123456789abcdef0123456789abcdef";
    expect(s3(`s3://bkt/db?endpoint=${account}.r2.cloudflarestorage.com`)).toMatchObject({
      bucket: "bkt",
      endpoint: `https://${account}.r2.cloudflarestorage.com`,
      region: "auto",
      provider: "cloudflare-r2",
      forcePathStyle: true,
    });
  });
  test("an explicit region beats the inferred one", () => {
    expect(s3("s3://bkt/db?endpoint=fly.storage.tigris.dev&region=iad").region).toBe("iad");
  });
  test("an unknown parameter gets a did-you-mean", () => {
    const error = parseError("s3://bkt/db?endpont=s3.example.com");
    expect(error.reason).toBe('unknown parameter "endpont"');
    expect(error.hint).toBe("use endpoint instead of endpont");
  });
  test("Litestream 0.5 parameters are not supported yet", () => {
    expect(parseError("s3://bkt/db?sign-payload=true").reason).toBe(
      'the "sign-payload" parameter is not supported yet',
    );
  });
  test("a bad boolean is rejected", () => {
    expect(parseError("s3://bkt/db?skip-verify=maybe").reason).toContain("must be true or false");
  });
  test("a parameter given twice is rejected", () => {
    expect(parseError("s3://bkt/db?force-path-style=true&forcePathStyle=false").reason).toContain(
      "more than once",
    );
  });
  test("an endpoint with a path is rejected", () => {
    expect(parseError("s3://bkt/db?endpoint=https://s3.example.com/bkt").reason).toContain("without a path");
  });
});

describe("http(s)://HOST[:PORT]/BUCKET/PATH", () => {
  test("https with a port", () => {
    expect(s3("https://s3.example.com:8443/mybkt/app/db")).toEqual({
      type: "s3",
      bucket: "mybkt",
      path: "app/db",
      endpoint: "https://s3.example.com:8443",
      endpointSource: "url",
      forcePathStyle: true,
      skipVerify: false,
      ambiguousHost: false,
    });
  });
  test("http keeps http, even for a public name", () => {
    expect(s3("http://s3.example.com/mybkt/db").endpoint).toBe("http://s3.example.com");
  });
  test("query settings apply", () => {
    expect(s3("https://minio.internal/bkt/db?region=eu-west-1&skip-verify=true")).toMatchObject({
      region: "eu-west-1",
      skipVerify: true,
    });
  });
  test("a provider endpoint host gets its region", () => {
    expect(s3("https://nyc3.digitaloceanspaces.com/bkt/db")).toMatchObject({
      bucket: "bkt",
      region: "nyc3",
      provider: "digitalocean-spaces",
    });
  });
  test("the bucket is required", () => {
    const error = parseError("https://s3.example.com/");
    expect(error.reason).toContain("the bucket name is missing");
    expect(error.hint).toBe("use https://HOST[:PORT]/BUCKET/PATH");
  });
  test("?endpoint= is not allowed", () => {
    expect(parseError("https://a.example.com/bkt?endpoint=b.example.com").reason).toContain(
      "already names its endpoint",
    );
  });
  test("a bucket-specific provider host is explained", () => {
    const error = parseError("https://bkt.s3.us-west-000.backblazeb2.com/db");
    expect(error.reason).toContain("bucket-specific host");
    expect(error.hint).toBe(
      "use https://s3.us-west-000.backblazeb2.com/bkt/db or s3://bkt.s3.us-west-000.backblazeb2.com/db",
    );
  });
});

describe("s3://IP-or-HOST:PORT/BUCKET/PATH", () => {
  test("s3://IP:PORT/BUCKET/PATH", () => {
    expect(s3("s3://127.0.0.1:9000/bkt/app/db")).toMatchObject({
      bucket: "bkt",
      path: "app/db",
      endpoint: "http://127.0.0.1:9000",
      endpointSource: "url",
      forcePathStyle: true,
    });
  });
  test("s3://IP/BUCKET/PATH without a port", () => {
    expect(s3("s3://10.0.0.5/bkt/db")).toMatchObject({ bucket: "bkt", endpoint: "http://10.0.0.5" });
  });
  test("s3://[IPv6]:PORT/BUCKET/PATH", () => {
    expect(s3("s3://[::1]:9000/bkt/db")).toMatchObject({ bucket: "bkt", endpoint: "http://[::1]:9000" });
  });
  test("s3://HOST:PORT/BUCKET/PATH with a public name is https", () => {
    expect(s3("s3://s3.mydomain.com:9000/mybkt/db")).toMatchObject({
      bucket: "mybkt",
      path: "db",
      endpoint: "https://s3.mydomain.com:9000",
      ambiguousHost: false,
    });
  });
  test("s3://localhost:PORT/BUCKET/PATH", () => {
    expect(s3("s3://localhost:9000/bkt/db")).toMatchObject({
      bucket: "bkt",
      path: "db",
      endpoint: "http://localhost:9000",
      region: "us-east-1",
      provider: "localhost",
    });
  });
  test("s3://localhost/BUCKET/PATH without a port", () => {
    expect(s3("s3://localhost/bkt/db")).toMatchObject({ bucket: "bkt", endpoint: "http://localhost" });
  });
  test("the bucket segment is required", () => {
    const error = parseError("s3://localhost:9000/");
    expect(error.reason).toContain("the bucket name is missing");
    expect(error.hint).toBe("use s3://localhost:9000/BUCKET/PATH");
  });
});

describe("Litestream 0.3.13 ParseHost examples (reference §8.2)", () => {
  test.each([
    ["s3://foo/bar", { bucket: "foo", path: "bar", forcePathStyle: false }],
    [
      "s3://foo.localhost:9000/bar",
      {
        bucket: "foo",
        path: "bar",
        region: "us-east-1",
        endpoint: "http://localhost:9000",
        forcePathStyle: true,
      },
    ],
    [
      "s3://foo.s3.us-west-000.backblazeb2.com/bar",
      {
        bucket: "foo",
        region: "us-west-000",
        endpoint: "https://s3.us-west-000.backblazeb2.com",
        forcePathStyle: true,
      },
    ],
    [
      "s3://foo.nyc3.digitaloceanspaces.com/db",
      {
        bucket: "foo",
        region: "nyc3",
        endpoint: "https://nyc3.digitaloceanspaces.com",
        forcePathStyle: true,
      },
    ],
    [
      "s3://foo.s3.fr-par.scw.cloud/db",
      { bucket: "foo", region: "fr-par", endpoint: "https://s3.fr-par.scw.cloud", forcePathStyle: true },
    ],
    [
      "s3://foo.us-east-1.linodeobjects.com/db",
      {
        bucket: "foo",
        region: "us-east-1",
        endpoint: "https://us-east-1.linodeobjects.com",
        forcePathStyle: true,
      },
    ],
    [
      "s3://foo.s3.filebase.com/db",
      { bucket: "foo", endpoint: "https://s3.filebase.com", forcePathStyle: true },
    ],
    ["s3://mybkt.s3.amazonaws.com/db", { bucket: "mybkt.s3.amazonaws.com", forcePathStyle: false }],
  ] as const)("%s", (url, expected) => {
    const target = s3(url);
    expect(target).toMatchObject(expected);
    if (!("endpoint" in expected)) expect(target.endpoint).toBeUndefined();
    if (!("region" in expected)) expect(target.region).toBeUndefined();
  });
  test("buckets in provider hosts may contain dots", () => {
    expect(s3("s3://my.bkt.s3.us-west-000.backblazeb2.com/db").bucket).toBe("my.bkt");
  });
  test("the endpoint keeps the port", () => {
    expect(s3("s3://foo.s3.us-west-000.backblazeb2.com:8443/db").endpoint).toBe(
      "https://s3.us-west-000.backblazeb2.com:8443",
    );
  });
  test("s3://s3.mydomain.com/mybkt/db is the AWS bucket s3.mydomain.com, flagged ambiguous", () => {
    expect(s3("s3://s3.mydomain.com/mybkt/db")).toEqual({
      type: "s3",
      bucket: "s3.mydomain.com",
      path: "mybkt/db",
      forcePathStyle: false,
      skipVerify: false,
      ambiguousHost: true,
    });
  });
  test("Litestream's unescaped dots are escaped: s3-REGION is not Backblaze", () => {
    expect(s3("s3://foo.s3-us-west-000.backblazeb2.com/db")).toMatchObject({
      bucket: "foo.s3-us-west-000.backblazeb2.com",
      ambiguousHost: true,
    });
  });
});

describe("walship provider hosts", () => {
  const account = "0123456789abcdef0123456789abcdef";
  test("R2 account host with the bucket in the path", () => {
    expect(s3(`s3://${account}.r2.cloudflarestorage.com/bkt/db`)).toMatchObject({
      bucket: "bkt",
      path: "db",
      endpoint: `https://${account}.r2.cloudflarestorage.com`,
      region: "auto",
      provider: "cloudflare-r2",
    });
  });
  test("R2 bucket host with a jurisdiction", () => {
    expect(s3(`s3://my.bkt.${account}.eu.r2.cloudflarestorage.com/db`)).toMatchObject({
      bucket: "my.bkt",
      endpoint: `https://${account}.eu.r2.cloudflarestorage.com`,
      region: "auto",
    });
  });
  test("Hetzner", () => {
    expect(s3("s3://bkt.fsn1.your-objectstorage.com/db")).toMatchObject({
      bucket: "bkt",
      endpoint: "https://fsn1.your-objectstorage.com",
      region: "fsn1",
      provider: "hetzner",
    });
  });
  test("Wasabi with a region", () => {
    expect(s3("s3://bkt.s3.eu-central-1.wasabisys.com/db")).toMatchObject({
      bucket: "bkt",
      endpoint: "https://s3.eu-central-1.wasabisys.com",
      region: "eu-central-1",
      provider: "wasabi",
    });
  });
  test("Wasabi without a region is us-east-1", () => {
    expect(s3("s3://s3.wasabisys.com/bkt/db")).toMatchObject({ bucket: "bkt", region: "us-east-1" });
  });
  test("Tigris fly.storage.tigris.dev", () => {
    expect(s3("s3://bkt.fly.storage.tigris.dev/db")).toMatchObject({
      bucket: "bkt",
      endpoint: "https://fly.storage.tigris.dev",
      region: "auto",
      provider: "tigris",
    });
  });
  test("GCS's S3-compatible API: endpoint storage.googleapis.com, region auto, path-style", () => {
    const expected = {
      bucket: "bkt",
      path: "db",
      endpoint: "https://storage.googleapis.com",
      region: "auto",
      forcePathStyle: true,
      provider: "gcs",
    };
    expect(s3("s3://bkt/db?endpoint=storage.googleapis.com")).toMatchObject(expected);
    expect(s3("https://storage.googleapis.com/bkt/db")).toMatchObject(expected);
    expect(s3("s3://bkt.storage.googleapis.com/db")).toMatchObject({ ...expected, forcePathStyle: true });
  });
  test("Tigris t3.storage.dev with the bucket in the path", () => {
    expect(s3("s3://t3.storage.dev/bkt/db")).toMatchObject({
      bucket: "bkt",
      endpoint: "https://t3.storage.dev",
    });
  });
  test("a Litestream provider endpoint host takes the bucket from the path", () => {
    expect(s3("s3://s3.us-west-000.backblazeb2.com/bkt/db")).toMatchObject({ bucket: "bkt", path: "db" });
  });
});

describe("skip-verify and ca-file imply https", () => {
  test.each([
    ["s3://bkt/db?endpoint=127.0.0.1:9000&skip-verify=true", "https://127.0.0.1:9000"],
    ["s3://127.0.0.1:9000/bkt/db?skip-verify=true", "https://127.0.0.1:9000"],
    ["s3://localhost:9000/bkt/db?skip-verify", "https://localhost:9000"],
    ["s3://bkt.localhost:9000/db?skip-verify=true", "https://localhost:9000"],
    ["s3://10.0.0.5:80/bkt/db?skip-verify=true", "https://10.0.0.5:80"],
    // Without them, walship's own URL forms keep their documented plain-HTTP default for local hosts.
    ["s3://bkt/db?endpoint=127.0.0.1:9000", "http://127.0.0.1:9000"],
    ["s3://127.0.0.1:9000/bkt/db?skip-verify=false", "http://127.0.0.1:9000"],
  ])("%s uses %s", (url, endpoint) => {
    expect(s3(url).endpoint).toBe(endpoint);
  });
  test("a ca-file key makes a scheme-less URL endpoint https", () => {
    const target = s3("s3://10.0.0.5:9000/bkt/db", { settings: { caFile: "/etc/ca.pem" } });
    expect(target).toMatchObject({ endpoint: "https://10.0.0.5:9000", caFile: "/etc/ca.pem" });
  });
  test("a scheme-less environment endpoint with skip-verify is https", () => {
    const target = s3("s3://bkt/db?skip-verify=true", {
      env: (name) => (name === "LITESTREAM_S3_ENDPOINT" ? "localhost:9000" : undefined),
    });
    expect(target.endpoint).toBe("https://localhost:9000");
  });
  test.each([
    ["http://127.0.0.1:9000/bkt/db?skip-verify=true", "the URL"],
    ["s3://bkt/db?endpoint=http://127.0.0.1:9000&skip-verify=true", "?endpoint="],
  ])("%s is refused: plain HTTP contradicts skip-verify", (url, source) => {
    const error = parseError(url);
    expect(error.reason).toBe(
      `the endpoint http://127.0.0.1:9000 (from ${source}) is plain HTTP, but skip-verify only applies to HTTPS`,
    );
    expect(error.hint).toBe(
      "write the endpoint as https://127.0.0.1:9000 if the server speaks HTTPS, or remove skip-verify",
    );
  });
  test("an http:// environment endpoint with skip-verify is refused, naming the variable", () => {
    const error = parseError("s3://bkt/db?skip-verify=true", {
      env: (name) => (name === "AWS_ENDPOINT_URL" ? "http://minio:9000" : undefined),
    });
    expect(error.reason).toContain("(from AWS_ENDPOINT_URL) is plain HTTP");
  });
});

describe("endpoint precedence", () => {
  const env = (values: Record<string, string>) => (name: string) => values[name];
  test("AWS_ENDPOINT_URL_S3 beats AWS_ENDPOINT_URL and LITESTREAM_S3_ENDPOINT", () => {
    const target = s3("s3://bkt/db", {
      env: env({
        AWS_ENDPOINT_URL_S3: "http://first:9000",
        AWS_ENDPOINT_URL: "http://second:9000",
        LITESTREAM_S3_ENDPOINT: "third:9000",
      }),
    });
    expect(target).toMatchObject({
      endpoint: "http://first:9000",
      endpointSource: "env:AWS_ENDPOINT_URL_S3",
      forcePathStyle: true,
    });
  });
  test("AWS_ENDPOINT_URL beats LITESTREAM_S3_ENDPOINT", () => {
    const target = s3("s3://bkt/db", {
      env: env({ AWS_ENDPOINT_URL: "https://second", LITESTREAM_S3_ENDPOINT: "x" }),
    });
    expect(target.endpointSource).toBe("env:AWS_ENDPOINT_URL");
  });
  test("LITESTREAM_S3_ENDPOINT without a scheme follows the scheme rule", () => {
    const target = s3("s3://bkt/db", {
      env: env({ LITESTREAM_S3_ENDPOINT: "localhost:9000", AWS_ENDPOINT_URL: "" }),
    });
    expect(target).toMatchObject({
      endpoint: "http://localhost:9000",
      endpointSource: "env:LITESTREAM_S3_ENDPOINT",
    });
  });
  test("the query endpoint beats the environment", () => {
    const target = s3("s3://bkt/db?endpoint=s3.example.com", {
      env: env({ AWS_ENDPOINT_URL: "http://env:9000" }),
    });
    expect(target).toMatchObject({ endpoint: "https://s3.example.com", endpointSource: "query" });
  });
  test("an endpoint in the URL host beats the environment", () => {
    const target = s3("s3://foo.localhost:9000/db", { env: env({ AWS_ENDPOINT_URL: "http://env:9000" }) });
    expect(target).toMatchObject({ endpoint: "http://localhost:9000", endpointSource: "url" });
  });
  test("the query endpoint beats a provider host, keeping the bucket from the host", () => {
    const target = s3("s3://foo.localhost:9000/db?endpoint=http://127.0.0.1:9001");
    expect(target).toMatchObject({
      bucket: "foo",
      endpoint: "http://127.0.0.1:9001",
      endpointSource: "query",
    });
  });
  test("config settings are used when the query is silent", () => {
    const target = s3("s3://bkt/db", {
      settings: { endpoint: parseEndpoint("https://s3.example.com", "https"), region: "x" },
    });
    expect(target).toMatchObject({
      endpoint: "https://s3.example.com",
      endpointSource: "config",
      region: "x",
    });
  });
  test("a config setting that contradicts the query is rejected", () => {
    const error = parseError("s3://bkt/db?region=a", { settings: { region: "b" } });
    expect(error.reason).toBe('region is "a" in the URL but "b" in the region key');
  });
  test("an invalid environment endpoint names the variable", () => {
    expect(() => s3("s3://bkt/db", { env: env({ AWS_ENDPOINT_URL: "ftp://x" }) })).toThrow(
      "Cannot use the S3 endpoint from AWS_ENDPOINT_URL: the endpoint scheme must be http or https",
    );
  });
  test("the environment endpoint still flags a dotted host as ambiguous", () => {
    expect(
      s3("s3://s3.example.com/bkt/db", { env: env({ AWS_ENDPOINT_URL: "http://x:1" }) }).ambiguousHost,
    ).toBe(true);
  });
});

describe("rejected URLs", () => {
  test("gcs:// is not supported yet", () => {
    const error = parseError("gcs://bkt/db");
    expect(error.message).toBe(
      'Cannot parse replica URL "gcs://bkt/db": the "gcs" scheme is not supported yet',
    );
    expect(error.hint).toContain("s3://BUCKET/PATH?endpoint=storage.googleapis.com");
  });
  test("an unknown scheme gets a did-you-mean", () => {
    const error = parseError("s4://bkt/db");
    expect(error.reason).toBe('unknown scheme "s4"');
    expect(error.hint).toBe("use s3:// instead of s4://");
  });
  test("an empty bucket", () => {
    expect(parseError("s3:///db").reason).toBe("the bucket name is empty");
  });
  test("s3: without //", () => {
    expect(parseError("s3:bkt/db").hint).toBe("use s3://BUCKET/PATH");
  });
  test("garbage", () => {
    expect(parseError("s3://bkt:port/db").reason).toBe("it is not a valid URL");
    expect(parseError("").reason).toBe("it is empty");
  });
  test("a fragment", () => {
    expect(parseError("s3://bkt/db#x").reason).toContain("fragment");
  });
  test("credentials are never echoed", () => {
    const error = parseError("s3://AKIAEXAMPLE:sup3r$ecret@bkt/db");
    expect(error.reason).toBe("credentials in the URL are not used");
    expect(error.url).toBe("s3://bkt/db");
    expect(error.message).not.toContain("sup3r");
    expect(error.message).not.toContain("AKIAEXAMPLE");
  });
  test("credentials behind leading control characters are not echoed, in the hint either", () => {
    // Found by the URL fuzz target: a NUL before the scheme made the URL look scheme-less.
    const error = parseError("\u0000ftp:256.1.1.1ouser:pAss9Word7@m");
    expect(`${error.message}\n${error.hint}`).not.toContain("pAss9Word7");
  });
  test("credentials are removed from other errors too", () => {
    const error = parseError("gcs://user:secret@bkt/db");
    expect(error.message).toBe(
      'Cannot parse replica URL "gcs://bkt/db": the "gcs" scheme is not supported yet',
    );
  });
});
