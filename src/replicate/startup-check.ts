/**
 * The start-up check of every replica. A definite answer (credentials rejected, no such bucket, a
 * directory this user may not write) stops walship: waiting cannot fix it, and a wrong key must not look
 * like a running backup. Anything else (the server not up yet, DNS not up yet, timeouts, 5xx) is logged
 * at once with its hint and left to the replica's own retries, so that after a power cut the other
 * replicas and the `-exec` application run while the NAS or MinIO comes up.
 */
import { errorHint, errorMessage } from "../observe/error-text.ts";
import type { Logger } from "../observe/log.ts";
import { StorageError } from "../storage/object-store.ts";
import { isDefiniteRefusal } from "../storage/storage-refusal.ts";
import type { Replica } from "./replica.ts";
import type { ReplicatedSet } from "./replicator.ts";

/**
 * How long start-up waits for the replicas to answer. A server that accepts connections but never
 * answers would otherwise hold the application back for the SDK's whole retry budget (minutes).
 */
export const STARTUP_CHECK_MS = 5_000;

type Outcome = { kind: "ok" } | { kind: "failed"; err: unknown } | { kind: "silent" };

/** Lists every replica at once; throws the first definite refusal, logs and records everything else. */
export async function checkReplicasAtStartup(
  sets: readonly ReplicatedSet[],
  log: Logger,
  waitMs = STARTUP_CHECK_MS,
): Promise<void> {
  const replicas = sets.flatMap((s) => s.replicas);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<Outcome>((resolve) => {
    timer = setTimeout(() => resolve({ kind: "silent" }), waitMs);
  });
  const outcomes = await Promise.all(
    replicas.map((r) =>
      Promise.race([
        Promise.all([r.client.generations(), r.client.store.checkWritable?.()]).then(
          (): Outcome => ({ kind: "ok" }),
          (err: unknown): Outcome => ({ kind: "failed", err }),
        ),
        deadline,
      ]),
    ),
  );
  clearTimeout(timer);
  const refusal = outcomes.findIndex((o) => o.kind === "failed" && isDefiniteRefusal(o.err));
  if (refusal >= 0) {
    const r = replicas[refusal]!;
    const err = (outcomes[refusal] as { err: unknown }).err;
    throw new StorageError(
      `Cannot use replica "${r.name}" of ${r.db.path}: ${errorMessage(err)}`,
      "list",
      "",
      errorHint(err),
      { cause: err },
    );
  }
  outcomes.forEach((o, i) => {
    const r = replicas[i]!;
    if (o.kind === "ok") r.reachability.succeeded();
    else if (o.kind === "failed") notReachable(r, o.err, log);
    else {
      notReachable(
        r,
        new StorageError(
          `Cannot reach replica "${r.name}" of ${r.db.path}: no answer within ${waitMs / 1000}s`,
          "list",
          "",
          "check that the storage is up and reachable from this host (address, port, firewall); walship retries meanwhile",
        ),
        log,
      );
    }
  });
}

function notReachable(r: Replica, err: unknown, log: Logger): void {
  r.reachability.failed(err);
  log.warn("replica not reachable at start-up; replicating the rest and retrying it", {
    db: r.db.path,
    replica: r.name,
    error: errorMessage(err),
    hint: errorHint(err),
  });
}
