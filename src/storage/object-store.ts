/**
 * The small interface every storage backend implements: keys and bytes under a replica root.
 * Backends know nothing of generations or WAL; `replica-client.ts` maps the layout onto keys.
 */

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
  /** Backend type, as in Litestream's replica `type` (`file`, `s3`). */
  readonly type: "file" | "s3";
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

/** A storage operation failed; carries the operation, the key and a hint for the user. */
export class StorageError extends Error {
  override name = "StorageError";
  constructor(
    message: string,
    readonly op: string,
    readonly key: string,
    readonly hint?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
