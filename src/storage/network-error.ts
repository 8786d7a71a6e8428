/**
 * What kind of failure stopped a conversation with a server, read from the `code` that Node and Bun put
 * on socket, DNS and TLS errors (and the `name` and `$metadata` the AWS SDK adds), walking `cause`
 * chains. Never from message text: messages differ between runtimes, TLS libraries and versions.
 */

import { errorChain } from "./error-chain.ts";

export type NetworkFailure =
  /** HTTPS to a server that answered in plain HTTP (OpenSSL/BoringSSL "wrong version number"). */
  | "tls-wrong-version"
  /** The certificate chain ends in a CA this host does not trust: self-signed, or a private CA. */
  | "tls-untrusted"
  /** The certificate is valid but for other names. */
  | "tls-hostname"
  /** The certificate has expired or is not valid yet. */
  | "tls-expired"
  /** Any other TLS failure. */
  | "tls-other"
  /** An HTTP answer without an S3 error in it: not an S3 API (a TLS port answering plain HTTP, a console, a proxy). */
  | "http-not-s3"
  /** The server closed the connection without an answer (what a TLS port does to plain HTTP). */
  | "reset"
  | "refused"
  | "dns"
  | "timeout"
  | "unreachable";

export interface ClassifiedFailure {
  kind: NetworkFailure;
  /** The code it was recognised by (`ECONNREFUSED`, `HTTP 400`, ...), for messages. */
  code: string;
  /** The HTTP status, for `http-not-s3`. */
  status?: number;
}

/** By `code`, as Node and Bun set it. */
const BY_CODE: Readonly<Record<string, NetworkFailure>> = {
  ERR_SSL_WRONG_VERSION_NUMBER: "tls-wrong-version",
  // OpenSSL's reading of "HTTP/1.1 400" as a TLS record header.
  ERR_SSL_PACKET_LENGTH_TOO_LONG: "tls-wrong-version",
  SELF_SIGNED_CERT_IN_CHAIN: "tls-untrusted",
  DEPTH_ZERO_SELF_SIGNED_CERT: "tls-untrusted",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "tls-untrusted",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "tls-untrusted",
  UNABLE_TO_GET_ISSUER_CERT: "tls-untrusted",
  CERT_UNTRUSTED: "tls-untrusted",
  ERR_TLS_CERT_ALTNAME_INVALID: "tls-hostname",
  HOSTNAME_MISMATCH: "tls-hostname",
  IP_ADDRESS_MISMATCH: "tls-hostname",
  CERT_HAS_EXPIRED: "tls-expired",
  CERT_NOT_YET_VALID: "tls-expired",
  EPROTO: "tls-other",
  ECONNRESET: "reset",
  EPIPE: "reset",
  ECONNABORTED: "reset",
  ECONNREFUSED: "refused",
  ENOTFOUND: "dns",
  EAI_AGAIN: "dns",
  EAI_NONAME: "dns",
  EAI_NODATA: "dns",
  EAI_FAIL: "dns",
  ETIMEDOUT: "timeout",
  ESOCKETTIMEDOUT: "timeout",
  EHOSTUNREACH: "unreachable",
  ENETUNREACH: "unreachable",
  EHOSTDOWN: "unreachable",
  ENETDOWN: "unreachable",
};

/** Other TLS and certificate codes: Node's `ERR_SSL_*`/`ERR_TLS_*` and OpenSSL's X509 `CERT_*` names. */
const TLS_CODE = /^(ERR_SSL_|ERR_TLS_|CERT_)/;

/**
 * Classifies `err` or anything in its `cause` chain (and an AggregateError's `errors`); undefined when
 * nothing in it is a network failure. The first recognised error from the outside in wins, by code
 * before name: the SDK renames a reset socket "TimeoutError" but keeps its `ECONNRESET`.
 */
export function classifyNetworkError(err: unknown): ClassifiedFailure | undefined {
  let timeoutByName: ClassifiedFailure | undefined;
  for (const value of errorChain(err)) {
    const e = value as { code?: unknown; name?: unknown };
    const byCode = classifyCode(e.code);
    if (byCode !== undefined) return byCode;
    const notS3 = notAnS3Answer(value);
    if (notS3 !== undefined) return notS3;
    // The SDK's own connect and request timeouts carry only this name.
    if (e.name === "TimeoutError") timeoutByName ??= { kind: "timeout", code: "TimeoutError" };
  }
  return timeoutByName;
}

function classifyCode(code: unknown): ClassifiedFailure | undefined {
  if (typeof code !== "string") return undefined;
  const kind = BY_CODE[code] ?? (TLS_CODE.test(code) ? "tls-other" : undefined);
  return kind === undefined ? undefined : { kind, code };
}

/**
 * An SDK error with an HTTP status but no `$fault`: the SDK found no S3 error in the body (a Go or
 * nginx TLS port answering plain HTTP says 400 in text or HTML). Every S3 error response, even one
 * without a body (HeadObject's 404), gets a `$fault`.
 */
function notAnS3Answer(value: object): ClassifiedFailure | undefined {
  const e = value as { $metadata?: { httpStatusCode?: unknown }; $fault?: unknown };
  const status = e.$metadata?.httpStatusCode;
  if (typeof status !== "number" || status < 400 || e.$fault !== undefined) return undefined;
  return { kind: "http-not-s3", code: `HTTP ${status}`, status };
}
