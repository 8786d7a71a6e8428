/**
 * Where backups are when a replica URL holds none: one level up (a config without `path:` puts the
 * replica at the bucket root, so `s3://bucket/app.db` is one level too deep) or one level down (a
 * directory of several databases' replicas). Used only to explain "no backups found".
 */
import * as path from "node:path";
import type { ReplicaTarget } from "../config/replica-target.ts";
import { generationsPath } from "../format/layout.ts";
import type { ObjectStore } from "./object-store.ts";

/** How many sub-prefixes are looked into, so that a huge bucket costs a bounded number of requests. */
const MAX_CHILDREN = 20;

export interface NearbyReplica {
  /** The replica's path: a directory, or a key prefix in the same bucket ("" for the bucket root). */
  path: string;
  where: "above" | "below";
}

/** `target` with another path, the rest (bucket, endpoint, options) unchanged. */
function atPath(target: ReplicaTarget, p: string): ReplicaTarget {
  return { ...target, path: p };
}

function parentOf(target: ReplicaTarget): string | null {
  if (target.type === "file") {
    const up = path.dirname(target.path);
    return up === target.path ? null : up;
  }
  if (target.path === "") return null;
  const slash = target.path.lastIndexOf("/");
  return slash < 0 ? "" : target.path.slice(0, slash);
}

function childOf(target: ReplicaTarget, name: string): string {
  if (target.type === "file") return path.join(target.path, name);
  return target.path === "" ? name : `${target.path}/${name}`;
}

/** Whether the key directory `dir` (`""` for the store's root) has a `generations/` directory in it. */
async function holdsGenerations(store: ObjectStore, dir: string): Promise<boolean> {
  const listing = await store.list(dir === "" ? "" : `${dir}/`, { delimiter: true });
  return listing.prefixes.includes(generationsPath(dir));
}

/**
 * Replica roots next to `target` that hold a `generations/` directory. Listing errors are left to the
 * caller's own error (this is advice, never the reason a command fails).
 */
export async function findNearbyReplicas(
  target: ReplicaTarget,
  open: (target: ReplicaTarget) => ObjectStore,
): Promise<NearbyReplica[]> {
  const found: NearbyReplica[] = [];
  const parent = parentOf(target);
  if (parent !== null && (await holdsGenerations(open(atPath(target, parent)), ""))) {
    found.push({ path: parent, where: "above" });
  }
  const here = open(target);
  const children = (await here.list("", { delimiter: true })).prefixes
    .filter((p) => p !== generationsPath(""))
    .sort()
    .slice(0, MAX_CHILDREN);
  for (const child of children) {
    if (await holdsGenerations(here, child)) found.push({ path: childOf(target, child), where: "below" });
  }
  return found;
}
