/**
 * Errors raised while reading the configuration file and replica URLs.
 *
 * The CLI prints `message`, then `Try: <hint>` when a hint is present, and exits with the
 * configuration exit code. Messages follow "Cannot <action> <thing>: <what is wrong>", in sentence
 * case and without a trailing period. They never contain secret values (access keys, passwords,
 * the `user:secret@` part of a URL).
 */

export interface ConfigErrorOptions {
  /** The config file being read, when there is one. */
  file?: string;
  /** Dotted key path of the offending value, e.g. `dbs[0].replicas[1].sync-interval`. */
  key?: string;
  /** A concrete fix, printed by the CLI as "Try: …". */
  hint?: string;
  /** 1-based position in the config file, when known. */
  line?: number;
  column?: number;
  cause?: unknown;
}

/** An invalid or unreadable configuration. */
export class ConfigError extends Error {
  override name = "ConfigError";
  readonly file?: string;
  readonly key?: string;
  readonly hint?: string;
  readonly line?: number;
  readonly column?: number;

  constructor(message: string, options: ConfigErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.file = options.file;
    this.key = options.key;
    this.hint = options.hint;
    this.line = options.line;
    this.column = options.column;
  }
}

/**
 * Removes the `user:password@` part of a URL so that it can be shown. Go's url.Parse also takes the
 * last `@` before the path as the end of the userinfo, so a password containing `@` is removed whole.
 */
export function redactUrl(url: string): string {
  // Also after a mistyped `scheme:/`, and after the control characters and spaces URL parsing strips or
  // drops: a password must never be echoed, however the URL is mangled.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what is matched
  return url.replace(/^([\x00-\x20]*[A-Za-z][A-Za-z0-9+.-]*:[/\\\t\n\r]*)[^/?#]*@/, "$1");
}

/** A replica URL that walship cannot use. `url` has any userinfo removed. */
export class ReplicaUrlError extends ConfigError {
  override name = "ReplicaUrlError";
  /** The URL as given, minus any `user:password@` part. */
  readonly url: string;
  /** What is wrong, without the "Cannot parse replica URL" prefix, so callers can embed it. */
  readonly reason: string;

  constructor(url: string, reason: string, options: ConfigErrorOptions = {}) {
    const shown = redactUrl(url);
    super(`Cannot parse replica URL "${shown}": ${reason}`, options);
    this.url = shown;
    this.reason = reason;
  }
}
