import { expect, test } from "bun:test";
import { endpointUrl, isLocalHostname, parseEndpoint } from "../../src/config/endpoint.ts";

/** The endpoint URL of `written`, with walship's URL-form default for a missing scheme. */
const normalizeEndpoint = (written: string) => endpointUrl(parseEndpoint(written, "http-if-local"));

test.each([
  ["localhost", true],
  ["LOCALHOST", true],
  ["minio.localhost", true],
  ["nas.local", true],
  ["127.0.0.1", true],
  ["10.255.0.1", true],
  ["172.15.0.1", false],
  ["172.16.0.1", true],
  ["192.168.0.1", true],
  ["169.254.1.1", true],
  ["8.8.8.8", false],
  ["[::1]", true],
  ["[fd00::1]", true],
  ["[fe80::1]", true],
  ["[2001:db8::1]", false],
  ["s3.amazonaws.com", false],
  ["minio", false],
])("isLocalHostname(%s) is %p", (host, expected) => {
  expect(isLocalHostname(host)).toBe(expected);
});

test("normalizeEndpoint keeps an explicit scheme and drops a default port and trailing slash", () => {
  expect(normalizeEndpoint("https://S3.Example.com:443/")).toBe("https://s3.example.com");
  expect(normalizeEndpoint("http://localhost:9000")).toBe("http://localhost:9000");
  expect(normalizeEndpoint("localhost:9000")).toBe("http://localhost:9000");
});

test("normalizeEndpoint rejects what cannot be an endpoint, without echoing credentials", () => {
  expect(() => normalizeEndpoint("")).toThrow("the endpoint is empty");
  expect(() => normalizeEndpoint("ftp://x")).toThrow('the endpoint scheme must be http or https, not "ftp"');
  expect(() => normalizeEndpoint("https://host/bucket")).toThrow("without a path or query");
  expect(() => normalizeEndpoint("https://key:secret@host")).toThrow(
    "the endpoint must not contain credentials",
  );
  expect(() => normalizeEndpoint("host:99999")).toThrow("not a valid host[:port] or URL");
});

test.each([
  // [written, scheme default, parsed]
  ["192.168.1.10:9000", "https", { host: "192.168.1.10:9000", scheme: "https", schemeWritten: false }],
  ["192.168.1.10:9000", "http-if-local", { host: "192.168.1.10:9000", scheme: "http", schemeWritten: false }],
  ["S3.Example.com", "http-if-local", { host: "s3.example.com", scheme: "https", schemeWritten: false }],
  ["localhost:9000", "http", { host: "localhost:9000", scheme: "http", schemeWritten: false }],
  ["http://10.0.0.5:9000", "https", { host: "10.0.0.5:9000", scheme: "http", schemeWritten: true }],
  ["HTTPS://h:443/", "http-if-local", { host: "h", scheme: "https", schemeWritten: true }],
  // A scheme-less port stays as written, whatever scheme it ends up with.
  ["10.0.0.5:80", "https", { host: "10.0.0.5:80", scheme: "https", schemeWritten: false }],
  ["[::1]:9000", "http-if-local", { host: "[::1]:9000", scheme: "http", schemeWritten: false }],
] as const)("parseEndpoint(%s, %s)", (written, schemeDefault, parsed) => {
  expect(parseEndpoint(written, schemeDefault)).toEqual(parsed);
});

test("endpointUrl drops only the chosen scheme's default port", () => {
  expect(endpointUrl({ host: "10.0.0.5:80", scheme: "https", schemeWritten: false })).toBe(
    "https://10.0.0.5:80",
  );
  expect(endpointUrl({ host: "10.0.0.5:443", scheme: "https", schemeWritten: false })).toBe(
    "https://10.0.0.5",
  );
});
