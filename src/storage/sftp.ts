/**
 * A replica on an SSH server, over SFTP (ssh2, pure JavaScript: its optional native parts are never
 * built). One SSH connection is kept and opened again after a drop. Objects are written under a temporary
 * name and renamed into place with `posix-rename@openssh.com`, which replaces an existing file atomically;
 * plain SFTP v3 rename fails when the target exists, so where the server lacks the extension the old file
 * is removed first (a moment in which the key is missing, never one in which it is half-written).
 * Host keys are checked before anything is sent (ssh-host-key.ts); failures become StorageErrors with
 * codes (sftp-errors.ts) and never carry the password.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Client, SFTPWrapper, Stats } from "ssh2";
import {
  type Listing,
  type LocalObject,
  type ObjectInfo,
  type ObjectStore,
  StorageError,
} from "./object-store.ts";
import { readKey, SFTP_NO_SUCH_FILE, sftpError, unusableKeyError } from "./sftp-errors.ts";
import type { HostKeyCheck } from "./ssh-host-key.ts";

export interface SftpStoreOptions {
  host: string;
  port: number;
  user: string;
  password?: string | undefined;
  /** A private key file (OpenSSH or PEM format). Without it or a password: the agent and ~/.ssh's keys. */
  keyPath?: string | undefined;
  /** The replica root on the server (absolute, or relative to the login directory). */
  root: string;
  /** Refuses a server whose host key (SSH wire format) is not the expected one. */
  hostKey: HostKeyCheck;
  /** Where the default keys are looked for when neither password nor keyPath is given. */
  home?: string | undefined;
  /** SSH_AUTH_SOCK, for the agent when neither password nor keyPath is given. */
  agent?: string | undefined;
}

/** A temporary file this old is a cut upload's remains: no upload of one object lasts a day. */
const STALE_TEMPORARY_S = 24 * 60 * 60;

interface Session {
  client: Client;
  sftp: SFTPWrapper;
}

export class SftpStore implements ObjectStore {
  readonly type = "sftp";
  readonly location: string;
  private session: Promise<Session> | null = null;

  constructor(readonly opts: SftpStoreOptions) {
    this.location = `sftp://${opts.user}@${opts.host}:${opts.port}/${opts.root.replace(/^\//, "")}`;
  }

  private abs(key: string): string {
    const p = path.posix.normalize(`${this.opts.root}/${key}`);
    const root = path.posix.normalize(this.opts.root);
    if (p !== root && !p.startsWith(`${root}/`)) {
      throw new StorageError(
        `Refusing key ${key}: it reaches outside ${this.location}`,
        "path",
        key,
        undefined,
        {
          code: "outside-root",
        },
      );
    }
    return p;
  }

  /** The open session, or a new one after a drop. */
  private connect(): Promise<Session> {
    if (this.session) return this.session;
    const session = (async () => {
      const { Client } = await import("ssh2");
      const client = new Client();
      let refused: StorageError | undefined;
      const auth = this.credentials();
      await new Promise<void>((resolve, reject) => {
        client.once("ready", () => resolve());
        client.once("error", (err) => reject(refused ?? sftpError(err, "connect", "", this.location)));
        try {
          client.connect({
            host: this.opts.host,
            port: this.opts.port,
            username: this.opts.user,
            ...auth,
            hostVerifier: (key: Buffer) => {
              refused = this.opts.hostKey(key);
              return refused === undefined;
            },
            readyTimeout: 30_000,
            keepaliveInterval: 15_000,
          });
        } catch (err) {
          // ssh2 parses the private key synchronously.
          reject(unusableKeyError(err, this.location, this.opts.keyPath));
        }
      });
      const drop = () => {
        if (this.session === session) this.session = null;
      };
      client.on("close", drop);
      client.on("error", drop);
      const sftp = await new Promise<SFTPWrapper>((resolve, reject) =>
        client.sftp((err, s) => (err ? reject(err) : resolve(s))),
      );
      return { client, sftp };
    })();
    this.session = session;
    session.catch(() => {
      if (this.session === session) this.session = null;
    });
    return session;
  }

  /** Runs `fn` on the open session; any failure becomes a StorageError with a code (sftp-errors.ts). */
  private async withSftp<T>(
    operation: string,
    key: string,
    fn: (sftp: SFTPWrapper) => Promise<T>,
  ): Promise<T> {
    try {
      const { sftp } = await this.connect();
      return await fn(sftp);
    } catch (err) {
      throw sftpError(err, operation, key, this.location);
    }
  }

  /** Password and key as given; else the agent and the first default key, as ssh tries them. */
  private credentials(): { password?: string; privateKey?: Buffer; agent?: string } {
    const { password, keyPath } = this.opts;
    const auth: { password?: string; privateKey?: Buffer; agent?: string } = {};
    if (password) auth.password = password;
    if (keyPath) auth.privateKey = readKey(keyPath, this.location);
    if (password || keyPath) return auth;
    if (this.opts.agent) auth.agent = this.opts.agent;
    for (const name of ["id_ed25519", "id_ecdsa", "id_rsa"]) {
      const file = path.join(this.opts.home ?? "", ".ssh", name);
      if (this.opts.home && fs.existsSync(file)) {
        auth.privateKey = readKey(file, this.location);
        break;
      }
    }
    return auth;
  }

  list(prefix: string, opts: { delimiter: boolean }): Promise<Listing> {
    return this.withSftp("list", prefix, async (sftp) => {
      const out: Listing = { objects: [], prefixes: [] };
      const walk = async (rel: string): Promise<void> => {
        const entries = await call<{ filename: string; attrs: Stats }[] | null>((cb) =>
          sftp.readdir(this.abs(rel), (err, list) => cb(err, list)),
        ).catch(missingAsNull);
        for (const e of entries ?? []) {
          const key = rel ? `${rel}/${e.filename}` : e.filename;
          if (e.attrs.isDirectory()) {
            if (opts.delimiter) out.prefixes.push(key);
            else await walk(key);
          } else if (e.attrs.isFile() && !e.filename.includes(".tmp-")) {
            out.objects.push(info(key, e.attrs));
          }
        }
      };
      await walk(prefix.replace(/\/$/, ""));
      return out;
    });
  }

  async put(key: string, data: Uint8Array): Promise<{ createdAt: Date }> {
    const { createdAt } = await this.putStream(
      key,
      (async function* () {
        yield data;
      })(),
    );
    return { createdAt };
  }

  putStream(key: string, pieces: AsyncIterable<Uint8Array>): Promise<{ createdAt: Date; size: number }> {
    return this.withSftp("put", key, async (sftp) => {
      const target = this.abs(key);
      await this.mkdirs(sftp, path.posix.dirname(target));
      const tmp = `${target}.tmp-${randomBytes(6).toString("hex")}`;
      const handle = await call<Buffer>((cb) => sftp.open(tmp, "w", (err, h) => cb(err, h)));
      let size = 0;
      try {
        for await (const piece of pieces) {
          for (let at = 0; at < piece.length; ) {
            const n = Math.min(piece.length - at, 256 * 1024);
            await call<void>((cb) =>
              sftp.write(handle, Buffer.from(piece.buffer, piece.byteOffset + at, n), 0, n, size, (err) =>
                cb(err),
              ),
            );
            at += n;
            size += n;
          }
        }
      } catch (err) {
        await call<void>((cb) => sftp.close(handle, (e) => cb(e))).catch(() => {});
        await call<void>((cb) => sftp.unlink(tmp, (e) => cb(e))).catch(() => {});
        throw err;
      }
      await call<void>((cb) => sftp.close(handle, (err) => cb(err)));
      await this.rename(sftp, tmp, target);
      const st = await call<Stats>((cb) => sftp.stat(target, (err, s) => cb(err, s)));
      return { createdAt: new Date(st.mtime * 1000), size };
    });
  }

  private async rename(sftp: SFTPWrapper, from: string, to: string): Promise<void> {
    let offered = true;
    await call<void>((cb) => {
      try {
        sftp.ext_openssh_rename(from, to, (err) => cb(err));
      } catch {
        // ssh2 throws at once, before sending anything, when the server did not offer the extension.
        offered = false;
        cb(null);
      }
    });
    if (offered) return;
    // Plain v3 rename refuses an existing target.
    await call<void>((cb) => sftp.unlink(to, (e) => cb(e))).catch(missingAsNull);
    await call<void>((cb) => sftp.rename(from, to, (e) => cb(e)));
  }

  private async mkdirs(sftp: SFTPWrapper, dir: string): Promise<void> {
    const exists = await call<Stats>((cb) => sftp.stat(dir, (err, s) => cb(err, s))).catch(missingAsNull);
    if (exists) return;
    await this.mkdirs(sftp, path.posix.dirname(dir));
    await call<void>((cb) => sftp.mkdir(dir, { mode: 0o700 }, (err) => cb(err))).catch(async (err) => {
      // Made meanwhile by another upload.
      if (!(await call<Stats>((cb) => sftp.stat(dir, (e, s) => cb(e, s))).catch(() => null))) throw err;
    });
  }

  get(key: string): Promise<Uint8Array | null> {
    return this.withSftp("get", key, async (sftp) => {
      const data = await call<Buffer>((cb) => sftp.readFile(this.abs(key), (err, d) => cb(err, d))).catch(
        missingAsNull,
      );
      return data === null ? null : new Uint8Array(data.buffer, data.byteOffset, data.length);
    });
  }

  getFile(key: string, tempDir: string): Promise<LocalObject | null> {
    return this.withSftp("get", key, async (sftp) => {
      const local = path.join(tempDir, `sftp-${randomBytes(6).toString("hex")}`);
      const got = await call<void>((cb) => sftp.fastGet(this.abs(key), local, (err) => cb(err)))
        .then(() => true)
        .catch(missingAsNull);
      if (got === null) {
        fs.rmSync(local, { force: true });
        return null;
      }
      return { path: local, size: fs.statSync(local).size, release: () => fs.rmSync(local, { force: true }) };
    });
  }

  /** Deletes the objects, then the directories they leave empty: directories play S3's prefixes. */
  delete(keys: string[]): Promise<void> {
    return this.withSftp("delete", keys[0] ?? "", async (sftp) => {
      const dirs = new Set<string>();
      for (const k of keys) {
        const p = this.abs(k);
        await call<void>((cb) => sftp.unlink(p, (err) => cb(err))).catch(missingAsNull);
        dirs.add(path.posix.dirname(p));
      }
      const root = path.posix.normalize(this.opts.root);
      for (const dir of dirs) await this.sweepTemporaries(sftp, dir);
      // Deepest first; rmdir fails on a directory that still holds something, which ends that branch.
      for (const dir of [...dirs].sort((a, b) => b.length - a.length)) {
        for (let d = dir; d !== root && d.startsWith(`${root}/`); d = path.posix.dirname(d)) {
          const removed = await call<void>((cb) => sftp.rmdir(d, (err) => cb(err))).then(
            () => true,
            () => false,
          );
          if (!removed) break;
        }
      }
    });
  }

  /**
   * Removes what uploads cut short by a dropped connection left in `dir` (their temporary names), once
   * they are older than any upload could still be running: otherwise they would keep the directory
   * from being pruned, and take space, for ever.
   */
  private async sweepTemporaries(sftp: SFTPWrapper, dir: string): Promise<void> {
    const entries = await call<{ filename: string; attrs: Stats }[]>((cb) =>
      sftp.readdir(dir, (err, list) => cb(err, list)),
    ).catch(() => []);
    const before = Date.now() / 1000 - STALE_TEMPORARY_S;
    for (const e of entries) {
      if (!e.filename.includes(".tmp-") || !e.attrs.isFile() || e.attrs.mtime > before) continue;
      await call<void>((cb) => sftp.unlink(`${dir}/${e.filename}`, (err) => cb(err))).catch(() => {});
    }
  }

  /**
   * Makes the replica directory and writes and removes a probe file in it: a directory the SSH user may
   * not write is then refused at start-up (access-denied) rather than at the first upload.
   */
  checkWritable(): Promise<void> {
    return this.withSftp("write probe", "", async (sftp) => {
      const root = path.posix.normalize(this.opts.root);
      await this.mkdirs(sftp, root);
      const probe = `${root}/.walship-probe.tmp-${randomBytes(6).toString("hex")}`;
      const handle = await call<Buffer>((cb) => sftp.open(probe, "w", (err, h) => cb(err, h)));
      await call<void>((cb) => sftp.close(handle, (err) => cb(err)));
      await call<void>((cb) => sftp.unlink(probe, (err) => cb(err)));
    });
  }

  /** Closes the connection (the next call opens a new one). */
  close(): void {
    void this.session?.then((s) => s.client.end()).catch(() => {});
    this.session = null;
  }
}

function info(key: string, attrs: Stats): ObjectInfo {
  return { key, size: attrs.size, createdAt: new Date(attrs.mtime * 1000) };
}

/** Turns a Node-style callback API into a promise. */
function call<T>(start: (cb: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => start((err, value) => (err ? reject(err) : resolve(value as T))));
}

/** null for SFTP's "no such file"; anything else is thrown on. */
function missingAsNull(err: unknown): null {
  if ((err as { code?: unknown }).code === SFTP_NO_SUCH_FILE) return null;
  throw err;
}
