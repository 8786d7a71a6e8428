/** Exit codes and the one-line error report every command shares. */
import { ConfigError } from "../config/errors.ts";
import { WalshipError } from "../errors/walship-error.ts";
import { errorHint, errorMessage } from "../observe/error-text.ts";
import { isNetworkFailure, networkAdvice } from "../storage/network-advice.ts";
import { classifyNetworkError } from "../storage/network-error.ts";
import { StorageError } from "../storage/object-store.ts";

export const EXIT_OK = 0;
/** Something failed while doing the work: storage, database, corrupt replica. */
export const EXIT_FAILURE = 1;
/** The command line or the configuration is wrong; nothing was attempted. */
export const EXIT_USAGE = 2;

/** A wrong command line: bad flags, missing or conflicting arguments. */
export class UsageError extends WalshipError<"usage"> {
  override name = "UsageError";
  constructor(message: string, hint?: string) {
    super(message, { code: "usage", operation: "parse the command line", hint });
  }
}

export function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError || err instanceof ConfigError) return EXIT_USAGE;
  return EXIT_FAILURE;
}

/** One line: what failed, and when known, what to do about it. */
export function formatError(err: unknown): string {
  const message = errorMessage(err);
  const hint = errorHint(err) ?? networkHint(err) ?? fallbackHint(err);
  const where =
    err instanceof ConfigError && err.file && !message.includes(err.file) ? ` (in ${err.file})` : "";
  const text = `${message}${where}`;
  return `walship: ${text}${hint ? `${/[.?!]$/.test(text) ? "" : "."} Try: ${hint}` : ""}`;
}

/**
 * Every error shows a next step, even one nobody anticipated: the command's help for a wrong command
 * line, otherwise the step-by-step check and the debug switch that shows where it failed.
 */
function fallbackHint(err: unknown): string {
  if (err instanceof UsageError || err instanceof ConfigError)
    return "walship COMMAND -h shows what a command takes";
  return "walship doctor checks the config and each replica step by step; WALSHIP_DEBUG=1 shows where this failed";
}

/**
 * The fix for a network failure that reached the top without a hint of its own (the S3 store's errors
 * carry theirs), chosen by its code: a StorageError's, or the runtime's `code` on anything else.
 */
function networkHint(err: unknown): string | undefined {
  if (err instanceof StorageError) {
    if (!isNetworkFailure(err.code)) return undefined;
    return networkAdvice({ kind: err.code, status: err.status }, { unknown: true }).fix;
  }
  const failure = classifyNetworkError(err);
  return failure === undefined ? undefined : networkAdvice(failure, { unknown: true }).fix;
}
