/**
 * What the metrics and /healthz read from replication, as read-only views. observe/ sits below
 * replicate/: the database and replica classes there satisfy these interfaces as they are (structurally),
 * so nothing here names them, and a test can hand in plain objects.
 */

/** A position in a generation's WAL: the shadow WAL's end, or how far a replica has uploaded. */
export interface ObservedPos {
  readonly index: number;
  readonly offset: number;
}

/** Count, failures and time spent, per checkpoint mode. */
export interface ObservedCheckpoints {
  readonly count: number;
  readonly errors: number;
  readonly seconds: number;
}

/** What a database's counters say since start-up. */
export interface ObservedDatabaseStats {
  readonly syncCount: number;
  readonly syncErrorCount: number;
  readonly syncSeconds: number;
  /** Bytes appended to the shadow WAL. */
  readonly walBytes: number;
  readonly checkpoints: Readonly<Record<string, ObservedCheckpoints>>;
  readonly writerHolds: number;
  readonly writerHoldSeconds: number;
}

/** Why a database file is refused (not an SQLite database), with what to do. */
export interface ObservedRefusal {
  readonly message: string;
  readonly hint?: string | undefined;
}

export interface ObservedDatabase {
  readonly path: string;
  readonly walPath: string;
  readonly stats: ObservedDatabaseStats;
  /** The refusal in force, if the file is not one walship will replicate. */
  readonly fileGate: { readonly refusal: ObservedRefusal | null };
  /** The shadow WAL's end; null before the first capture. */
  pos(): ObservedPos | null;
}

/** Why the last attempts to reach a replica's storage failed, and since when. */
export interface ObservedFailure {
  readonly error: string;
  readonly hint: string | undefined;
  readonly since: Date;
  readonly attempts: number;
}

export interface ObservedReplica {
  readonly name: string;
  readonly db: { readonly path: string };
  /** How far it has uploaded; null until known. */
  readonly pos: ObservedPos | null;
  /** When it last held everything the shadow WAL had. */
  readonly caughtUpAt: Date | null;
  readonly stats: {
    readonly syncCount: number;
    readonly syncErrorCount: number;
    /** WAL bytes written, before compression. */
    readonly walBytes: number;
    /** Bytes uploaded, compressed, snapshots included. */
    readonly bytesUploaded: number;
  };
  readonly reachability: { readonly reachable: boolean; readonly failure: ObservedFailure | null };
  isCaughtUp(): boolean;
  lagSeconds(now?: number): number;
}

/** A replica's validations (`validation-interval`) since start-up. */
export interface ObservedValidation {
  readonly name: string;
  readonly db: { readonly path: string };
  readonly stats: {
    /** Runs by outcome: ok, mismatch, error. */
    readonly runs: Readonly<Record<string, number>>;
    readonly lastSuccessAt: Date | null;
    readonly bytesDownloaded: number;
    readonly writerHoldSeconds: number;
  };
}

/** A database and its replicas. */
export interface ObservedSet {
  readonly db: ObservedDatabase;
  readonly replicas: readonly ObservedReplica[];
  /** The replicas that are validated. */
  readonly validators?: readonly ObservedValidation[] | undefined;
}
