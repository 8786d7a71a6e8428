/** How long to wait before attempt `attempt + 1`: exponential from 100 ms, with jitter, at most `capMs`. */
export function backoffMs(attempt: number, capMs = Number.POSITIVE_INFINITY): number {
  return Math.min(capMs, 100 * 2 ** attempt) * (0.5 + Math.random() / 2);
}

/** Waits backoffMs(attempt, capMs). */
export function backoff(attempt: number, capMs?: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, backoffMs(attempt, capMs)));
}
