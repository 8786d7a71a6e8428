/** Percent-decoding of URL parts for the replica URL parsers, failing with their own message. */

/** decodeURIComponent, or `fail` with a hint showing the URL form `example` (never a URIError). */
export function percentDecode(
  text: string,
  fail: (reason: string, hint: string) => never,
  example: string,
): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return fail("it has an invalid percent-encoding", `use ${example}; write "%" as %25`);
  }
}
