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

/** Counts bytes received and asks for a full collection after every COLLECT_EVERY_BYTES of them. */
export class GarbagePacer {
  private sinceLast = 0;

  constructor(
    private readonly everyBytes = COLLECT_EVERY_BYTES,
    private readonly collect: () => void = collectGarbage,
  ) {}

  received(bytes: number): void {
    this.sinceLast += bytes;
    if (this.sinceLast < this.everyBytes) return;
    this.sinceLast = 0;
    this.collect();
  }
}

/** One pacer for every object read whole into memory: what matters is the total received. */
export const downloadGarbage = new GarbagePacer();

function collectGarbage(): void {
  (globalThis as { Bun?: { gc(full: boolean): void } }).Bun?.gc(true);
}
