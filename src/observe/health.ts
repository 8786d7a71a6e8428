/**
 * The /healthz answer. It fails (503) while a database is refused (it will not replicate until someone
 * fixes its file) or a replica has been behind for longer than health-max-lag. A replica that is not
 * reachable is listed at once, with its error and fix, but fails the check only once it is behind for
 * that long: health-max-lag is there to ride out short outages.
 */
import { unhealthyReplicas } from "./metrics.ts";
import type { ObservedSet } from "./observed.ts";

export interface HealthReport {
  healthy: boolean;
  text: string;
}

export function healthReport(sets: readonly ObservedSet[], maxLagMs: number, now = Date.now()): HealthReport {
  const maxLag = `${maxLagMs / 1000}s`;
  const refused = sets.flatMap(({ db }) => {
    const e = db.fileGate.refusal;
    return e ? [`${e.message}.${e.hint ? ` Try: ${e.hint}` : ""}`] : [];
  });
  const behind = unhealthyReplicas(sets, maxLagMs, now);
  const unreachable = sets.flatMap(({ replicas }) =>
    replicas.flatMap((r) => {
      const f = r.reachability.failure;
      if (!f) return [];
      const fix = f.hint ? ` Try: ${f.hint}` : "";
      return [
        `${r.db.path} ${r.name} since=${f.since.toISOString()} failed_attempts=${f.attempts}: ${f.error}.${fix}`,
      ];
    }),
  );
  const healthy = refused.length === 0 && behind.length === 0;
  const sections: string[] = [];
  if (refused.length > 0) sections.push("databases refused:", ...refused);
  if (behind.length > 0) sections.push(`replicas behind for more than ${maxLag}:`, ...behind);
  if (unreachable.length > 0) {
    sections.push(
      healthy
        ? `ok, but replicas not reachable (retrying; this check fails once one is behind for more than ${maxLag}):`
        : "replicas not reachable (retrying):",
      ...unreachable,
    );
  }
  return { healthy, text: `${sections.length === 0 ? "ok" : sections.join("\n")}\n` };
}
