/** Checks a replica's WAL segments for gaps, duplicates and disorder, decoding every segment. */
import { expect } from "bun:test";
import { concatBytes } from "../../src/format/bytes.ts";
import { decodeLz4Frame } from "../../src/format/lz4-frame.ts";
import { scanWal } from "../../src/sqlite/wal.ts";
import type { ReplicaClient } from "../../src/storage/replica-client.ts";

/**
 * For each generation: WAL indexes are consecutive, each starts at offset 0, every segment starts where
 * the previous one ended (no gap, no overlap), and the concatenation of an index is one valid WAL whose
 * checksum chain covers every byte. Returns the number of segments checked.
 */
export async function expectContinuousReplica(client: ReplicaClient): Promise<number> {
  let checked = 0;
  for (const generation of await client.generations()) {
    const segments = await client.walSegments(generation);
    const byIndex = new Map<number, Uint8Array[]>();
    let prevIndex = -1;
    let expectOffset = 0;
    for (const seg of segments) {
      const bytes = await client.readWalSegment(generation, seg.index, seg.offset);
      expect(bytes).not.toBeNull();
      const data = decodeLz4Frame(bytes as Uint8Array);
      if (seg.index !== prevIndex) {
        if (prevIndex >= 0) expect(seg.index).toBe(prevIndex + 1);
        expect(seg.offset).toBe(0);
        prevIndex = seg.index;
        expectOffset = 0;
        byIndex.set(seg.index, []);
      }
      expect({ generation, index: seg.index, offset: seg.offset }).toEqual({
        generation,
        index: seg.index,
        offset: expectOffset,
      });
      expectOffset += data.length;
      byIndex.get(seg.index)?.push(data);
      checked++;
    }
    for (const [index, parts] of byIndex) {
      const wal = concatBytes(parts);
      const { scan } = scanWal(wal);
      expect({ generation, index, validEnd: scan.validEnd }).toEqual({
        generation,
        index,
        validEnd: wal.length,
      });
    }
  }
  return checked;
}
