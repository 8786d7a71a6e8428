/** A logger for tests that keeps lines in memory (and prints them when WALSHIP_TEST_LOG=1). */
import { Logger } from "../../src/observe/log.ts";

export function memoryLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const log = new Logger({
    level: "debug",
    format: "logfmt",
    write: (line) => {
      lines.push(line);
      if (process.env.WALSHIP_TEST_LOG === "1") process.stderr.write(`${line}\n`);
    },
  });
  return { log, lines };
}
