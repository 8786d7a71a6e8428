/** The process logger, set from the config's `logging` section (or the defaults). */
import type { Config } from "../config/config.ts";
import { Logger } from "../observe/log.ts";

export function loggerFor(config: Pick<Config, "logging"> | null): Logger {
  const level = config?.logging.level ?? "info";
  const format = config?.logging.type === "json" ? "json" : "logfmt";
  // Logs go to stderr unless the config asks otherwise; stdout is kept for command output.
  const stream = config && config.logging.stderr === false ? process.stdout : process.stderr;
  return new Logger({ level, format, write: (line) => stream.write(`${line}\n`) });
}
