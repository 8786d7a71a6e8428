/** The replica furthest behind: where the local shadow WAL may be cleaned up to, and where backlog begins. */
import { compareIndexOffset, type Pos } from "../format/layout.ts";

/**
 * The position of the replica furthest behind, or null while one has none in the current generation.
 */
export function replicaFloor({
  db,
  replicas,
}: {
  db: { generation: string };
  replicas: readonly { pos: Pos | null }[];
}): Pos | null {
  let floor: Pos | null = null;
  for (const r of replicas) {
    if (!r.pos || r.pos.generation !== db.generation) return null;
    if (!floor || compareIndexOffset(r.pos, floor) < 0) floor = r.pos;
  }
  return floor;
}
