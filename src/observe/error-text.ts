/** How errors are shown: walship's errors carry an optional `hint` (a concrete fix) beside the message. */

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The error's `hint`, whatever its class. */
export function errorHint(err: unknown): string | undefined {
  const hint = err instanceof Error ? (err as Error & { hint?: unknown }).hint : undefined;
  return typeof hint === "string" && hint !== "" ? hint : undefined;
}
