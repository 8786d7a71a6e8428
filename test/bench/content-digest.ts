/** Content digests of benchmark databases, to check every restore against its source. */
import { Database } from "bun:sqlite";

/**
 * Row count and sha256 over every row of `items` in id order (`columns` must start with `id`), each value
 * tagged with its type and length, so the source and a restore can be compared without holding either.
 */
export function itemsDigest(file: string, columns: string): { rows: number; hash: string } {
  const db = new Database(file, { readwrite: true, create: false });
  try {
    const hasher = new Bun.CryptoHasher("sha256");
    const enc = new TextEncoder();
    const stmt = db.query(`SELECT ${columns} FROM items WHERE id > ? ORDER BY id LIMIT 2000`);
    const tag = new Uint8Array(9);
    const view = new DataView(tag.buffer);
    const feed = (type: number, bytes: Uint8Array): void => {
      view.setUint8(0, type);
      view.setFloat64(1, bytes.length);
      hasher.update(tag);
      hasher.update(bytes);
    };
    let rows = 0;
    let last = -1;
    for (;;) {
      const batch = stmt.values(last);
      if (batch.length === 0) break;
      for (const row of batch) {
        for (const v of row) {
          if (v === null) feed(0, new Uint8Array(0));
          else if (v instanceof Uint8Array) feed(1, v);
          else if (typeof v === "string") feed(2, enc.encode(v));
          else feed(3, enc.encode(String(v)));
        }
        rows++;
      }
      last = Number(batch[batch.length - 1]![0]);
    }
    stmt.finalize();
    return { rows, hash: hasher.digest("hex") };
  } finally {
    db.close(true);
  }
}
