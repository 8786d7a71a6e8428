/**
 * GetObject without the SDK's per-request middleware. Measured on the S3 test server, 600 GETs of
 * 400 KB: the SDK spends 1.1-1.4 ms of CPU per request (with its node:http or its fetch handler
 * alike), this 0.3 ms. A WAL-heavy restore makes one request per segment, thousands of them, and that
 * was a fifth of its CPU. The SDK still decides everything that varies between servers and accounts:
 * the object's URL (path or virtual-hosted style, the region's host), the credentials (its provider
 * chain) and the signature (its own SigV4 signer); this only sends the signed request, with fetch, on
 * the download thread (download-thread.ts, for memory).
 */
import type { S3Client } from "@aws-sdk/client-s3";
import type { HttpRequest } from "@smithy/types";
import { backoff } from "./backoff.ts";
import { download } from "./download-thread.ts";
import type { ErrorFacts } from "./http-download.ts";

/** Attempts per request, as the SDK's retry strategy makes for every other call. */
const ATTEMPTS = 5;
/** No bytes for this long: the request is abandoned (the SDK's request timeout is the same idle time). */
const IDLE_TIMEOUT_MS = 120_000;

export interface Fetched {
  /** `bytes START-END/TOTAL` for a ranged answer. */
  contentRange: string | undefined;
  etag: string | undefined;
  /** Body bytes received. */
  size: number;
  /** The body, unless it went into a file. */
  bytes?: Uint8Array | undefined;
  /** Why the body broke off after `size` bytes, if it did (not retried here: the caller knows how). */
  brokeOff?: Error | undefined;
}

/** An S3 error answer, shaped as the SDK shapes its own (`name`, `$metadata`, `$fault`) for s3-errors.ts. */
export class S3AnswerError extends Error {
  readonly $metadata: { httpStatusCode: number };
  /** Set only when the body was an S3 error document: without it the answer came from something else. */
  readonly $fault: "client" | "server" | undefined;

  constructor(status: number, code: string | undefined, message: string | undefined) {
    super(message ?? `HTTP ${status}`);
    this.name = code ?? `HTTP ${status}`;
    this.$metadata = { httpStatusCode: status };
    this.$fault = code === undefined ? undefined : status >= 500 ? "server" : "client";
  }
}

export interface ObjectGetterOptions {
  bucket: string;
  region: string;
  skipVerify: boolean;
  /** PEM text of extra certificate authorities. */
  ca: string | undefined;
}

/** Signs GETs of one bucket's objects and has them run on the download thread. */
export class ObjectGetter {
  private constructor(
    private readonly origin: string,
    /** "" (virtual-hosted) or "/BUCKET" (path style), as the SDK built it. */
    private readonly basePath: string,
    private readonly sign: (req: HttpRequest) => Promise<HttpRequest>,
    private readonly tls: { rejectUnauthorized: boolean; ca?: string },
  ) {}

  static async create(s3: S3Client, opts: ObjectGetterOptions): Promise<ObjectGetter> {
    const { SignatureV4 } = await import("@smithy/signature-v4");
    const probe = await requestOf(s3, opts.bucket, PROBE_KEY);
    const suffix = `/${PROBE_KEY}`;
    if (!probe.path.endsWith(suffix))
      throw new Error(`unexpected request path ${probe.path} for ${PROBE_KEY}`);
    const port = probe.port ? `:${probe.port}` : "";
    const signer = new SignatureV4({
      service: "s3",
      region: opts.region,
      credentials: s3.config.credentials,
      sha256: s3.config.sha256,
      // S3 signs the path as sent, without encoding it a second time.
      uriEscapePath: false,
      applyChecksum: false,
    });
    return new ObjectGetter(
      `${probe.protocol}//${probe.hostname}${port}`,
      probe.path.slice(0, -suffix.length),
      (req) => signer.sign(req) as Promise<HttpRequest>,
      { rejectUnauthorized: !opts.skipVerify, ...(opts.ca === undefined ? {} : { ca: opts.ca }) },
    );
  }

  /**
   * The object (or its `range`), into the file `into` names or back whole; null when it does not exist.
   * A request that fails before its answer, or is answered 5xx or 429, is sent again (ATTEMPTS in all).
   */
  async fetch(
    key: string,
    opts: { range?: string; ifMatch?: string | undefined; into?: { file: string; at: number } } = {},
  ): Promise<Fetched | null> {
    const path = `${this.basePath}/${key.split("/").map(encodeKeySegment).join("/")}`;
    const url = new URL(this.origin + path);
    const headers: Record<string, string> = {
      host: url.host,
      "x-amz-content-sha256": EMPTY_SHA256,
      ...(opts.range ? { range: opts.range } : {}),
      ...(opts.ifMatch ? { "if-match": opts.ifMatch } : {}),
    };
    for (let attempt = 1; ; attempt++) {
      const signed = await this.sign({
        method: "GET",
        protocol: url.protocol,
        hostname: url.hostname,
        port: url.port ? Number(url.port) : undefined,
        path,
        query: {},
        headers,
      } as HttpRequest);
      // fetch sets Host itself.
      const { host: _host, ...sent } = signed.headers;
      const reply = await download({
        url: url.href,
        headers: sent,
        tls: this.tls,
        idleTimeoutMs: IDLE_TIMEOUT_MS,
        into: opts.into,
      });
      let err: Error;
      switch (reply.kind) {
        case "ok":
          return {
            contentRange: reply.contentRange,
            etag: reply.etag,
            size: reply.size,
            bytes: reply.bytes ? new Uint8Array(reply.bytes) : undefined,
          };
        case "body-failed":
          return {
            contentRange: reply.contentRange,
            etag: reply.etag,
            size: reply.size,
            brokeOff: errorOf(reply.error),
          };
        case "local-failed":
          throw errorOf(reply.error);
        case "request-failed":
          err = errorOf(reply.error);
          break;
        case "answer": {
          const code = xmlField(reply.text, "Code");
          if (reply.status === 404 && (code === undefined || code === "NoSuchKey")) return null;
          err = new S3AnswerError(reply.status, code, xmlField(reply.text, "Message"));
          if (!(reply.status >= 500 || reply.status === 429)) throw err;
        }
      }
      if (attempt >= ATTEMPTS) throw err;
      // At most 1 s between attempts, as the SDK's retry strategy (s3.ts) waits.
      await backoff(attempt, 1000);
    }
  }
}

/** An error rebuilt from the facts that crossed the thread, with the `name` and `code` it had. */
function errorOf(facts: ErrorFacts): Error {
  const err = new Error(facts.message) as Error & { code?: string };
  err.name = facts.name;
  if (facts.code !== undefined) err.code = facts.code;
  return err;
}

/** A key that names nothing, for learning how the SDK addresses the bucket's objects. */
const PROBE_KEY = "walship-address-probe";
/** SHA-256 of an empty body: the payload hash of a GET, which every S3-compatible server accepts. */
const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/** The request the SDK would send for GetObject(key), after endpoint resolution and before signing. */
async function requestOf(s3: S3Client, bucket: string, key: string): Promise<HttpRequest> {
  const { GetObjectCommand } = await import("@aws-sdk/client-s3");
  const command = new GetObjectCommand({ Bucket: bucket, Key: key });
  const stop = new Error("request captured");
  let captured: HttpRequest | undefined;
  command.middlewareStack.add(
    () => async (args) => {
      captured = args.request as HttpRequest;
      throw stop;
    },
    { step: "build", priority: "low" },
  );
  try {
    await s3.send(command);
  } catch (err) {
    if (err !== stop) throw err;
  }
  if (!captured) throw new Error("the SDK built no request");
  return captured;
}

/** RFC 3986 unreserved characters stay; everything else is percent-encoded, as SigV4 expects. */
function encodeKeySegment(segment: string): string {
  return encodeURIComponent(segment).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function xmlField(xml: string, name: string): string | undefined {
  return new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];
}
