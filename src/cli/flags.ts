/**
 * Command-line flags as Litestream users type them, read from one table per command.
 *
 * Go's `flag` package is the model: `-name` and `--name` are the same flag, a value follows as the next
 * word or after `=`, and an on/off flag takes a value only after `=` (`-dry-run=false`), so it never
 * swallows the word that follows it. Unlike Go, flags may also come after positionals (walship's own
 * documentation has always allowed `restore URL -o out.db`); `--` ends the flags. Values stay strings
 * as typed: an all-digit generation name must not become a number.
 */
import { didYouMean } from "../config/did-you-mean.ts";
import { UsageError } from "./errors.ts";

export interface FlagSpec {
  /** The long name, without dashes: `if-db-not-exists`. */
  name: string;
  /** A second name: `o` for `output`. */
  alias?: string;
  /** `boolean` flags are on/off; `string` flags take a value, named `value` in the help (`PATH`). */
  kind: "boolean" | "string";
  value?: string;
  help: string;
}

export interface ParsedFlags {
  /** The command's positionals, in order. */
  positionals: string[];
  /** A string flag's value (the last one given), or undefined when absent. */
  string(name: string): string | undefined;
  /** An on/off flag: true when given bare or `=true`. */
  boolean(name: string): boolean;
}

// Go's strconv.ParseBool spellings, which `-flag=VALUE` accepts.
const TRUE = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const FALSE = new Set(["0", "f", "F", "FALSE", "false", "False"]);

/** Looks a flag up by its long name or alias. */
function find(specs: readonly FlagSpec[], name: string): FlagSpec | undefined {
  return specs.find((s) => s.name === name || s.alias === name);
}

/**
 * Parses `argv` (everything after the command name) against `specs`.
 *
 * @throws UsageError for an unknown flag (with the nearest known name), a missing value, or an on/off
 *   flag given a value that is not true or false.
 */
export function parseFlags(
  command: string,
  specs: readonly FlagSpec[],
  argv: readonly string[],
): ParsedFlags {
  const values = new Map<string, string | boolean>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    const m = /^--?([^-=][^=]*)(?:=([\s\S]*))?$/.exec(arg);
    if (!m) {
      positionals.push(arg); // a plain word, or `-` (stdin-style names are the command's business)
      continue;
    }
    const [, name = "", inline] = m;
    const spec = find(specs, name);
    if (!spec) {
      const near = didYouMean(
        name,
        specs.flatMap((s) => (s.alias ? [s.name, s.alias] : [s.name])),
      );
      throw new UsageError(
        `Cannot run walship ${command}: unknown flag ${arg.split("=")[0]}`,
        near
          ? `did you mean -${near}? (walship ${command} -h lists the flags)`
          : `walship ${command} -h lists the flags`,
      );
    }
    if (spec.kind === "boolean") {
      if (inline === undefined || TRUE.has(inline)) values.set(spec.name, true);
      else if (FALSE.has(inline)) values.set(spec.name, false);
      else {
        throw new UsageError(
          `Cannot use -${name}=${inline}: -${name} is on or off`,
          `-${name}, -${name}=true or -${name}=false`,
        );
      }
      continue;
    }
    let value = inline;
    if (value === undefined) {
      if (i + 1 >= argv.length) {
        throw new UsageError(
          `Cannot run walship ${command}: -${name} needs a value`,
          `-${name} ${spec.value ?? "VALUE"}`,
        );
      }
      value = argv[++i]!; // taken as is, even when it starts with a dash (`-exec "-x"`)
    }
    values.set(spec.name, value);
  }
  const declared = (name: string, kind: FlagSpec["kind"]) => {
    const spec = specs.find((s) => s.name === name);
    // A programming error, not a user's: the command read a flag its table does not declare.
    if (spec?.kind !== kind) throw new Error(`walship ${command}: no ${kind} flag named ${name}`);
  };
  return {
    positionals,
    string(name) {
      declared(name, "string");
      const v = values.get(name);
      return typeof v === "string" ? v : undefined;
    },
    boolean(name) {
      declared(name, "boolean");
      return values.get(name) === true;
    },
  };
}

/** The flags part of a command's help: one aligned line per flag, in table order. */
export function formatFlagHelp(specs: readonly FlagSpec[]): string {
  const left = specs.map((s) => {
    const names = s.alias ? `-${s.alias}, -${s.name}` : `-${s.name}`;
    return s.kind === "string" ? `${names} ${s.value ?? "VALUE"}` : names;
  });
  const width = Math.max(...left.map((l) => l.length));
  return specs.map((s, i) => `  ${left[i]!.padEnd(width)}  ${s.help}`).join("\n");
}
