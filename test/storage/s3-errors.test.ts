import { describe, expect, test } from "bun:test";
import type { S3StoreOptions } from "../../src/storage/s3.ts";
import { ambiguityHint, describeS3Error } from "../../src/storage/s3-errors.ts";

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
