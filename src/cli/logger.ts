/** The process logger, set from the config's `logging` section (or the defaults). */
import type { Config } from "../config/config.ts";
import { Logger } from "../observe/log.ts";

/**
 * Logs always go to stderr, so stdout carries only command output. Litestream logs to stdout unless
 * `logging.stderr` is set; walship accepts that key but does not need it. `-v` means debug, whatever
 * the config says.
 */
export function loggerFor(config: Pick<Config, "logging"> | null, verbose = false): Logger {
  const level = verbose ? "debug" : (config?.logging.level ?? "info");
  const format = config?.logging.type === "json" ? "json" : "logfmt";
  return new Logger({ level, format, write: (line) => process.stderr.write(`${line}\n`) });
}
