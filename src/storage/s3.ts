/**
 * S3-compatible backend on @aws-sdk/client-s3. The SDK is imported lazily so commands that never touch
 * S3 start fast. For non-AWS endpoints it sends plain fixed-length bodies with checksums only where the
 * API requires them: the SDK's default flexible checksums make some servers store aws-chunked framing
 * as object data.
 */
import type { S3Client } from "@aws-sdk/client-s3";
import { DEFAULT_REGION, knownRegion } from "../config/replica-target.ts";
import { concatBytes } from "../format/bytes.ts";
import { downloadGarbage } from "../runtime/garbage.ts";
import { backoff, backoffMs } from "./backoff.ts";
import { followDownload } from "./downloaded-prefix.ts";
import { type Listing, type LocalObject, type ObjectStore, StorageError } from "./object-store.ts";
import { describeS3Error } from "./s3-errors.ts";
import { type Fetched, ObjectGetter } from "./s3-get.ts";
import { downloadInRanges, RANGE_BYTES, type RangedDownload } from "./s3-ranged-download.ts";

export interface S3StoreOptions {
  bucket: string;
  /** Key prefix of the replica root, without leading or trailing slash; "" for the bucket root. */
  prefix: string;
  /** Endpoint URL with scheme; absent for AWS. */
  endpoint?: string | undefined;
  region?: string | undefined;
  forcePathStyle: boolean;
  skipVerify: boolean;
  accessKeyId?: string | undefined;
  secretAccessKey?: string | undefined;
  /** PEM file of extra certificate authorities to trust. */
  caFile?: string | undefined;
  /**
   * The bucket came from a dotted URL host with no endpoint (`s3://s3.example.com/bkt/db`): every
   * error then also says what else the user may have meant.
   */
  ambiguousHost?: boolean | undefined;
  /** Objects larger than this go up as multipart uploads (default MULTIPART_THRESHOLD). */
  multipartThreshold?: number;
}

/** Objects above this size go up as multipart uploads; below it, one PutObject with a Content-Length. */
export const MULTIPART_THRESHOLD = 64 * 1024 * 1024;
/** S3's smallest part (except the last) is 5 MiB. */
const MIN_PART_SIZE = 5 * 1024 * 1024;
/** Part size when streaming an object of unknown size: 10,000 parts of 16 MiB allow 156 GiB. */
const STREAM_PART_SIZE = 16 * 1024 * 1024;
/** S3 allows at most 10,000 parts; stay well below. */
const MAX_PARTS = 9000;
/** Attempts per request, the first one included (ConfiguredRetryStrategy counts attempts, not retries). */
const SDK_ATTEMPTS = 5;

interface MultipartUpload {
  part(body: Uint8Array): Promise<void>;
  complete(): Promise<void>;
  abort(): Promise<void>;
}

/** Numbers downloads to temporary files within the process. */
let downloads = 0;
/** Attempts at downloading one object whose body read fails part way. */
const BODY_READ_ATTEMPTS = 4;
/** S3 DeleteObjects takes at most 1,000 keys per request. */
const MAX_DELETE_BATCH = 1000;

export class S3Store implements ObjectStore {
  readonly type = "s3";
  readonly location: string;
  private client: Promise<S3Client> | undefined;
  private objectGetter: Promise<ObjectGetter> | undefined;
  /** False once the server answered DeleteObjects with 501 Not Implemented: objects go one by one then. */
  private batchDelete = true;

  constructor(readonly opts: S3StoreOptions) {
    this.location = `s3://${opts.bucket}/${opts.prefix}${opts.endpoint ? ` (endpoint ${opts.endpoint})` : ""}`;
  }

  private key(rel: string): string {
    return this.opts.prefix ? `${this.opts.prefix}/${rel}` : rel;
  }

  private rel(key: string): string {
    return this.opts.prefix ? key.slice(this.opts.prefix.length + 1) : key;
  }

  /** Region actually used: explicit, else DEFAULT_REGION for custom endpoints, else looked up from AWS. */
  async region(): Promise<string> {
    return knownRegion(this.opts) ?? lookupBucketRegion(this.opts);
  }

  private s3(): Promise<S3Client> {
    if (this.client) return this.client;
    const client = (async () => {
      const sdk = await import("@aws-sdk/client-s3");
      return new sdk.S3Client(await clientConfig(this.opts, await this.region()));
    })();
    // A failed region lookup (AWS not reachable yet) is tried again by the next request, not kept.
    client.catch(() => {
      if (this.client === client) this.client = undefined;
    });
    this.client = client;
    return client;
  }

  /** GETs go around the SDK's middleware (see s3-get.ts); made once, from the SDK client. */
  private getter(): Promise<ObjectGetter> {
    if (this.objectGetter) return this.objectGetter;
    const getter = (async () => {
      const fs = await import("node:fs");
      return ObjectGetter.create(await this.s3(), {
        bucket: this.opts.bucket,
        region: await this.region(),
        skipVerify: this.opts.skipVerify,
        ca: this.opts.caFile ? readCaFile(fs.readFileSync, this.opts.caFile).toString("utf8") : undefined,
      });
    })();
    getter.catch(() => {
      if (this.objectGetter === getter) this.objectGetter = undefined;
    });
    this.objectGetter = getter;
    return getter;
  }

  async list(prefix: string, opts: { delimiter: boolean }): Promise<Listing> {
    const { ListObjectsV2Command } = await import("@aws-sdk/client-s3");
    const s3 = await this.s3();
    const listing: Listing = { objects: [], prefixes: [] };
    let token: string | undefined;
    do {
      const out = await this.call("list", prefix, () =>
        s3.send(
          new ListObjectsV2Command({
            Bucket: this.opts.bucket,
            Prefix: this.key(prefix),
            Delimiter: opts.delimiter ? "/" : undefined,
            ContinuationToken: token,
          }),
        ),
      );
      for (const o of out.Contents ?? []) {
        // Some S3-compatible servers omit fields; skip what we cannot describe rather than crash, and
        // anything a misbehaving server lists outside the prefix we asked for.
        if (!o.Key || o.Size === undefined || !o.LastModified || !o.Key.startsWith(this.key(prefix)))
          continue;
        listing.objects.push({ key: this.rel(o.Key), size: o.Size, createdAt: o.LastModified });
      }
      for (const p of out.CommonPrefixes ?? []) {
        if (p.Prefix) listing.prefixes.push(this.rel(p.Prefix).replace(/\/$/, ""));
      }
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
    return listing;
  }

  async put(key: string, data: Uint8Array): Promise<{ createdAt: Date }> {
    const createdAt = new Date();
    if (data.length > (this.opts.multipartThreshold ?? MULTIPART_THRESHOLD)) {
      await this.putMultipart(key, data);
    } else {
      const { PutObjectCommand } = await import("@aws-sdk/client-s3");
      const s3 = await this.s3();
      await this.call("put", key, () =>
        s3.send(
          new PutObjectCommand({
            Bucket: this.opts.bucket,
            Key: this.key(key),
            Body: data,
            ContentLength: data.length,
          }),
        ),
      );
    }
    return { createdAt };
  }

  /**
   * Streams an object up: pieces are gathered into parts; an object smaller than one part goes up as one
   * PutObject, a larger one as a multipart upload (aborted on failure, so no partial object appears).
   */
  async putStream(
    key: string,
    pieces: AsyncIterable<Uint8Array>,
  ): Promise<{ createdAt: Date; size: number }> {
    const createdAt = new Date();
    const partSize = Math.max(MIN_PART_SIZE, STREAM_PART_SIZE);
    let buffered: Uint8Array[] = [];
    let bufferedBytes = 0;
    let size = 0;
    let upload: MultipartUpload | null = null;
    try {
      for await (const piece of pieces) {
        buffered.push(piece);
        bufferedBytes += piece.length;
        size += piece.length;
        if (bufferedBytes >= partSize) {
          upload ??= await this.startMultipart(key);
          await upload.part(concatBytes(buffered));
          buffered = [];
          bufferedBytes = 0;
        }
      }
      const rest = concatBytes(buffered);
      if (!upload) {
        await this.put(key, rest);
      } else {
        if (rest.length > 0) await upload.part(rest);
        await upload.complete();
      }
      return { createdAt, size };
    } catch (err) {
      await upload?.abort();
      throw err;
    }
  }

  private async putMultipart(key: string, data: Uint8Array): Promise<void> {
    const partSize = Math.max(MIN_PART_SIZE, Math.ceil(data.length / MAX_PARTS));
    const upload = await this.startMultipart(key);
    try {
      for (let off = 0; off < data.length; off += partSize) {
        await upload.part(data.subarray(off, Math.min(off + partSize, data.length)));
      }
      await upload.complete();
    } catch (err) {
      await upload.abort();
      throw err;
    }
  }

  private async startMultipart(key: string): Promise<MultipartUpload> {
    const sdk = await import("@aws-sdk/client-s3");
    const s3 = await this.s3();
    const Bucket = this.opts.bucket;
    const Key = this.key(key);
    const { UploadId } = await this.call("put", key, () =>
      s3.send(new sdk.CreateMultipartUploadCommand({ Bucket, Key })),
    );
    const parts: { ETag: string | undefined; PartNumber: number }[] = [];
    return {
      part: async (body) => {
        const PartNumber = parts.length + 1;
        const out = await this.call("put", key, () =>
          s3.send(
            new sdk.UploadPartCommand({
              Bucket,
              Key,
              UploadId,
              PartNumber,
              Body: body,
              ContentLength: body.length,
            }),
          ),
        );
        parts.push({ ETag: out.ETag, PartNumber });
      },
      complete: async () => {
        await this.call("put", key, () =>
          s3.send(
            new sdk.CompleteMultipartUploadCommand({
              Bucket,
              Key,
              UploadId,
              MultipartUpload: { Parts: parts },
            }),
          ),
        );
      },
      abort: async () => {
        await s3.send(new sdk.AbortMultipartUploadCommand({ Bucket, Key, UploadId })).catch(() => {});
      },
    };
  }

  async get(key: string): Promise<Uint8Array | null> {
    const got = await this.download(key);
    if (got) downloadGarbage.count(got.size);
    return got ? (got.bytes ?? new Uint8Array(0)) : null;
  }

  async getFile(key: string, tempDir: string, sizeHint?: number): Promise<LocalObject | null> {
    const fs = await import("node:fs");
    const path = await import("node:path");
    const file = path.join(
      tempDir,
      `.walship-download-${process.pid}-${Date.now().toString(36)}-${(downloads++).toString(36)}`,
    );
    const remove = () => fs.rmSync(file, { force: true });
    // Created here, written by the download thread.
    fs.closeSync(fs.openSync(file, "w", 0o600));
    if (sizeHint !== undefined && sizeHint > RANGE_BYTES) {
      return followDownload(file, (d) => this.downloadRanged(key, file, d), remove);
    }
    try {
      // A retried download starts again at 0, overwriting what the failed attempt wrote.
      const got = await this.download(key, file);
      if (!got) {
        remove();
        return null;
      }
      return { path: file, size: got.size, release: remove };
    } catch (err) {
      remove();
      throw err;
    }
  }

  /** The object in parallel byte ranges (see s3-ranged-download.ts); its size, or null when it does not exist. */
  private async downloadRanged(
    key: string,
    file: string,
    d: Pick<RangedDownload, "onSize" | "onRange" | "stopped">,
  ): Promise<number | null> {
    const getter = await this.call("get", key, () => this.getter());
    try {
      return await downloadInRanges({
        ...d,
        attempts: BODY_READ_ATTEMPTS,
        fetch: (range, ifMatch, at) =>
          this.call("get", key, () => getter.fetch(this.key(key), { range, ifMatch, into: { file, at } })),
      });
    } catch (err) {
      throw err instanceof StorageError ? err : describeS3Error(err, "get", key, this.opts);
    }
  }

  /**
   * The whole object, into `file` or in memory; `null` when it does not exist. A failed request is
   * retried by the getter, a body cut off part way here: downloaded again, from the start.
   */
  private async download(key: string, file?: string): Promise<Fetched | null> {
    const getter = await this.call("get", key, () => this.getter());
    const into = file === undefined ? undefined : { file, at: 0 };
    for (let attempt = 1; ; attempt++) {
      const got = await this.call("get", key, () => getter.fetch(this.key(key), { into }));
      if (!got?.brokeOff) return got;
      if (attempt >= BODY_READ_ATTEMPTS) throw describeS3Error(got.brokeOff, "get", key, this.opts);
      await backoff(attempt);
    }
  }

  async delete(keys: string[]): Promise<void> {
    const { DeleteObjectsCommand } = await import("@aws-sdk/client-s3");
    const s3 = await this.s3();
    for (let i = 0; i < keys.length; i += MAX_DELETE_BATCH) {
      const batch = keys.slice(i, i + MAX_DELETE_BATCH);
      if (!this.batchDelete) {
        await this.deleteEach(batch);
        continue;
      }
      const out = await this.call("delete", batch[0] ?? "", async () => {
        try {
          return await s3.send(
            new DeleteObjectsCommand({
              Bucket: this.opts.bucket,
              Delete: { Objects: batch.map((k) => ({ Key: this.key(k) })), Quiet: true },
            }),
          );
        } catch (err) {
          // Servers without multi-object delete (Google Cloud Storage's XML API among them) say 501.
          if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 501)
            throw err;
          this.batchDelete = false;
          return null;
        }
      });
      if (out === null) {
        await this.deleteEach(batch);
        continue;
      }
      const failed = out.Errors ?? [];
      if (failed.length > 0) {
        const first = failed[0];
        throw new StorageError(
          `Cannot delete ${failed.length} object(s) from s3://${this.opts.bucket}: ${first?.Key}: ${first?.Code} ${first?.Message ?? ""}`.trim(),
          "delete",
          first?.Key ?? "",
        );
      }
    }
  }

  /** Deletes `keys` one request each (DeleteObject answers success for a key that is not there). */
  private async deleteEach(keys: string[]): Promise<void> {
    const { DeleteObjectCommand } = await import("@aws-sdk/client-s3");
    const s3 = await this.s3();
    for (const k of keys) {
      await this.call("delete", k, () =>
        s3.send(new DeleteObjectCommand({ Bucket: this.opts.bucket, Key: this.key(k) })),
      );
    }
  }

  /** Runs one SDK call and turns any failure into a StorageError that names the target and a fix. */
  private async call<T>(op: string, key: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw describeS3Error(err, op, key, this.opts);
    }
  }
}

async function clientConfig(opts: S3StoreOptions, region: string) {
  const { NodeHttpHandler } = await import("@smithy/node-http-handler");
  const { ConfiguredRetryStrategy } = await import("@smithy/core/retry");
  const http = await import("node:http");
  const https = await import("node:https");
  const fs = await import("node:fs");
  const lookup = localhostAwareLookup((await import("node:dns")).lookup);
  const credentials =
    opts.accessKeyId || opts.secretAccessKey
      ? { accessKeyId: opts.accessKeyId ?? "", secretAccessKey: opts.secretAccessKey ?? "" }
      : undefined;
  return {
    region,
    endpoint: opts.endpoint,
    forcePathStyle: opts.forcePathStyle,
    credentials,
    // Fixed-length bodies with no checksum trailers: what every S3-compatible server accepts.
    requestChecksumCalculation: "WHEN_REQUIRED" as const,
    responseChecksumValidation: "WHEN_REQUIRED" as const,
    // Short, bounded backoff (at most 1 s between attempts, 5 attempts): after an outage the replica
    // catches up within a sync interval or two instead of sleeping through the SDK's throttling backoff.
    retryStrategy: new ConfiguredRetryStrategy(SDK_ATTEMPTS, (attempt: number) => backoffMs(attempt, 1000)),
    requestHandler: new NodeHttpHandler({
      connectionTimeout: 10_000,
      requestTimeout: 120_000,
      httpAgent: new http.Agent({ keepAlive: true, lookup }),
      httpsAgent: new https.Agent({
        keepAlive: true,
        lookup,
        rejectUnauthorized: !opts.skipVerify,
        ...(opts.caFile ? { ca: readCaFile(fs.readFileSync, opts.caFile) } : {}),
      }),
    }),
  };
}

type LookupFn = typeof import("node:dns").lookup;

/**
 * Resolves `localhost` and `*.localhost` to loopback, as RFC 6761 asks and browsers and Bun's fetch do,
 * so virtual-hosted addressing (`BUCKET.s3.localhost:9000`) works; glibc and Node's resolver do not.
 */
export function localhostAwareLookup(lookup: LookupFn): LookupFn {
  const wrapped = (hostname: string, options: unknown, callback: unknown): void => {
    const cb = (typeof options === "function" ? options : callback) as (
      err: NodeJS.ErrnoException | null,
      address: string | { address: string; family: number }[],
      family?: number,
    ) => void;
    const opts = (typeof options === "object" && options !== null ? options : {}) as { all?: boolean };
    if (hostname === "localhost" || hostname.endsWith(".localhost")) {
      if (opts.all) cb(null, [{ address: "127.0.0.1", family: 4 }]);
      else cb(null, "127.0.0.1", 4);
      return;
    }
    // biome-ignore lint/suspicious/noExplicitAny: forwards the overloaded arguments unchanged
    (lookup as any)(hostname, options, callback);
  };
  return wrapped as LookupFn;
}

function readCaFile(read: (p: string) => Buffer, file: string): Buffer {
  try {
    return read(file);
  } catch (err) {
    throw new StorageError(
      `Cannot read the CA file ${file}: ${(err as Error).message}`,
      "tls",
      "",
      "point ca-file (or AWS_CA_BUNDLE) at a readable PEM file",
      { cause: err, code: "ca-file-unreadable" },
    );
  }
}

/** Finds an AWS bucket's region from the `x-amz-bucket-region` header of a HeadBucket response. */
async function lookupBucketRegion(opts: S3StoreOptions): Promise<string> {
  const sdk = await import("@aws-sdk/client-s3");
  const s3 = new sdk.S3Client(await clientConfig(opts, DEFAULT_REGION));
  try {
    const out = await s3.send(new sdk.HeadBucketCommand({ Bucket: opts.bucket }));
    return out.BucketRegion ?? DEFAULT_REGION;
  } catch (err) {
    const headers = (err as { $response?: { headers?: Record<string, string> } }).$response?.headers;
    const region = headers?.["x-amz-bucket-region"];
    if (region) return region;
    throw describeS3Error(err, "head bucket", "", opts);
  } finally {
    s3.destroy();
  }
}
