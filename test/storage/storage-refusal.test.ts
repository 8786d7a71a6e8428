import { describe, expect, test } from "bun:test";
import { StorageError } from "../../src/storage/object-store.ts";
import { classifyRefusal, isDefiniteRefusal } from "../../src/storage/storage-refusal.ts";

/** An error shaped as the AWS SDK throws it, wrapped as S3Store wraps it. */
function s3Failure(name: string, status?: number, code?: string): StorageError {
  const cause = Object.assign(new Error(`${name} happened`), {
    name,
    ...(code ? { code } : {}),
    ...(status ? { $metadata: { httpStatusCode: status } } : {}),
  });
  return new StorageError(`Cannot list: ${name}`, "list", "", undefined, { cause });
}

function fileFailure(code: string): StorageError {
  const cause = Object.assign(new Error(`${code}: no`), { code });
  return new StorageError(`Cannot put: ${code}`, "put", "k", undefined, { cause });
}

describe("which start-up failures are definite", () => {
  test("the server's final word, or no credentials at all", () => {
    for (const err of [
      s3Failure("InvalidAccessKeyId", 403),
      s3Failure("SignatureDoesNotMatch", 403),
      s3Failure("AccessDenied", 403),
      s3Failure("Forbidden", 403),
      s3Failure("NoSuchBucket", 404),
      s3Failure("NotFound", 404),
      s3Failure("CredentialsProviderError"),
      fileFailure("EACCES"),
      fileFailure("EROFS"),
    ]) {
      expect({ err: err.message, definite: isDefiniteRefusal(err) }).toEqual({
        err: err.message,
        definite: true,
      });
    }
  });

  test("anything that may heal by itself", () => {
    for (const err of [
      s3Failure("Error", undefined, "ECONNREFUSED"),
      s3Failure("Error", undefined, "ENOTFOUND"),
      s3Failure("Error", undefined, "EAI_AGAIN"),
      s3Failure("TimeoutError"),
      s3Failure("InternalError", 500),
      s3Failure("SlowDown", 503),
      s3Failure("Error", undefined, "ECONNRESET"),
      fileFailure("EIO"),
      new Error("no answer"),
    ]) {
      expect({ err: err.message, definite: isDefiniteRefusal(err) }).toEqual({
        err: err.message,
        definite: false,
      });
    }
  });
});

describe("Azure Blob Storage's codes", () => {
  /** An error shaped as @azure/storage-blob's RestError: the service's x-ms-error-code as `code`. */
  function azureFailure(code: string, statusCode: number): Error {
    return Object.assign(new Error(`${code} happened`), { name: "RestError", code, statusCode });
  }

  test("a missing container, a wrong key and a denial are final", () => {
    expect(classifyRefusal(azureFailure("ContainerNotFound", 404))).toBe("no-bucket");
    expect(classifyRefusal(azureFailure("AuthenticationFailed", 403))).toBe("credentials-rejected");
    expect(classifyRefusal(azureFailure("AuthorizationFailure", 403))).toBe("access-denied");
    expect(classifyRefusal(azureFailure("AuthorizationPermissionMismatch", 403))).toBe("access-denied");
  });

  test("a missing blob and a busy server are not", () => {
    expect(classifyRefusal(azureFailure("BlobNotFound", 404))).toBeUndefined();
    expect(classifyRefusal(azureFailure("ServerBusy", 503))).toBeUndefined();
    expect(classifyRefusal(azureFailure("InternalError", 500))).toBeUndefined();
  });
});
