import { describe, expect, test } from "bun:test";
import { StorageError, type StorageErrorCode } from "../../src/storage/object-store.ts";
import type { S3StoreOptions } from "../../src/storage/s3.ts";
import { ambiguityHint, describeS3Error } from "../../src/storage/s3-errors.ts";
import { storageAdvice } from "../../src/storage/storage-advice.ts";

const ambiguous: S3StoreOptions = {
  bucket: "s3.example.com",
  prefix: "litestream/qt.db",
  forcePathStyle: false,
  skipVerify: false,
  ambiguousHost: true,
};

function sdkError(name: string, status?: number, code?: string) {
  return Object.assign(new Error(`${name} happened`), {
    name,
    ...(code ? { code } : {}),
    ...(status ? { $metadata: { httpStatusCode: status } } : {}),
  });
}

describe("S3 errors say what was understood and what was probably meant", () => {
  const failures = {
    "403": sdkError("InvalidAccessKeyId", 403),
    "404": sdkError("NoSuchBucket", 404),
    "301": sdkError("PermanentRedirect", 301),
    dns: sdkError("Error", undefined, "ENOTFOUND"),
    timeout: sdkError("TimeoutError"),
  };
  for (const [kind, err] of Object.entries(failures)) {
    test(`ambiguous host, ${kind}`, () => {
      const e = describeS3Error(err, "list", "generations/", ambiguous);
      expect(e.message).toContain("bucket=s3.example.com endpoint=AWS");
      expect(e.hint).toContain("https://s3.example.com/litestream/qt.db");
      expect(e.hint).toContain("s3://litestream/qt.db?endpoint=s3.example.com");
    });
  }

  test("without ambiguity the hint names the likely fix", () => {
    const opts: S3StoreOptions = {
      bucket: "b",
      prefix: "p",
      endpoint: "http://127.0.0.1:9",
      forcePathStyle: true,
      skipVerify: false,
    };
    expect(describeS3Error(failures["403"], "list", "", opts).hint).toContain("access key");
    expect(describeS3Error(failures["404"], "list", "", opts).hint).toContain('create the bucket "b"');
    expect(describeS3Error(failures.dns, "list", "", opts).hint).toContain(
      "check the host name in the endpoint",
    );
  });

  test("a bucket-root URL still gets a usable suggestion", () => {
    expect(ambiguityHint("s3.example.com", "")).toContain("s3://BUCKET/PATH?endpoint=s3.example.com");
  });
});

describe("the code says what happened, read once from the SDK's and the runtime's codes", () => {
  const opts: S3StoreOptions = {
    bucket: "b",
    prefix: "p",
    endpoint: "https://127.0.0.1:9000",
    forcePathStyle: true,
    skipVerify: false,
  };
  /** An S3 error answer as the SDK shapes it. */
  const answer = (name: string, status: number) =>
    Object.assign(sdkError(name, status), { $fault: status >= 500 ? "server" : "client" });
  test.each<[string, unknown, StorageErrorCode]>([
    ["no such bucket", answer("NoSuchBucket", 404), "no-bucket"],
    ["access denied", answer("AccessDenied", 403), "access-denied"],
    ["a key the server does not know", answer("InvalidAccessKeyId", 403), "credentials-rejected"],
    [
      "a self-signed certificate",
      sdkError("Error", undefined, "DEPTH_ZERO_SELF_SIGNED_CERT"),
      "tls-untrusted",
    ],
    [
      "HTTPS to a plain HTTP port",
      sdkError("Error", undefined, "ERR_SSL_WRONG_VERSION_NUMBER"),
      "tls-wrong-version",
    ],
    ["nothing listening", sdkError("Error", undefined, "ECONNREFUSED"), "refused"],
    ["a name that does not resolve", sdkError("Error", undefined, "ENOTFOUND"), "dns"],
    ["the SDK's timeout", sdkError("TimeoutError"), "timeout"],
    ["a server error", answer("InternalError", 500), "storage-failed"],
  ])("%s", (_what, err, code) => {
    const e = describeS3Error(err, "list", "generations/", opts);
    expect(e).toBeInstanceOf(StorageError);
    expect(e.code).toBe(code);
    expect({ operation: e.operation, subject: e.subject }).toEqual({
      operation: "list",
      subject: "generations/",
    });
    // The hint is the shared advice for the code, so doctor (which chooses by the code too) says the same.
    const advice = storageAdvice(code, { bucket: "b", at: { endpoint: opts.endpoint! }, status: e.status });
    if (advice !== undefined) expect(e.hint).toBe(advice.fix);
  });

  test("a StorageError made without a code reads it from its cause; wrapping keeps it", () => {
    const refused = Object.assign(new Error("connect failed"), { code: "ECONNREFUSED" });
    const inner = new StorageError("Cannot list", "list", "", undefined, { cause: refused });
    expect(inner.code).toBe("refused");
    expect(new StorageError("Cannot use replica", "list", "", undefined, { cause: inner }).code).toBe(
      "refused",
    );
    expect(new StorageError("Cannot list", "list", "").code).toBe("storage-failed");
  });
});
