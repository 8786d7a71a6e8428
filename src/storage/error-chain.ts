/**
 * An error and everything behind it: its `cause` chain and an AggregateError's `errors`, breadth first
 * (the outermost, most specific wrapper first), bounded and safe against cycles. Classifiers of
 * storage failures read codes from these, never message text.
 */

/** The deepest error a chain can reasonably have; a longer (or cyclic) one is cut here. */
const MAX_DEPTH = 8;

export function* errorChain(err: unknown): Generator<object> {
  const queue: { value: unknown; depth: number }[] = [{ value: err, depth: 0 }];
  const seen = new Set<unknown>();
  for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
    const { value, depth } = item;
    if (typeof value !== "object" || value === null || seen.has(value) || depth > MAX_DEPTH) continue;
    seen.add(value);
    yield value;
    const e = value as { cause?: unknown; errors?: unknown };
    queue.push({ value: e.cause, depth: depth + 1 });
    if (Array.isArray(e.errors)) for (const inner of e.errors) queue.push({ value: inner, depth: depth + 1 });
  }
}
