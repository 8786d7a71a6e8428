import { describe, expect, test } from "bun:test";
import { findCredentials, resolveCredentials } from "../../src/config/credentials.ts";

const litestreamEnv: Record<string, string> = {
  LITESTREAM_ACCESS_KEY_ID: "env-id",
  LITESTREAM_SECRET_ACCESS_KEY: "env-secret",
  AWS_ACCESS_KEY_ID: "aws-id",
};

describe("findCredentials (config keys, then LITESTREAM_*, then the AWS SDK chain)", () => {
  test("config keys win over the environment", () => {
    const found = findCredentials(
      { accessKeyId: "cfg-id", secretAccessKey: "cfg-secret" },
      (n) => litestreamEnv[n],
    );
    expect(found).toEqual({
      source: "config",
      credentials: { accessKeyId: "cfg-id", secretAccessKey: "cfg-secret" },
    });
  });

  test("one config key is enough to win", () => {
    const found = findCredentials({ accessKeyId: "cfg-id" }, (n) => litestreamEnv[n]);
    expect(found).toEqual({ source: "config", credentials: { accessKeyId: "cfg-id" } });
  });

  test("LITESTREAM_* variables come next", () => {
    const found = findCredentials({}, (n) => litestreamEnv[n]);
    expect(found).toEqual({
      source: "litestream-env",
      credentials: { accessKeyId: "env-id", secretAccessKey: "env-secret" },
    });
  });

  test("otherwise nothing is set and the AWS SDK's chain decides (AWS_* is its business)", () => {
    const found = findCredentials({}, (n) => (n.startsWith("AWS_") ? litestreamEnv[n] : undefined));
    expect(found).toEqual({ source: "sdk-chain", credentials: {} });
    expect(resolveCredentials({}, () => undefined)).toEqual({});
  });
});
