/**
 * Whether a replica's storage answered the last attempt to sync it, and while it does not, what failed
 * and since when: for /healthz, the metrics, and a log that reports an outage without a line per retry.
 */
import { errorHint, errorMessage } from "../observe/error-text.ts";
import { isNetworkFailure } from "../storage/network-advice.ts";
import { storageFailureCode } from "../storage/object-store.ts";
import { isRefusal } from "../storage/storage-refusal.ts";

/** While failures repeat unchanged, one reminder line this often; the retries in between log at debug. */
export const FAILURE_REMINDER_MS = 60_000;

export interface ReplicaFailure {
  error: string;
  hint: string | undefined;
  /** When the replica stopped answering (the first failure of this run of failures). */
  since: Date;
  /** Failed attempts since then. */
  attempts: number;
}

/** How a failed attempt should be logged: a new problem, a reminder of an ongoing one, or at debug. */
export type FailureReport = "new" | "reminder" | "repeat";

export class Reachability {
  private current: ReplicaFailure | null = null;
  private problem = "";
  private reportedAt = 0;

  get reachable(): boolean {
    return this.current === null;
  }

  get failure(): ReplicaFailure | null {
    return this.current;
  }

  failed(err: unknown, now = Date.now()): FailureReport {
    const error = errorMessage(err);
    const hint = errorHint(err);
    const previous = this.current;
    this.current = {
      error,
      hint,
      since: previous?.since ?? new Date(now),
      attempts: (previous?.attempts ?? 0) + 1,
    };
    const problem = problemOf(err);
    if (!previous || this.problem !== problem) {
      this.problem = problem;
      this.reportedAt = now;
      return "new";
    }
    if (now - this.reportedAt >= FAILURE_REMINDER_MS) {
      this.reportedAt = now;
      return "reminder";
    }
    return "repeat";
  }

  /** Records an answer; returns the failure it ends, if there was one. */
  succeeded(): ReplicaFailure | null {
    const ended = this.current;
    this.current = null;
    return ended;
  }
}

/**
 * What went wrong, whatever operation met it: one outage fails on whichever listing or upload comes
 * first, so a refusal or a network failure is keyed by its code; anything else by its message without
 * the keys.
 */
function problemOf(err: unknown): string {
  const code = storageFailureCode(err);
  if (code !== undefined && (isRefusal(code) || isNetworkFailure(code))) return code;
  return errorMessage(err).replace(/"[^"]*"/g, '""');
}
