/**
 * A one-line progress display for long operations (bytes, objects, rate, ETA), redrawn in place. Only
 * on a terminal: off a terminal it prints nothing, and the command's final summary line is all there is.
 */

export interface ProgressCounts {
  bytesDone: number;
  bytesTotal: number;
  objectsDone: number;
  objectsTotal: number;
}

/** Redraws at most this often, so a fast restore does not spend its time printing. */
const REDRAW_MS = 100;

export class ProgressLine {
  private readonly started: number;
  private lastDraw = 0;
  private drawn = false;

  constructor(
    private readonly stream: { isTTY?: boolean; write(s: string): unknown },
    private readonly label: string,
    private readonly now: () => number = Date.now,
  ) {
    this.started = now();
  }

  update(p: ProgressCounts): void {
    if (!this.stream.isTTY) return;
    const now = this.now();
    if (now - this.lastDraw < REDRAW_MS && p.objectsDone < p.objectsTotal) return;
    this.lastDraw = now;
    this.stream.write(`\r\x1b[2K${formatProgress(this.label, p, now - this.started)}`);
    this.drawn = true;
  }

  /** Clears the line so the summary that follows starts clean. */
  done(): void {
    if (this.drawn) this.stream.write("\r\x1b[2K");
  }
}

export function formatProgress(label: string, p: ProgressCounts, elapsedMs: number): string {
  const rate = elapsedMs > 0 ? (p.bytesDone / elapsedMs) * 1000 : 0;
  const remaining = p.bytesTotal - p.bytesDone;
  const eta = rate > 0 && remaining > 0 ? `ETA ${Math.ceil(remaining / rate)}s` : "";
  return [
    label,
    `${formatBytes(p.bytesDone)}/${formatBytes(p.bytesTotal)}`,
    `${p.objectsDone}/${p.objectsTotal} objects`,
    `${formatBytes(rate)}/s`,
    eta,
  ]
    .filter(Boolean)
    .join("  ");
}

export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${Math.round(v)} B` : `${v.toFixed(1)} ${units[u]}`;
}
