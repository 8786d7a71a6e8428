/**
 * Static S3 credentials and the order in which walship looks for them, as Litestream 0.3.13 does: the
 * config file's keys, then the LITESTREAM_* variables, then the AWS SDK's default chain. The S3 layer and
 * `doctor` both ask here, so what doctor reports is what a request uses.
 */
import type { EnvLookup } from "./env-expand.ts";

/** Secret: never logged, printed or put in an error. */
export interface Credentials {
  accessKeyId?: string | undefined;
  secretAccessKey?: string | undefined;
}

/**
 * Where the credentials came from: the config file's keys, the LITESTREAM_* variables, or nowhere that
 * walship reads itself (the AWS SDK's default chain then finds them: AWS_* variables, profiles, web
 * identity, container and instance roles).
 */
export type CredentialSource = "config" | "litestream-env" | "sdk-chain";

/**
 * The credentials to open a replica with, and their source. Static keys win when either is set, as in
 * Litestream.
 */
export function findCredentials(
  fromConfig: Credentials,
  env: EnvLookup,
): { source: CredentialSource; credentials: Credentials } {
  if (fromConfig.accessKeyId || fromConfig.secretAccessKey)
    return { source: "config", credentials: fromConfig };
  const id = env("LITESTREAM_ACCESS_KEY_ID");
  const secret = env("LITESTREAM_SECRET_ACCESS_KEY");
  if (id || secret)
    return { source: "litestream-env", credentials: { accessKeyId: id, secretAccessKey: secret } };
  return { source: "sdk-chain", credentials: {} };
}

/** The credentials to open a replica with; empty means the AWS SDK's default chain (see findCredentials). */
export function resolveCredentials(fromConfig: Credentials, env: EnvLookup): Credentials {
  return findCredentials(fromConfig, env).credentials;
}
