/**
 * Turns backups found next to an empty replica into something to type: the same URL (or directory)
 * pointing one level up or down, or, for a replica from the config, the `path:` to set.
 */

import { isReplicaUrl } from "../config/replica-url.ts";
import { findNearbyReplicas, type NearbyReplica } from "../storage/nearby-replicas.ts";
import { openReplicaClient } from "../storage/open.ts";
import type { InspectReplica } from "./replica-source.ts";

export interface NearbyAdvice {
  /** "found backups one level up at s3://bucket, ..." */
  found: string;
  /** The command or config change to try. */
  hint: string;
}

/**
 * Looks next to every replica that held nothing. `typed` is the replica URL or directory the user gave,
 * or null in config mode (then the advice is the `path:` to set). Null when nothing was found.
 */
export async function nearbyAdvice(
  typed: string | null,
  replicas: readonly InspectReplica[],
  restoreCommand: (source: string) => string,
): Promise<NearbyAdvice | null> {
  const places: string[] = [];
  const hints: string[] = [];
  for (const r of replicas) {
    let found: NearbyReplica[];
    try {
      found = await findNearbyReplicas(r.target, (t) => openReplicaClient(t, r.credentials).store);
    } catch {
      continue; // advice only: the "no backups" error stands on its own
    }
    for (const f of found) {
      const level = f.where === "above" ? "one level up" : "one level down";
      const source = typed === null ? null : retarget(typed, r.target.path, f.path);
      if (source !== null) {
        places.push(`${level} at ${source}`);
        hints.push(restoreCommand(source));
      } else {
        places.push(`${level}, at path "${f.path}" of replica "${r.name}"`);
        hints.push(`set path: "${f.path}" for replica "${r.name}" in the config`);
      }
    }
  }
  if (places.length === 0) return null;
  return { found: `found backups ${places.join("; ")}`, hint: hints.join(", or ") };
}

/**
 * `typed` (a URL or a directory) with its trailing `oldPath` replaced by `newPath`, or null when the
 * URL does not end with it (then the caller names the path instead).
 */
export function retarget(typed: string, oldPath: string, newPath: string): string | null {
  if (!isReplicaUrl(typed)) return newPath;
  const url = new URL(typed);
  const pathname = decodeURIComponent(url.pathname).replace(/\/+$/, "");
  let base: string;
  if (pathname === oldPath) base = "";
  else if (oldPath === "") base = `${pathname}/`;
  else if (pathname.endsWith(`/${oldPath}`)) base = pathname.slice(0, pathname.length - oldPath.length);
  else return null;
  url.pathname = `${base}${newPath}`.replace(/\/+$/, "") || "/";
  return url.toString();
}
