/**
 * Litestream users type Go-style flags (`-config`, `-o`, `-timestamp`, `-exec=...`). cac only knows
 * `--long` and single-letter short flags, so long flags written with one dash are rewritten first.
 */

/** Rewrites `-name` / `-name=value` to `--name...` for every multi-letter flag before a `--`. */
export function normalizeArgs(argv: string[], valueFlags: ReadonlySet<string>): string[] {
  const out: string[] = [];
  let expectValue = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      out.push(...argv.slice(i));
      break;
    }
    // The value of a flag such as `-exec "-x"` is passed through untouched.
    if (expectValue) {
      out.push(arg);
      expectValue = false;
      continue;
    }
    const m = /^-([A-Za-z][A-Za-z0-9-]+)(=.*)?$/.exec(arg);
    const name = m ? m[1]! : /^--([A-Za-z][A-Za-z0-9-]*)$/.exec(arg)?.[1];
    out.push(m ? `--${m[1]}${m[2] ?? ""}` : arg);
    if (name && !m?.[2] && valueFlags.has(name)) expectValue = true;
  }
  return out;
}

/**
 * A string flag's value as typed. cac (through mri) turns numeric-looking values into numbers, which
 * would turn the all-digit generation name `0123456789012345` into 123456789012345, so the value is
 * taken from the raw arguments whenever cac did not keep a string. Repeated flags: the last wins, as
 * with Go's flag package.
 */
export function stringFlag(cli: { rawArgs: string[] }, name: string, parsed: unknown): string | undefined {
  if (parsed === undefined) return undefined;
  if (typeof parsed === "string") return parsed;
  let raw: string | undefined;
  const args = cli.rawArgs;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") break;
    if (arg === `--${name}`) raw = args[i + 1];
    else if (arg.startsWith(`--${name}=`)) raw = arg.slice(name.length + 3);
  }
  if (raw !== undefined) return raw;
  return Array.isArray(parsed) ? String(parsed.at(-1)) : String(parsed);
}
