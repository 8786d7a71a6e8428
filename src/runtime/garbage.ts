/**
 * Collections the runtime's garbage collector would not start by itself. The buffers the HTTP client
 * allocates for response bodies are not weighed by Bun's collector heuristics, so a restore that
 * downloads 500 MB in small objects stayed at 420 MB resident although nothing held those buffers any
 * more (measured: the WAL-heavy restore benchmark from the S3 test server). A full collection after
 * every 64 MB received brought it to 220-250 MB (Litestream: 210-230 MB) for 0.25 s of 3.8 s. On a busy
 * main thread collections cost more the more often they run (every 16 MB: +0.6-1.5 CPU-s on a 1.5 GiB
 * restore, memory given back and faulted in again), so the network's own buffers are received on the
 * download thread, which collects every 16 MB cheaply (storage/download-worker.ts). Where the runtime
 * offers no way to ask for a collection, this does nothing.
 */

/** Bytes received between two collections. */
const COLLECT_EVERY_BYTES = 64 * 1024 * 1024;

/** Counts bytes moved and asks for a full collection after every `everyBytes` of them. */
export class GarbagePacer {
  private sinceLast = 0;

  constructor(
    private readonly everyBytes = COLLECT_EVERY_BYTES,
    private readonly collect: () => void = collectGarbage,
  ) {}

  count(bytes: number): void {
    this.sinceLast += bytes;
    if (this.sinceLast < this.everyBytes) return;
    this.sinceLast = 0;
    this.collect();
  }
}

/** One pacer for every object read whole into memory: what matters is the total received. */
export const downloadGarbage = new GarbagePacer();

/**
 * One for every object replication writes. Each stored byte left about three behind (the compressed
 * blocks, the frame, the body with its capture times, and the S3 client's own copies), and a write flood
 * stores ~20 MB a second: between the collector's own runs that garbage took walship from ~150 MB to
 * 210-220 MB resident on the flood to the S3 test server. A full collection every 16 MB stored kept it at
 * 130-150 MB.
 */
export const uploadGarbage = new GarbagePacer(16 * 1024 * 1024);

function collectGarbage(): void {
  (globalThis as { Bun?: { gc(full: boolean): void } }).Bun?.gc(true);
}
