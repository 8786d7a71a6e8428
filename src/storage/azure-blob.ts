/**
 * A replica in an Azure Blob Storage container (Litestream's `abs`), on Microsoft's @azure/storage-blob
 * with shared-key authentication. The SDK is imported on first use, so commands that never touch Azure
 * do not load it. Objects are block blobs: a blob appears only when its block list is committed, so no
 * reader ever sees one half-written.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { BlockBlobClient, ContainerClient } from "@azure/storage-blob";
import { downloadGarbage } from "../runtime/garbage.ts";
import { type AzureSite, defaultEndpoint, describeAzureError, isBlobNotFound } from "./azure-errors.ts";
import type { Listing, LocalObject, ObjectInfo, ObjectStore } from "./object-store.ts";

export interface AzureBlobStoreOptions {
  accountName: string;
  accountKey: string;
  container: string;
  /** Blob name prefix of the replica root, without leading or trailing slash; "" for the container root. */
  prefix: string;
  /** Default `https://ACCOUNT.blob.core.windows.net`; Azurite's includes the account: `http://127.0.0.1:10000/devstoreaccount1`. */
  endpoint?: string | undefined;
}

/**
 * Bytes per staged block, and the largest object sent as one Put Blob. putStream holds one block: 8 MiB
 * keeps that small while Azure's 50,000 blocks per blob still allow 390 GiB.
 */
export const BLOCK_BYTES = 8 * 1024 * 1024;
/** Deletes in flight at once: Blob Storage deletes one blob per request. */
const DELETE_CONCURRENCY = 16;
/** Blobs per listing page (the service's maximum). */
const PAGE_SIZE = 5000;
/** Litestream's content type for every object. */
const CONTENT_TYPE = { blobContentType: "application/octet-stream" };

/** Numbers downloads to temporary files within the process. */
let downloads = 0;

export class AzureBlobStore implements ObjectStore {
  readonly type = "abs";
  readonly location: string;
  private readonly site: AzureSite;
  private client: Promise<ContainerClient> | undefined;

  constructor(private readonly opts: AzureBlobStoreOptions) {
    const endpoint = (opts.endpoint ?? defaultEndpoint(opts.accountName)).replace(/\/+$/, "");
    this.site = { accountName: opts.accountName, container: opts.container, endpoint };
    this.location = `abs://${opts.accountName}@${opts.container}/${opts.prefix}${opts.endpoint ? ` (endpoint ${endpoint})` : ""}`;
  }

  private blobName(rel: string): string {
    return this.opts.prefix ? `${this.opts.prefix}/${rel}` : rel;
  }

  private rel(name: string): string {
    return this.opts.prefix ? name.slice(this.opts.prefix.length + 1) : name;
  }

  private container(): Promise<ContainerClient> {
    this.client ??= (async () => {
      const sdk = await import("@azure/storage-blob");
      const credential = new sdk.StorageSharedKeyCredential(this.opts.accountName, this.opts.accountKey);
      const service = new sdk.BlobServiceClient(this.site.endpoint, credential, {
        // Short, bounded retries (the SDK's default waits 4 s, then up to 2 min): after an outage the
        // replica catches up within a sync interval or two, and walship's own loop retries beyond this.
        retryOptions: { maxTries: 4, retryDelayInMs: 250, maxRetryDelayInMs: 1000, tryTimeoutInMs: 120_000 },
      });
      return service.getContainerClient(this.opts.container);
    })();
    return this.client;
  }

  private async blob(key: string): Promise<BlockBlobClient> {
    return (await this.container()).getBlockBlobClient(this.blobName(key));
  }

  /** Runs one SDK call and turns any failure into a StorageError that names the target and a fix. */
  private async call<T>(op: string, key: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw describeAzureError(err, op, key, this.site);
    }
  }

  async list(prefix: string, opts: { delimiter: boolean }): Promise<Listing> {
    const container = await this.container();
    const full = this.blobName(prefix);
    const listing: Listing = { objects: [], prefixes: [] };
    const add = (blob: {
      name: string;
      properties: { contentLength?: number; createdOn?: Date; lastModified: Date };
    }) => {
      // Anything a misbehaving server lists outside the prefix asked for is not ours to describe.
      if (!blob.name.startsWith(full)) return;
      listing.objects.push(info(this.rel(blob.name), blob.properties));
    };
    await this.call("list", prefix, async () => {
      if (opts.delimiter) {
        for await (const page of container
          .listBlobsByHierarchy("/", { prefix: full })
          .byPage({ maxPageSize: PAGE_SIZE })) {
          for (const p of page.segment.blobPrefixes ?? [])
            listing.prefixes.push(this.rel(p.name).replace(/\/$/, ""));
          for (const b of page.segment.blobItems) add(b);
        }
      } else {
        for await (const page of container
          .listBlobsFlat({ prefix: full })
          .byPage({ maxPageSize: PAGE_SIZE })) {
          for (const b of page.segment.blobItems) add(b);
        }
      }
    });
    return listing;
  }

  async put(key: string, data: Uint8Array): Promise<{ createdAt: Date }> {
    if (data.length > BLOCK_BYTES) {
      const { createdAt } = await this.putStream(key, chunks(data));
      return { createdAt };
    }
    const blob = await this.blob(key);
    const out = await this.call("put", key, () =>
      blob.upload(data, data.length, { blobHTTPHeaders: CONTENT_TYPE }),
    );
    return { createdAt: out.lastModified ?? new Date() };
  }

  /**
   * Copies the pieces into one block-sized buffer; each full buffer is staged as a block, and the block
   * list committed at the end makes the blob appear whole. An object smaller than one block goes up as
   * one Put Blob. Staged blocks of a failed upload are never committed: the service drops them.
   */
  async putStream(
    key: string,
    pieces: AsyncIterable<Uint8Array>,
  ): Promise<{ createdAt: Date; size: number }> {
    const blob = await this.blob(key);
    const block = new Uint8Array(BLOCK_BYTES);
    // Block ids must all have one length within a blob; the nonce keeps two uploads of one key apart.
    const nonce = randomBytes(6).toString("hex");
    const ids: string[] = [];
    let filled = 0;
    let size = 0;
    const stage = async () => {
      const id = Buffer.from(`${nonce}-${ids.length.toString().padStart(6, "0")}`).toString("base64");
      const body = block.subarray(0, filled);
      await this.call("put", key, () => blob.stageBlock(id, body, body.length));
      ids.push(id);
      filled = 0;
    };
    for await (const piece of pieces) {
      size += piece.length;
      for (let at = 0; at < piece.length; ) {
        const n = Math.min(piece.length - at, BLOCK_BYTES - filled);
        block.set(piece.subarray(at, at + n), filled);
        filled += n;
        at += n;
        if (filled === BLOCK_BYTES) await stage();
      }
    }
    if (ids.length === 0) {
      const out = await this.call("put", key, () =>
        blob.upload(block.subarray(0, filled), filled, { blobHTTPHeaders: CONTENT_TYPE }),
      );
      return { createdAt: out.lastModified ?? new Date(), size };
    }
    if (filled > 0) await stage();
    const out = await this.call("put", key, () =>
      blob.commitBlockList(ids, { blobHTTPHeaders: CONTENT_TYPE }),
    );
    return { createdAt: out.lastModified ?? new Date(), size };
  }

  async get(key: string): Promise<Uint8Array | null> {
    const blob = await this.blob(key);
    return this.call("get", key, async () => {
      const res = await blob.download(0).catch(missingAsNull);
      if (res === null) return null;
      const parts: Buffer[] = [];
      for await (const part of res.readableStreamBody ?? []) parts.push(part as Buffer);
      const bytes = Buffer.concat(parts);
      downloadGarbage.count(bytes.length);
      return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
    });
  }

  async getFile(key: string, tempDir: string): Promise<LocalObject | null> {
    const blob = await this.blob(key);
    const file = path.join(
      tempDir,
      `.walship-download-${process.pid}-${Date.now().toString(36)}-${(downloads++).toString(36)}`,
    );
    const remove = () => fs.rmSync(file, { force: true });
    try {
      // The SDK streams the body to the file and resumes a body cut off part way.
      const res = await this.call("get", key, () => blob.downloadToFile(file).catch(missingAsNull));
      if (res === null) {
        remove();
        return null;
      }
      return { path: file, size: res.contentLength ?? fs.statSync(file).size, release: remove };
    } catch (err) {
      remove();
      throw err;
    }
  }

  /** One Delete Blob per key, DELETE_CONCURRENCY at a time; a key that is not there is fine. */
  async delete(keys: string[]): Promise<void> {
    const container = await this.container();
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < keys.length; i = next++) {
        const key = keys[i] as string;
        await this.call("delete", key, () => container.getBlobClient(this.blobName(key)).deleteIfExists());
      }
    };
    await Promise.all(Array.from({ length: Math.min(DELETE_CONCURRENCY, keys.length) }, worker));
  }

  /** One HEAD on the container: tells a missing container or a rejected key without writing anything. */
  async checkWritable(): Promise<void> {
    const container = await this.container();
    await this.call("check the container", "", () => container.getProperties());
  }
}

function info(key: string, p: { contentLength?: number; createdOn?: Date; lastModified: Date }): ObjectInfo {
  return { key, size: p.contentLength ?? 0, createdAt: p.createdOn ?? p.lastModified };
}

/** `data` in block-sized views, for put's large objects. */
async function* chunks(data: Uint8Array): AsyncIterable<Uint8Array> {
  for (let at = 0; at < data.length; at += BLOCK_BYTES) yield data.subarray(at, at + BLOCK_BYTES);
}

/** null for a missing blob; anything else (a missing container among it) is thrown on. */
function missingAsNull(err: unknown): null {
  if (isBlobNotFound(err)) return null;
  throw err;
}
