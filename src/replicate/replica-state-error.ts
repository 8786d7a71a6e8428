/**
 * The error of a replica that cannot go on from where it is (replica.ts): the replicator logs it with
 * its hint and retries, and operators read both in the log.
 */
import { WalshipError, type WalshipErrorOptions } from "../errors/walship-error.ts";

/** Why a replica cannot go on from where it is; stable, for programs (see WalshipError). */
export type ReplicaErrorCode =
  /** The database has no generation (yet, or any more) to snapshot. */
  | "no-generation"
  /** The database started a new generation while a snapshot of the old one was being written. */
  | "generation-changed"
  /** The replica holds a snapshot at the current WAL index, and the WAL could not start a new one. */
  | "snapshot-deferred"
  /** The replica's generation cannot be continued (objects of the other kind, or unreadable): a new one starts. */
  | "generation-abandoned"
  /** The replica is ahead of the local shadow WAL (local state rolled back): a new generation starts. */
  | "replica-ahead"
  /** A shadow WAL file the replica still needs is gone: a new generation starts. */
  | "shadow-wal-missing"
  /** The newest WAL segment was listed but was gone when read. */
  | "segment-vanished";

/** The replica cannot go on from where it is; the message says why, the hint what happens next. */
export class ReplicaStateError extends WalshipError<ReplicaErrorCode> {
  override name = "ReplicaStateError";
  constructor(message: string, options: WalshipErrorOptions<ReplicaErrorCode> & { hint: string }) {
    super(message, options);
  }
}

/** What happens after an error that starts a new generation. */
export const NEW_GENERATION_NEXT =
  "nothing to do: the next sync starts a new generation with a fresh snapshot";
