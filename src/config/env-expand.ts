/**
 * `$VAR` / `${VAR}` expansion with the exact semantics of Go's `os.ExpandEnv`, which Litestream
 * applies to the whole config text (comments included) before YAML parsing. Reproducing its
 * corner cases keeps every existing litestream.yml meaning the same under walship.
 */

/** Looks up an environment variable; `undefined` means unset. */
export type EnvLookup = (name: string) => string | undefined;

// Go treats these single characters as complete variable names ($1, $$, $?, ...).
const SPECIAL_NAME = /^[*#$@!?\-0-9]$/;
const NAME_CHAR = /^[A-Za-z0-9_]$/;

/**
 * Expands `$NAME` and `${NAME}` in `text`. Unset variables become the empty string.
 *
 * - `NAME` is a run of `[A-Za-z0-9_]`, or one special character (`*#$@!?-` or a digit).
 * - `${...}` takes everything up to the first `}` as the name (no `${A:-default}` modifiers).
 * - `${}` is removed; an unterminated `${` loses the `${` and keeps the rest.
 * - A `$` followed by any other character, or at the end of the text, is kept.
 */
export function expandEnv(text: string, lookup: EnvLookup): string {
  let out = "";
  let i = 0;
  while (i < text.length) {
    const dollar = text.indexOf("$", i);
    if (dollar < 0 || dollar === text.length - 1) {
      out += text.slice(i);
      break;
    }
    out += text.slice(i, dollar);
    const { name, width } = shellName(text, dollar + 1);
    if (name !== "") {
      out += lookup(name) ?? "";
    } else if (width === 0) {
      out += "$"; // not followed by a name: Go leaves the dollar alone
    }
    // width > 0 with an empty name is bad syntax that Go silently eats.
    i = dollar + 1 + width;
  }
  return out;
}

/** Reads the variable name starting at `start` (just after a `$`); `width` is how much it consumed. */
function shellName(text: string, start: number): { name: string; width: number } {
  const first = text.charAt(start);
  if (first === "{") {
    if (SPECIAL_NAME.test(text.charAt(start + 1)) && text.charAt(start + 2) === "}") {
      return { name: text.charAt(start + 1), width: 3 };
    }
    const close = text.indexOf("}", start + 1);
    if (close < 0) return { name: "", width: 1 };
    if (close === start + 1) return { name: "", width: 2 };
    return { name: text.slice(start + 1, close), width: close - start + 1 };
  }
  if (SPECIAL_NAME.test(first)) return { name: first, width: 1 };
  let end = start;
  while (end < text.length && NAME_CHAR.test(text.charAt(end))) end++;
  return { name: text.slice(start, end), width: end - start };
}
