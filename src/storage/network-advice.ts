/**
 * The one table from a network failure kind to what it most likely means and what to do, shared by
 * the CLI's error lines (through StorageError hints) and `walship doctor`'s steps.
 */
import type { ClassifiedFailure, NetworkFailure } from "./network-error.ts";

export interface Advice {
  /** What most likely happened, in the user's terms. */
  cause: string;
  /** What to do about it. */
  fix: string;
}

/** Where the failure happened: an endpoint URL, AWS S3, or (when the caller cannot tell) neither. */
export type AdviceContext = { endpoint: string } | { aws: true } | { unknown: true };

interface Where {
  /** "the server at host:port", "AWS S3" or "the server". */
  server: string;
  /** `host:port`, "AWS S3" or "the server". */
  hostPort: string;
  /** The host name, "AWS S3" or "the server". */
  host: string;
  /** Absent when not known. */
  port?: string;
  protocol?: "http" | "https";
  aws: boolean;
}

const UNTRUSTED_FIX =
  "give the server's CA with ca-file: /path/ca.pem (or AWS_CA_BUNDLE=/path/ca.pem), or set skip-verify: true (?skip-verify=true in a URL)";

const TABLE: Readonly<Record<NetworkFailure, (w: Where, status: number | undefined) => Advice>> = {
  "tls-wrong-version": (w) => ({
    cause: `${w.server} speaks plain HTTP, not HTTPS`,
    fix: `write the endpoint as ${endpointAs(w, "http")} (without skip-verify or ca-file), or turn TLS on in the server`,
  }),
  "tls-untrusted": () => ({
    cause: "the server's certificate is not signed by a CA this host trusts (self-signed, or a private CA)",
    fix: UNTRUSTED_FIX,
  }),
  "tls-hostname": (w) =>
    w.port === undefined
      ? {
          cause: "the server's certificate is for other host names",
          fix: "use a name the certificate lists in the endpoint, or give the server a certificate for its name",
        }
      : {
          cause: `the server's certificate is not for ${w.host}`,
          fix: `use a name the certificate lists in the endpoint, or give the server a certificate for ${w.host}`,
        },
  "tls-expired": () => ({
    cause: "the server's certificate has expired or is not valid yet",
    fix: "renew the server's certificate, and check that this host's clock is right",
  }),
  "tls-other": (w) => ({
    cause: `the TLS handshake with ${w.hostPort} failed`,
    fix: "check the server's TLS setup; walship doctor shows the handshake step by step",
  }),
  "http-not-s3": (w, status) => {
    const answered = `${w.server} answered HTTP ${status ?? "?"} without an S3 error`;
    if (status === 400 && w.protocol === "http") {
      return {
        cause: `${answered}, as an HTTPS port does to plain HTTP`,
        fix: `write the endpoint as ${endpointAs(w, "https")} (with ca-file or skip-verify: true for a self-signed certificate)`,
      };
    }
    if (status !== undefined && status >= 500) {
      return {
        cause: `${answered}: a proxy or load balancer in front of it has no working S3 server behind it`,
        fix: "check that the S3 server behind the proxy is running",
      };
    }
    return {
      cause: `${answered}: it is not an S3 API`,
      fix: "point the endpoint at the S3 API, not a web console or proxy (MinIO serves S3 on port 9000, its console on 9001)",
    };
  },
  reset: (w) =>
    w.protocol === "http"
      ? {
          cause: `${w.server} closed the connection without answering, as an HTTPS port does to plain HTTP`,
          fix: `if the server speaks HTTPS, write the endpoint as ${endpointAs(w, "https")}; otherwise check the server's log`,
        }
      : {
          cause: `${w.server} closed the connection without answering`,
          fix: "check that the server is running and that the endpoint is its S3 port; walship doctor checks it step by step",
        },
  refused: (w) => ({
    cause: `nothing is listening on ${w.port === undefined ? "that port" : `port ${w.port}`} of ${w.host}`,
    fix: "check the port in the endpoint and that the server is running (MinIO's S3 API listens on 9000 by default)",
  }),
  dns: (w) =>
    w.aws
      ? { cause: "the S3 host name does not resolve", fix: "check this host's DNS and network" }
      : {
          cause:
            w.port === undefined ? "the server's host name does not resolve" : `${w.host} does not resolve`,
          fix: "check the host name in the endpoint and this host's DNS; for a server on this machine use 127.0.0.1",
        },
  timeout: (w) => ({
    cause: `no answer from ${w.hostPort} in time`,
    fix: `check that ${w.hostPort} is reachable from this host (address, port, firewall)`,
  }),
  unreachable: (w) => ({
    cause: `there is no route to ${w.host}`,
    fix: "check the address in the endpoint and this host's network",
  }),
};

/**
 * What `failure` most likely means at the endpoint in `context`, and the fix. `failure` is a
 * ClassifiedFailure, or a StorageError's code and status.
 */
export function networkAdvice(
  failure: Pick<ClassifiedFailure, "kind" | "status"> & { code?: string },
  context: AdviceContext,
): Advice {
  return TABLE[failure.kind](where(context), failure.status);
}

/** Whether a code (a StorageError's, say) is a network failure kind: the table has a row for each. */
export function isNetworkFailure(code: string): code is NetworkFailure {
  return Object.hasOwn(TABLE, code);
}

/** The endpoint with the other scheme; a placeholder when the endpoint is not known. */
function endpointAs(w: Where, scheme: "http" | "https"): string {
  return w.port === undefined ? `${scheme}://HOST:PORT` : `${scheme}://${w.hostPort}`;
}

function where(context: AdviceContext): Where {
  if ("aws" in context) {
    return {
      server: "AWS S3",
      hostPort: "AWS S3",
      host: "AWS S3",
      port: "443",
      protocol: "https",
      aws: true,
    };
  }
  if ("unknown" in context)
    return { server: "the server", hostPort: "the server", host: "the server", aws: false };
  const url = new URL(context.endpoint);
  const protocol = url.protocol === "http:" ? "http" : "https";
  const port = url.port !== "" ? url.port : protocol === "http" ? "80" : "443";
  const hostPort = `${url.hostname}:${port}`;
  return { server: `the server at ${hostPort}`, hostPort, host: url.hostname, port, protocol, aws: false };
}
