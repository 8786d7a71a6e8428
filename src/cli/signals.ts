/**
 * SIGINT/SIGTERM handling for long-running commands, installed before any work starts: a signal that
 * arrives while start-up is still busy is remembered, never left to the default action (which would
 * kill the process without a final sync).
 */
export class ShutdownSignals {
  /** The first signal received, if any. */
  received: NodeJS.Signals | null = null;
  private readonly listeners: ((signal: NodeJS.Signals) => void)[] = [];
  private readonly handler = (signal: NodeJS.Signals) => {
    this.received ??= signal;
    for (const l of this.listeners) l(signal);
  };

  constructor() {
    process.on("SIGINT", this.handler);
    process.on("SIGTERM", this.handler);
  }

  /** Calls `listener` for every signal from now on (e.g. to forward it to a child). */
  onSignal(listener: (signal: NodeJS.Signals) => void): void {
    this.listeners.push(listener);
  }

  /** Resolves with the first signal (at once if one already arrived). */
  wait(): Promise<NodeJS.Signals> {
    if (this.received) return Promise.resolve(this.received);
    return new Promise((resolve) => this.listeners.push(resolve));
  }

  dispose(): void {
    process.off("SIGINT", this.handler);
    process.off("SIGTERM", this.handler);
  }
}
