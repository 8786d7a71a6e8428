/**
 * S3 endpoints: every endpoint walship uses is `scheme://host[:port]`. An endpoint given without a
 * scheme gets the default of the place it was given: `https` in a config file's `endpoint:` key (as
 * Litestream 0.3.13 reads the same file), and in walship's own URL forms `http` only where plain HTTP
 * is the norm (loopback, private networks, `.local` and `.localhost` names), `https` everywhere else.
 */

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** The scheme an endpoint written without one gets. */
export type SchemeDefault = "https" | "http" | "http-if-local";

/** An endpoint as given, before it becomes a URL: a TLS setting may still turn a default `http` into `https`. */
export interface EndpointSpec {
  /** `host[:port]`: lowercase host (IPv6 in brackets), the port as written. */
  host: string;
  scheme: "http" | "https";
  /** False when `scheme` is only the default of the place the endpoint was given. */
  schemeWritten: boolean;
}

/**
 * Parses `endpoint` (`host[:port]` or `http(s)://host[:port]`).
 *
 * @throws SyntaxError whose message says what is wrong (never echoing userinfo)
 */
export function parseEndpoint(endpoint: string, schemeDefault: SchemeDefault): EndpointSpec {
  if (endpoint.trim() === "") throw new SyntaxError("the endpoint is empty");
  const scheme = SCHEME.exec(endpoint)?.[1]?.toLowerCase();
  if (scheme !== undefined && scheme !== "http" && scheme !== "https") {
    throw new SyntaxError(`the endpoint scheme must be http or https, not "${scheme}"`);
  }
  const rest = scheme === undefined ? endpoint : endpoint.replace(SCHEME, "");
  let url: URL;
  let port: string;
  try {
    url = new URL(`${scheme ?? "http"}://${rest}`);
    // A scheme without a default port keeps the port as written, so that the `:80` of a
    // scheme-less endpoint stays when a TLS setting makes it https.
    port = scheme === undefined ? new URL(`walship://${rest}`).port : url.port;
  } catch {
    throw new SyntaxError("the endpoint is not a valid host[:port] or URL");
  }
  if (url.username !== "" || url.password !== "") {
    throw new SyntaxError("the endpoint must not contain credentials");
  }
  if ((url.pathname !== "" && url.pathname !== "/") || url.search !== "" || url.hash !== "") {
    // A path here is usually a bucket, which would silently become part of every key.
    throw new SyntaxError("the endpoint must be only scheme://host[:port], without a path or query");
  }
  const host = port === "" ? url.hostname : `${url.hostname}:${port}`;
  if (scheme === "http" || scheme === "https") return { host, scheme, schemeWritten: true };
  const chosen =
    schemeDefault === "http-if-local" ? (isLocalHostname(url.hostname) ? "http" : "https") : schemeDefault;
  return { host, scheme: chosen, schemeWritten: false };
}

/** The endpoint URL, `scheme://host[:port]`, without the scheme's default port. */
export function endpointUrl(spec: EndpointSpec): string {
  return `${spec.scheme}://${new URL(`${spec.scheme}://${spec.host}`).host}`;
}

/** The hostname of a normalised endpoint (`[::1]` keeps its brackets). */
export function endpointHostname(endpoint: string): string {
  return new URL(endpoint).hostname;
}

/** True for a dotted-quad IPv4 address or a bracketed IPv6 address. */
export function isIpAddress(hostname: string): boolean {
  return IPV4.test(hostname) || (hostname.startsWith("[") && hostname.endsWith("]"));
}

/**
 * True where a server is normally reached over plain HTTP: loopback, private and link-local
 * addresses, and `localhost`, `*.localhost` and `*.local` names.
 */
export function isLocalHostname(hostname: string): boolean {
  const host = hostname.toLowerCase();
  if (host === "localhost" || host.endsWith(".localhost") || host.endsWith(".local")) return true;
  const v4 = IPV4.exec(host);
  if (v4 !== null) {
    const [a, b] = [Number(v4[1]), Number(v4[2])];
    return (
      a === 127 || // loopback
      a === 10 || // 10/8
      (a === 172 && b >= 16 && b <= 31) || // 172.16/12
      (a === 192 && b === 168) || // 192.168/16
      (a === 169 && b === 254) // link-local
    );
  }
  if (host.startsWith("[") && host.endsWith("]")) {
    const v6 = host.slice(1, -1);
    return (
      v6 === "::1" ||
      /^f[cd][0-9a-f]{0,2}:/.test(v6) || // unique local fc00::/7
      /^fe[89ab][0-9a-f]?:/.test(v6) // link-local fe80::/10
    );
  }
  return false;
}
