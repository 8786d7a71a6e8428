/**
 * Two of SQLite's WAL-index locks, taken from outside SQLite: the writer lock and the checkpointer lock
 * (bytes 120 and 121 of the `-shm` file, documented in SQLite's walfile.html). They are POSIX record
 * locks owned by this process, so they keep other processes out while our own connections, which share
 * the owner, pass through. When one of our connections lets go of the same lock, SQLite unlocks the byte
 * and ours goes with it; callers take it again after each such step.
 *
 * Why, measured with 90k autocommit inserts a second (synchronous NORMAL):
 * - Checkpointer: past `wal_autocheckpoint` frames every commit of the application attempts a PASSIVE
 *   checkpoint. While our read mark pins the WAL, each attempt probes every read-mark slot, and each
 *   time our mark has moved it sorts the WAL's whole tail and fsyncs in the application's thread. That
 *   cost the application a fifth to a half of its throughput. With the lock taken, an attempt fails on
 *   its first lock; our own checkpoints do the copying, in our process.
 * - Writer: to restart the WAL during a flood we must stop appends for a moment. Asking SQLite for it
 *   (BEGIN IMMEDIATE) takes a whole transaction start per attempt and rarely lands between two commits;
 *   one fcntl per attempt does within microseconds.
 *
 * Neither lock is ever what keeps data safe (our read transaction is): where the runtime's FFI or libc
 * are unavailable, or off Linux, nothing is taken and SQLite's own paths are used.
 *
 * The descriptor must stay open as long as any of our SQLite connections: closing any descriptor of the
 * `-shm` file drops every POSIX lock this process holds on it, our read marks included.
 */
import * as fs from "node:fs";
import { type Fcntl, libcFcntl } from "../runtime/libc-fcntl.ts";

export type ShmLock = "write" | "checkpoint";

const LOCK_BYTE: Record<ShmLock, number> = { write: 120, checkpoint: 121 };
// Linux's generic values (x86-64 and arm64 share them); struct flock is 32 bytes on both:
// l_type i16 @0, l_whence i16 @2, l_start i64 @8, l_len i64 @16, l_pid i32 @24.
const F_SETLK = 6;
const F_WRLCK = 1;
const F_UNLCK = 2;
const SEEK_SET = 0;
const FLOCK_SIZE = 32;

export class ShmLocks {
  private readonly flock = new Uint8Array(FLOCK_SIZE);
  private readonly view = new DataView(this.flock.buffer);

  private constructor(
    private readonly fd: number,
    private readonly fcntl: Fcntl,
  ) {
    this.view.setInt16(2, SEEK_SET, true);
    this.view.setBigInt64(16, 1n, true);
  }

  /**
   * Opens the `-shm` file of a database that one of our connections already has open in WAL mode; null
   * where the locks cannot be taken from outside SQLite.
   */
  static open(shmPath: string): ShmLocks | null {
    const fcntl = libcFcntl();
    return fcntl ? new ShmLocks(fs.openSync(shmPath, "r+"), fcntl) : null;
  }

  /** Tries to take `lock` until it is ours or `spinMs` has passed, without sleeping. */
  take(lock: ShmLock, spinMs = 0): boolean {
    const deadline = performance.now() + spinMs;
    for (;;) {
      if (this.set(lock, F_WRLCK)) return true;
      if (performance.now() >= deadline) return false;
    }
  }

  release(lock: ShmLock): void {
    this.set(lock, F_UNLCK);
  }

  /** Call only after every SQLite connection of ours to this database is closed (see the file comment). */
  close(): void {
    fs.closeSync(this.fd);
  }

  private set(lock: ShmLock, type: number): boolean {
    this.view.setInt16(0, type, true);
    this.view.setBigInt64(8, BigInt(LOCK_BYTE[lock]), true);
    return this.fcntl(this.fd, F_SETLK, this.flock) === 0;
  }
}
