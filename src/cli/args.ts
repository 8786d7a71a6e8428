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
