/**
 * The network failure classifier, by the codes Node and Bun set (shapes as Bun 1.4 produces them
 * through the AWS SDK, see test/cli/network-errors.test.ts for the real ones), and the advice table.
 */
import { describe, expect, test } from "bun:test";
import { networkAdvice } from "../../src/storage/network-advice.ts";
import { classifyNetworkError, type NetworkFailure } from "../../src/storage/network-error.ts";
import { StorageError } from "../../src/storage/object-store.ts";

function withCode(code: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(`some text that is never read (${code})`), { code, ...extra });
}

/** As the S3 layer wraps it: StorageError -> SDK error. */
function wrapped(cause: unknown): StorageError {
  return new StorageError("Cannot list", "list", "generations/", undefined, { cause });
}

describe("classifyNetworkError", () => {
  test.each<[string, unknown, NetworkFailure | undefined]>([
    ["ERR_SSL_WRONG_VERSION_NUMBER", withCode("ERR_SSL_WRONG_VERSION_NUMBER"), "tls-wrong-version"],
    ["ERR_SSL_PACKET_LENGTH_TOO_LONG", withCode("ERR_SSL_PACKET_LENGTH_TOO_LONG"), "tls-wrong-version"],
    ["SELF_SIGNED_CERT_IN_CHAIN", withCode("SELF_SIGNED_CERT_IN_CHAIN"), "tls-untrusted"],
    ["DEPTH_ZERO_SELF_SIGNED_CERT", withCode("DEPTH_ZERO_SELF_SIGNED_CERT"), "tls-untrusted"],
    ["UNABLE_TO_VERIFY_LEAF_SIGNATURE", withCode("UNABLE_TO_VERIFY_LEAF_SIGNATURE"), "tls-untrusted"],
    ["UNABLE_TO_GET_ISSUER_CERT_LOCALLY", withCode("UNABLE_TO_GET_ISSUER_CERT_LOCALLY"), "tls-untrusted"],
    ["ERR_TLS_CERT_ALTNAME_INVALID", withCode("ERR_TLS_CERT_ALTNAME_INVALID"), "tls-hostname"],
    ["CERT_HAS_EXPIRED", withCode("CERT_HAS_EXPIRED"), "tls-expired"],
    ["another ERR_SSL_ code", withCode("ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE"), "tls-other"],
    ["another X509 code", withCode("CERT_REVOKED"), "tls-other"],
    ["ECONNREFUSED", withCode("ECONNREFUSED", { errno: -111, syscall: "connect" }), "refused"],
    ["ENOTFOUND (Bun's DNSException)", withCode("ENOTFOUND", { name: "DNSException" }), "dns"],
    ["EAI_AGAIN", withCode("EAI_AGAIN"), "dns"],
    ["ETIMEDOUT", withCode("ETIMEDOUT"), "timeout"],
    [
      "the SDK's connection timeout (a name, no code)",
      Object.assign(new Error("x"), { name: "TimeoutError" }),
      "timeout",
    ],
    // The SDK renames a reset socket TimeoutError; the code says what it is.
    ["a socket hang up", withCode("ECONNRESET", { name: "TimeoutError" }), "reset"],
    ["EHOSTUNREACH", withCode("EHOSTUNREACH"), "unreachable"],
    [
      "an HTTP 400 the SDK could not read as S3",
      Object.assign(new Error("x"), { $metadata: { httpStatusCode: 400 } }),
      "http-not-s3",
    ],
    [
      "an S3 error response",
      Object.assign(new Error("x"), {
        name: "InvalidAccessKeyId",
        $fault: "client",
        $metadata: { httpStatusCode: 403 },
      }),
      undefined,
    ],
    ["a file error", withCode("EACCES"), undefined],
    [
      "a message that only reads like a TLS failure",
      new Error("wrong version number, packet length too long"),
      undefined,
    ],
    ["not an error at all", "ECONNREFUSED", undefined],
    ["nothing", undefined, undefined],
  ])("%s", (_name, err, kind) => {
    expect(classifyNetworkError(err)?.kind).toBe(kind);
  });

  test("walks cause chains, as the S3 layer wraps errors", () => {
    expect(classifyNetworkError(wrapped(withCode("DEPTH_ZERO_SELF_SIGNED_CERT")))).toEqual({
      kind: "tls-untrusted",
      code: "DEPTH_ZERO_SELF_SIGNED_CERT",
    });
    const outer = new Error("Cannot reach replica", { cause: wrapped(withCode("ECONNREFUSED")) });
    expect(classifyNetworkError(outer)?.kind).toBe("refused");
  });

  test("reads an AggregateError's errors (Node's happy-eyeballs connect)", () => {
    const aggregate = new AggregateError(
      [withCode("ECONNREFUSED"), withCode("ECONNREFUSED")],
      "connect failed",
    );
    expect(classifyNetworkError(aggregate)?.kind).toBe("refused");
  });

  test("a code beats an outer TimeoutError name", () => {
    const outer = Object.assign(new Error("x"), { name: "TimeoutError", cause: withCode("ECONNREFUSED") });
    expect(classifyNetworkError(outer)?.kind).toBe("refused");
  });

  test("the HTTP status is kept for http-not-s3", () => {
    const err = wrapped(Object.assign(new Error("x"), { $metadata: { httpStatusCode: 502 } }));
    expect(classifyNetworkError(err)).toEqual({ kind: "http-not-s3", code: "HTTP 502", status: 502 });
  });

  test("a cyclic cause chain ends", () => {
    const a: Error & { cause?: unknown } = new Error("a");
    const b = new Error("b", { cause: a });
    a.cause = b;
    expect(classifyNetworkError(a)).toBeUndefined();
  });
});

describe("networkAdvice", () => {
  const endpoint = "http://10.0.0.5:9000";
  test.each<[NetworkFailure, string, number | undefined, string, string]>([
    [
      "tls-wrong-version",
      "https://10.0.0.5:9000",
      undefined,
      "speaks plain HTTP, not HTTPS",
      "write the endpoint as http://10.0.0.5:9000",
    ],
    [
      "http-not-s3",
      endpoint,
      400,
      "as an HTTPS port does to plain HTTP",
      "write the endpoint as https://10.0.0.5:9000",
    ],
    ["http-not-s3", "https://10.0.0.5:9001", 403, "it is not an S3 API", "MinIO serves S3 on port 9000"],
    ["http-not-s3", "https://10.0.0.5", 502, "no working S3 server behind it", "behind the proxy"],
    [
      "reset",
      endpoint,
      undefined,
      "as an HTTPS port does to plain HTTP",
      "write the endpoint as https://10.0.0.5:9000",
    ],
    [
      "reset",
      "https://10.0.0.5:9000",
      undefined,
      "closed the connection without answering",
      "walship doctor",
    ],
    ["tls-untrusted", "https://10.0.0.5:9000", undefined, "not signed by a CA this host trusts", "ca-file"],
    ["tls-hostname", "https://10.0.0.5:9000", undefined, "not for 10.0.0.5", "a name the certificate lists"],
    ["tls-expired", "https://10.0.0.5:9000", undefined, "expired", "renew"],
    ["tls-other", "https://10.0.0.5:9000", undefined, "TLS handshake with 10.0.0.5:9000 failed", "TLS setup"],
    [
      "refused",
      endpoint,
      undefined,
      "nothing is listening on port 9000 of 10.0.0.5",
      "MinIO's S3 API listens on 9000",
    ],
    [
      "dns",
      "https://minio.lan",
      undefined,
      "minio.lan does not resolve",
      "check the host name in the endpoint",
    ],
    ["timeout", "https://minio.lan", undefined, "no answer from minio.lan:443 in time", "reachable"],
    ["unreachable", endpoint, undefined, "no route to 10.0.0.5", "this host's network"],
  ])("%s at %s (status %p)", (kind, at, status, cause, fix) => {
    const advice = networkAdvice(
      { kind, code: "X", ...(status === undefined ? {} : { status }) },
      { endpoint: at },
    );
    expect(advice.cause).toContain(cause);
    expect(advice.fix).toContain(fix);
  });

  test("every kind has advice with an unknown endpoint, with no endpoint made up", () => {
    const kinds: NetworkFailure[] = [
      "tls-wrong-version",
      "tls-untrusted",
      "tls-hostname",
      "tls-expired",
      "tls-other",
      "http-not-s3",
      "reset",
      "refused",
      "dns",
      "timeout",
      "unreachable",
    ];
    for (const kind of kinds) {
      const advice = networkAdvice({ kind, code: "X", status: 400 }, { unknown: true });
      expect(advice.cause).not.toBe("");
      expect(advice.fix).not.toBe("");
      expect(`${advice.cause} ${advice.fix}`).not.toMatch(/undefined|AWS S3/);
    }
    expect(networkAdvice({ kind: "tls-wrong-version", code: "X" }, { unknown: true }).fix).toContain(
      "http://HOST:PORT",
    );
  });
});
