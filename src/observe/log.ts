/**
 * Structured logging: one line per event, logfmt by default (`time=… level=INFO msg="…" key=val`) or
 * JSON. Quiet at the default level: only state changes and problems, never per-sync chatter.
 */

export type Level = "debug" | "info" | "warn" | "error";
const RANK: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export type Fields = Record<string, string | number | boolean | undefined | null>;

export interface LoggerOptions {
  level: Level;
  format: "logfmt" | "json";
  write: (line: string) => void;
}

export class Logger {
  constructor(
    private readonly opts: LoggerOptions,
    private readonly base: Fields = {},
  ) {}

  /** A logger that adds `fields` to every line. */
  with(fields: Fields): Logger {
    return new Logger(this.opts, { ...this.base, ...fields });
  }

  enabled(level: Level): boolean {
    return RANK[level] >= RANK[this.opts.level];
  }

  debug(msg: string, fields?: Fields): void {
    this.log("debug", msg, fields);
  }
  info(msg: string, fields?: Fields): void {
    this.log("info", msg, fields);
  }
  warn(msg: string, fields?: Fields): void {
    this.log("warn", msg, fields);
  }
  error(msg: string, fields?: Fields): void {
    this.log("error", msg, fields);
  }

  private log(level: Level, msg: string, fields?: Fields): void {
    if (!this.enabled(level)) return;
    const all: Fields = {
      time: new Date().toISOString(),
      level: level.toUpperCase(),
      msg,
      ...this.base,
      ...fields,
    };
    this.opts.write(this.opts.format === "json" ? JSON.stringify(dropEmpty(all)) : logfmt(all));
  }
}

function dropEmpty(f: Fields): Fields {
  const out: Fields = {};
  for (const [k, v] of Object.entries(f)) if (v !== undefined && v !== null) out[k] = v;
  return out;
}

function logfmt(f: Fields): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(f)) {
    if (v === undefined || v === null) continue;
    const s = String(v);
    parts.push(`${k}=${/^[^\s"=\\]+$/.test(s) ? s : JSON.stringify(s)}`);
  }
  return parts.join(" ");
}

/** A logger to stderr, the default for every command. */
export function stderrLogger(level: Level = "info", format: "logfmt" | "json" = "logfmt"): Logger {
  return new Logger({ level, format, write: (line) => process.stderr.write(`${line}\n`) });
}
