/** Directory backend: a replica is a plain directory tree, written with temp files and renames. */
import { constants as fsConstants } from "node:fs";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import {
  type Listing,
  type LocalObject,
  type ObjectInfo,
  type ObjectStore,
  StorageError,
} from "./object-store.ts";

export class FileStore implements ObjectStore {
  readonly type = "file";
  readonly location: string;
  /** Directories this store created or found: a recursive mkdir per segment cost a flood ~5% of our time. */
  private readonly knownDirs = new Set<string>();

  constructor(readonly root: string) {
    this.location = root;
  }

  private abs(key: string): string {
    const p = path.resolve(this.root, key);
    // Keys come from our own layout, but a hostile listing must never make us touch files outside the root.
    if (p !== this.root && !p.startsWith(this.root + path.sep)) {
      const message = `Cannot use key "${key}": it points outside ${this.root}`;
      throw new StorageError(message, "path", key, undefined, { code: "outside-root" });
    }
    return p;
  }

  async list(prefix: string, opts: { delimiter: boolean }): Promise<Listing> {
    const dir = this.abs(prefix);
    const listing: Listing = { objects: [], prefixes: [] };
    const walk = async (d: string, rel: string): Promise<void> => {
      let entries: import("node:fs").Dirent[];
      try {
        entries = await fs.readdir(d, { withFileTypes: true });
      } catch (err) {
        if (isNotFound(err)) return;
        throw this.wrap(err, "list", prefix);
      }
      for (const e of entries) {
        const key = rel + e.name;
        if (e.isDirectory()) {
          if (opts.delimiter) listing.prefixes.push(key);
          else await walk(path.join(d, e.name), `${key}/`);
        } else if (e.isFile() && !e.name.endsWith(".tmp")) {
          const st = await fs.stat(path.join(d, e.name)).catch(() => null);
          if (st) listing.objects.push(info(key, st));
        }
      }
    };
    await walk(dir, prefix);
    return listing;
  }

  async put(key: string, data: Uint8Array): Promise<{ createdAt: Date }> {
    const dest = this.abs(key);
    const tmp = `${dest}.tmp`;
    try {
      const fh = await this.create(tmp);
      try {
        await fh.writeFile(data);
        await fh.sync();
      } finally {
        await fh.close();
      }
      const st = await fs.stat(tmp);
      await fs.rename(tmp, dest);
      return { createdAt: st.mtime };
    } catch (err) {
      await fs.rm(tmp, { force: true }).catch(() => {});
      throw this.wrap(err, "put", key);
    }
  }

  async putStream(
    key: string,
    pieces: AsyncIterable<Uint8Array>,
  ): Promise<{ createdAt: Date; size: number }> {
    const dest = this.abs(key);
    const tmp = `${dest}.tmp`;
    try {
      const fh = await this.create(tmp);
      let size = 0;
      try {
        for await (const piece of pieces) {
          await fh.write(piece, 0, piece.length, size);
          size += piece.length;
        }
        await fh.sync();
      } finally {
        await fh.close();
      }
      const st = await fs.stat(tmp);
      await fs.rename(tmp, dest);
      return { createdAt: st.mtime, size };
    } catch (err) {
      await fs.rm(tmp, { force: true }).catch(() => {});
      throw this.wrap(err, "put", key);
    }
  }

  /** Creates a file for writing, and its directory unless we know it exists (it may have been deleted since). */
  private async create(file: string): Promise<fs.FileHandle> {
    const dir = path.dirname(file);
    if (this.knownDirs.has(dir)) {
      try {
        return await fs.open(file, "w", 0o600);
      } catch (err) {
        if (!isNotFound(err)) throw err;
        this.knownDirs.delete(dir);
      }
    }
    await fs.mkdir(dir, { recursive: true });
    this.knownDirs.add(dir);
    return fs.open(file, "w", 0o600);
  }

  async get(key: string): Promise<Uint8Array | null> {
    try {
      const buf = await fs.readFile(this.abs(key));
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch (err) {
      if (isNotFound(err)) return null;
      throw this.wrap(err, "get", key);
    }
  }

  async getFile(key: string): Promise<LocalObject | null> {
    const p = this.abs(key);
    try {
      const st = await fs.stat(p);
      return { path: p, size: st.size, release: () => {} };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw this.wrap(err, "get", key);
    }
  }

  async delete(keys: string[]): Promise<void> {
    const parents = new Set<string>();
    for (const key of keys) {
      const p = this.abs(key);
      try {
        await fs.rm(p, { force: true });
      } catch (err) {
        throw this.wrap(err, "delete", key);
      }
      parents.add(path.dirname(p));
    }
    // Directories play the role of S3 prefixes: once empty they must vanish, or an emptied generation
    // would still be listed.
    for (const dir of [...parents].sort((a, b) => b.length - a.length)) await this.pruneEmpty(dir);
  }

  private async pruneEmpty(dir: string): Promise<void> {
    for (let d = dir; d !== this.root && d.startsWith(this.root + path.sep); d = path.dirname(d)) {
      try {
        await fs.rmdir(d);
      } catch {
        return; // not empty (or already gone): stop climbing
      }
    }
  }

  /**
   * Fails when this user may not create files in the replica directory (or, before it exists, in the
   * nearest directory that does): a read-only mount such as a systemd unit without the path in
   * `ReadWritePaths=`, or another owner. Asked at start-up, where listing alone would pass.
   */
  async checkWritable(): Promise<void> {
    for (let dir = this.root; ; dir = path.dirname(dir)) {
      try {
        await fs.access(dir, fsConstants.W_OK);
        return;
      } catch (err) {
        if (!isNotFound(err) || path.dirname(dir) === dir) throw this.wrap(err, "write to", "");
      }
    }
  }

  private wrap(err: unknown, op: string, key: string): StorageError {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = err instanceof Error ? err.message : String(err);
    const hint =
      code === "EACCES" || code === "EPERM" || code === "EROFS"
        ? `check that this user may write to ${this.root} (under systemd: list it in ReadWritePaths=)`
        : code === "ENOSPC"
          ? `free space on the filesystem that holds ${this.root}`
          : undefined;
    // EACCES, EPERM, EROFS and ENOTDIR read from the cause as "not-writable" (storage-refusal.ts).
    return new StorageError(`Cannot ${op} ${path.join(this.root, key)}: ${reason}`, op, key, hint, {
      cause: err,
      ...(code === "ENOSPC" ? { code: "no-space" as const } : {}),
    });
  }
}

function info(key: string, st: import("node:fs").Stats): ObjectInfo {
  return { key, size: st.size, createdAt: st.mtime };
}

function isNotFound(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}
