/**
 * S3-compatible providers recognised from a host name.
 *
 * A host matches a provider in two forms: the provider's endpoint host itself
 * (`s3.us-west-000.backblazeb2.com`), or a bucket-specific host with the bucket as the leading
 * labels (`mybkt.s3.us-west-000.backblazeb2.com`). The first six rows are Litestream 0.3.13's
 * `s3.ParseHost` table, with its unescaped dots escaped; the rest are walship additions.
 */

export type S3ProviderId =
  | "localhost"
  | "backblaze-b2"
  | "filebase"
  | "digitalocean-spaces"
  | "scaleway"
  | "linode"
  | "cloudflare-r2"
  | "hetzner"
  | "wasabi"
  | "tigris"
  | "gcs";

interface ProviderRow {
  id: S3ProviderId;
  /** Regex source for the endpoint host; a named group `region` captures the region. */
  host: string;
  /** Region when the host does not name one. */
  region?: string;
  /** Litestream connects to `localhost` over plain HTTP and to every provider over HTTPS. */
  scheme: "http" | "https";
}

const ROWS: readonly ProviderRow[] = [
  // Litestream: BUCKET.localhost[:PORT] is a local server (MinIO and friends), region us-east-1.
  { id: "localhost", host: "localhost", region: "us-east-1", scheme: "http" },
  // Litestream: BUCKET.s3.REGION.backblazeb2.com, e.g. s3.us-west-000.backblazeb2.com.
  { id: "backblaze-b2", host: String.raw`s3\.(?<region>[^.]+)\.backblazeb2\.com`, scheme: "https" },
  // Litestream: BUCKET.s3.filebase.com; no region (us-east-1 is used once an endpoint is set).
  { id: "filebase", host: String.raw`s3\.filebase\.com`, scheme: "https" },
  // Litestream: BUCKET.REGION.digitaloceanspaces.com, e.g. nyc3.digitaloceanspaces.com.
  { id: "digitalocean-spaces", host: String.raw`(?<region>[^.]+)\.digitaloceanspaces\.com`, scheme: "https" },
  // Litestream: BUCKET.s3.REGION.scw.cloud, e.g. s3.fr-par.scw.cloud.
  { id: "scaleway", host: String.raw`s3\.(?<region>[^.]+)\.scw\.cloud`, scheme: "https" },
  // Litestream: BUCKET.REGION.linodeobjects.com, e.g. us-east-1.linodeobjects.com.
  { id: "linode", host: String.raw`(?<region>[^.]+)\.linodeobjects\.com`, scheme: "https" },
  // walship: Cloudflare R2, ACCOUNT[.eu|.fedramp].r2.cloudflarestorage.com, region "auto". The
  // account id is 32 hex digits; requiring that keeps "BUCKET.ACCOUNT.eu…" from splitting wrongly.
  {
    id: "cloudflare-r2",
    host: String.raw`[0-9a-f]{32}(?:\.(?:eu|fedramp))?\.r2\.cloudflarestorage\.com`,
    region: "auto",
    scheme: "https",
  },
  // walship: Hetzner Object Storage, LOCATION.your-objectstorage.com (fsn1, nbg1, hel1).
  { id: "hetzner", host: String.raw`(?<region>[^.]+)\.your-objectstorage\.com`, scheme: "https" },
  // walship: Wasabi, s3[.REGION].wasabisys.com; the bare s3.wasabisys.com is us-east-1.
  {
    id: "wasabi",
    host: String.raw`s3(?:\.(?<region>[^.]+))?\.wasabisys\.com`,
    region: "us-east-1",
    scheme: "https",
  },
  // walship: Tigris (Fly.io), global endpoints with region "auto".
  {
    id: "tigris",
    host: String.raw`fly\.storage\.tigris\.dev|t3\.storage\.dev`,
    region: "auto",
    scheme: "https",
  },
  // walship: Google Cloud Storage's S3-compatible XML API with HMAC keys, which signs with region
  // "auto". walship has no `gcs` type (Litestream 0.3.13's uses Google's own API): this is the route.
  { id: "gcs", host: String.raw`storage\.googleapis\.com`, region: "auto", scheme: "https" },
];

interface CompiledRow extends ProviderRow {
  endpointForm: RegExp;
  bucketForm: RegExp;
}

const COMPILED: readonly CompiledRow[] = ROWS.map((row) => ({
  ...row,
  endpointForm: new RegExp(`^(?:${row.host})$`, "i"),
  // Greedy bucket, as in Litestream, so buckets may contain dots (my.bkt.s3.REGION.backblazeb2.com).
  bucketForm: new RegExp(`^(?<bucket>.+)\\.(?:${row.host})$`, "i"),
}));

export interface ProviderMatch {
  provider: S3ProviderId;
  /** The provider's endpoint host (the host minus any bucket labels). */
  endpointHost: string;
  region?: string;
  scheme: "http" | "https";
}

/** Recognises a provider's endpoint host, such as `nyc3.digitaloceanspaces.com`. */
export function matchProviderEndpoint(hostname: string): ProviderMatch | undefined {
  for (const row of COMPILED) {
    const match = row.endpointForm.exec(hostname);
    if (match !== null) return toMatch(row, hostname, match.groups?.region);
  }
  return undefined;
}

/** Recognises a bucket-specific host, such as `mybkt.nyc3.digitaloceanspaces.com`. */
export function matchProviderBucketHost(hostname: string): (ProviderMatch & { bucket: string }) | undefined {
  for (const row of COMPILED) {
    const match = row.bucketForm.exec(hostname);
    const bucket = match?.groups?.bucket;
    if (match !== null && bucket !== undefined) {
      const endpointHost = hostname.slice(bucket.length + 1);
      return { ...toMatch(row, endpointHost, match.groups?.region), bucket };
    }
  }
  return undefined;
}

function toMatch(row: ProviderRow, endpointHost: string, region: string | undefined): ProviderMatch {
  const match: ProviderMatch = { provider: row.id, endpointHost, scheme: row.scheme };
  const chosen = region ?? row.region;
  if (chosen !== undefined) match.region = chosen;
  return match;
}
