/**
 * Errors raised while reading the configuration file and replica URLs.
 *
 * The CLI prints `message`, then `Try: <hint>` when a hint is present, and exits with the
 * configuration exit code. Messages follow "Cannot <action> <thing>: <what is wrong>", in sentence
 * case and without a trailing period. They never contain secret values (access keys, passwords,
 * the `user:secret@` part of a URL).
 */
import { WalshipError } from "../errors/walship-error.ts";

/** What is wrong with the configuration or a replica URL; stable, for programs (see WalshipError). */
export type ConfigErrorCode =
  /** No config file was found, or the one named does not exist. */
  | "config-not-found"
  /** The config file exists but cannot be read (permissions, a directory). */
  | "config-unreadable"
  /** The config file (or an environment variable it relies on) holds something walship cannot use. */
  | "config-invalid"
  /** A replica URL walship cannot use. */
  | "replica-url-invalid"
  /** An age identity or recipient file that cannot be read or holds no usable key. */
  | "age-key-file-invalid"
  /** A database path that the config does not list. */
  | "database-not-configured";

export interface ConfigErrorOptions {
  /** Default `config-invalid`. */
  code?: ConfigErrorCode;
  /** Default "load config". */
  operation?: string;
  /** Default the config file. */
  subject?: string;
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
export class ConfigError extends WalshipError<ConfigErrorCode> {
  override name = "ConfigError";
  readonly file?: string;
  readonly key?: string;
  readonly line?: number;
  readonly column?: number;

  constructor(message: string, options: ConfigErrorOptions = {}) {
    super(message, {
      code: options.code ?? "config-invalid",
      operation: options.operation ?? "load config",
      subject: options.subject ?? options.file,
      hint: options.hint,
      cause: options.cause,
    });
    this.file = options.file;
    this.key = options.key;
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
    super(`Cannot parse replica URL "${shown}": ${reason}`, {
      code: "replica-url-invalid",
      operation: "parse replica URL",
      subject: shown,
      ...options,
    });
    this.url = shown;
    this.reason = reason;
  }
}
