/**
 * The base of walship's errors. The message is for people and may be reworded; beside it each error
 * carries what programs read instead:
 * - `code`: stable and machine-readable, a string union per domain (ConfigErrorCode, StorageErrorCode,
 *   ...). Advice, exit codes and retry decisions are chosen by it, never by matching message text;
 * - `operation` and `subject`: what walship was doing ("list", "load config") and to what (a key, a
 *   file, a URL), when that is known;
 * - `hint`: a concrete next step, which the CLI prints as "Try: …" and the replicator logs as `hint`;
 * - `cause`: the error behind it, as ES2022 defines it.
 *
 * This module imports nothing, so every folder may use it. The pure codecs (`sqlite/`, `format/`) may
 * import only each other: their errors carry a `code` of their own instead.
 */

export interface WalshipErrorOptions<C extends string> {
  code: C;
  /** What walship was doing, as a verb phrase: "list", "load config", "decrypt". */
  operation?: string | undefined;
  /** What it was done to: an object key, a file, a URL, a database path. */
  subject?: string | undefined;
  /** A concrete fix or next step, without a leading "Try:". */
  hint?: string | undefined;
  cause?: unknown;
}

export class WalshipError<C extends string = string> extends Error {
  override name = "WalshipError";
  readonly code: C;
  readonly operation: string | undefined;
  readonly subject: string | undefined;
  readonly hint: string | undefined;

  constructor(message: string, options: WalshipErrorOptions<C>) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code;
    this.operation = options.operation;
    this.subject = options.subject;
    this.hint = options.hint;
  }
}
