/**
 * The small interface every storage backend implements: keys and bytes under a replica root.
 * Backends know nothing of generations or WAL; `replica-client.ts` maps the layout onto keys.
 */
import { WalshipError } from "../errors/walship-error.ts";
import { classifyNetworkError, type NetworkFailure } from "./network-error.ts";
import { classifyRefusal, type StorageRefusal } from "./storage-refusal.ts";

export interface ObjectInfo {
  /** Key relative to the replica root, `/`-separated. */
  key: string;
  /** Stored (compressed) size in bytes. */
  size: number;
  /** When the object was written, from backend metadata (file mtime, S3 LastModified). */
  createdAt: Date;
}

export interface Listing {
  objects: ObjectInfo[];
  /** With a delimiter: the immediate "sub-directories" under the prefix, each without a trailing slash. */
  prefixes: string[];
}

export interface ObjectStore {
  /** Backend type, as in Litestream's replica `type` (`file`, `s3`, `sftp`, `abs`). */
  readonly type: "file" | "s3" | "sftp" | "abs";
  /** Where the data goes, for logs and errors; never contains a secret. */
  readonly location: string;
  /**
   * Lists objects whose key starts with `prefix` (which ends in `/`). With `delimiter`, only the
   * immediate level: objects directly under the prefix and the names of sub-prefixes. Order unspecified.
   * A prefix that does not exist gives an empty listing.
   */
  list(prefix: string, opts: { delimiter: boolean }): Promise<Listing>;
  /** Writes an object whole; it is never visible half-written. Returns its creation time. */
  put(key: string, data: Uint8Array): Promise<{ createdAt: Date }>;
  /**
   * Writes an object from pieces produced as it goes (a snapshot being compressed), holding at most
   * one upload part in memory. Same visibility guarantee as put. Returns its creation time and size.
   */
  putStream(key: string, pieces: AsyncIterable<Uint8Array>): Promise<{ createdAt: Date; size: number }>;
  /** Reads an object whole; `null` when it does not exist. */
  get(key: string): Promise<Uint8Array | null>;
  /**
   * Makes an object readable as a local file without holding it in memory: a directory replica's own
   * file, or a download into `tempDir`. `release()` removes any download. `null` when it does not exist.
   * `sizeHint` (the listed size) lets a remote backend fetch a large object in parallel ranges, and
   * return as soon as its size is known, while the ranges still arrive (see LocalObject.ready).
   */
  getFile(key: string, tempDir: string, sizeHint?: number): Promise<LocalObject | null>;
  /** Deletes objects; missing keys are not an error. */
  delete(keys: string[]): Promise<void>;
  /** Fails when writes here are sure to be refused, where the backend can tell without writing. */
  checkWritable?(): Promise<void>;
}

export interface LocalObject {
  path: string;
  size: number;
  /**
   * Resolves once bytes [0, end) are in the file, for a reader that follows a download still under way;
   * rejects when the download fails. Absent: the file is complete.
   */
  ready?(end: number): Promise<void>;
  /** Removes a download (and stops it, if it is still under way). */
  release(): void;
}

/**
 * What stopped a storage operation; stable, for programs (see WalshipError). The storage's own codes
 * (the SDK's error names, Node's and Bun's `code`s, HTTP statuses) are read once, where the error is
 * made (storage-refusal.ts, network-error.ts); everything above chooses by this.
 */
export type StorageErrorCode =
  /** A definite answer that waiting cannot change: no such bucket, access denied, ... */
  | StorageRefusal
  /** The conversation with the server failed: TLS untrusted or the other protocol, refused, DNS, timeout, ... */
  | NetworkFailure
  /** The filesystem holding a directory replica is full. */
  | "no-space"
  /** A key that would reach outside the replica directory (from a hostile listing). */
  | "outside-root"
  /** The CA file given for TLS cannot be read. */
  | "ca-file-unreadable"
  /** An encrypted object, and no age identity configured to open it. */
  | "no-identity"
  /** None of the configured age identities opens the object. */
  | "wrong-identity"
  /** The object is damaged: its encryption does not check out. */
  | "object-damaged"
  /** Anything else. */
  | "storage-failed";

export interface StorageErrorOptions {
  cause?: unknown;
  /** Default: read from `cause` (see storageFailureCode), else `storage-failed`. */
  code?: StorageErrorCode;
  /** The HTTP status of the answer that failed, when there was one. */
  status?: number;
}

/**
 * A storage operation failed; carries the operation ("list", "put", "decrypt", ...), the key as the
 * subject ("" when none), a code, and a hint for the user.
 */
export class StorageError extends WalshipError<StorageErrorCode> {
  override name = "StorageError";
  readonly status: number | undefined;

  constructor(
    message: string,
    operation: string,
    key: string,
    hint?: string,
    options: StorageErrorOptions = {},
  ) {
    super(message, {
      code: options.code ?? storageFailureCode(options.cause) ?? "storage-failed",
      operation,
      subject: key,
      hint,
      cause: options.cause,
    });
    this.status = options.status;
  }
}

/**
 * The code of a storage failure: a StorageError's own, or else read from the codes in `err`'s cause
 * chain (a refusal before a network failure, as the S3 layer ranks them); undefined when nothing says.
 */
export function storageFailureCode(err: unknown): StorageErrorCode | undefined {
  if (err instanceof StorageError) return err.code === "storage-failed" ? undefined : err.code;
  return classifyRefusal(err) ?? classifyNetworkError(err)?.kind;
}
