/**
 * Wake-ups for the replication loops: stop (latched: every wait ends, now and later) and hurry (a pulse:
 * only the waits in progress end). Why not `Promise.race([sleep(ms), stopped])`: each race leaves a
 * reaction on `stopped` that lives until it settles, 64 bytes measured in Bun, so a loop ticking every
 * second for a year would keep about 2 GB. These waits take their listener back when they end.
 */
export class Signal {
  private latched = false;
  private readonly waiting = new Set<() => void>();

  /** Whether latch() was called. */
  get fired(): boolean {
    return this.latched;
  }

  /** Ends every wait on this signal, and every later one at once. */
  latch(): void {
    this.latched = true;
    this.pulse();
  }

  /** Ends the waits on this signal that are in progress. */
  pulse(): void {
    const waiting = [...this.waiting];
    this.waiting.clear();
    for (const wake of waiting) wake();
  }

  /** Resolves after `ms`, or as soon as one of `signals` fires. */
  static sleep(ms: number, ...signals: Signal[]): Promise<void> {
    return Signal.wait(signals, (done) => {
      const timer = setTimeout(done, ms);
      return () => clearTimeout(timer);
    });
  }

  /**
   * Resolves when `promise` settles (its outcome is not passed on), or as soon as one of `signals` fires.
   * The reaction left on `promise` lasts until it settles: give it short-lived promises only.
   */
  static until(promise: Promise<unknown>, ...signals: Signal[]): Promise<void> {
    return Signal.wait(signals, (done) => {
      promise.then(done, done);
      return () => {};
    });
  }

  private static wait(signals: Signal[], start: (done: () => void) => () => void): Promise<void> {
    return new Promise((resolve) => {
      if (signals.some((s) => s.latched)) return resolve();
      let cancel = (): void => {};
      const done = (): void => {
        cancel();
        for (const s of signals) s.waiting.delete(done);
        resolve();
      };
      for (const s of signals) s.waiting.add(done);
      cancel = start(done);
    });
  }
}
