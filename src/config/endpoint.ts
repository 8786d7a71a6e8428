/**
 * S3 endpoint normalisation: every endpoint walship uses is `scheme://host[:port]`, and a
 * scheme-less endpoint gets `http` only where plain HTTP is the norm (loopback, private networks,
 * `.local` and `.localhost` names), `https` everywhere else.
 */

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/**
 * Returns `endpoint` as `http(s)://host[:port]` (lowercase host, default port dropped).
 *
 * @throws SyntaxError whose message says what is wrong (never echoing userinfo)
 */
export function normalizeEndpoint(endpoint: string): string {
  if (endpoint.trim() === "") throw new SyntaxError("the endpoint is empty");
  const scheme = SCHEME.exec(endpoint)?.[1]?.toLowerCase();
  if (scheme !== undefined && scheme !== "http" && scheme !== "https") {
    throw new SyntaxError(`the endpoint scheme must be http or https, not "${scheme}"`);
  }
  let url: URL;
  try {
    url = new URL(scheme === undefined ? `http://${endpoint}` : endpoint);
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
  const chosen = scheme ?? (isLocalHostname(url.hostname) ? "http" : "https");
  const normalized = new URL(`${chosen}://${url.host}`);
  return `${normalized.protocol}//${normalized.host}`;
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
