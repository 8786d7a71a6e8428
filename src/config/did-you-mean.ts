/** Suggests the intended name for a misspelt config key, query parameter or value. */

/**
 * Returns the candidate closest to `input`, or `undefined` when none is close enough.
 *
 * camelCase and snake_case spellings are compared in kebab-case (`syncInterval` finds
 * `sync-interval`); up to 2 edits are allowed (1 for names of 4 characters or fewer, where 2 edits
 * would match almost anything). Swapping two neighbouring letters counts as one edit.
 */
export function didYouMean(input: string, candidates: Iterable<string>): string | undefined {
  const wanted = toKebab(input);
  const maxDistance = wanted.length <= 4 ? 1 : 2;
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(wanted, toKebab(candidate));
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= maxDistance ? best : undefined;
}

function toKebab(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1-$2")
    .replace(/_/g, "-")
    .toLowerCase();
}

/**
 * Optimal-string-alignment distance: insertions, deletions, substitutions and transpositions of
 * adjacent characters each cost 1 (so "paht" is one edit from "path").
 */
export function editDistance(a: string, b: string): number {
  // rows[i][j] is the distance between a[0, i) and b[0, j).
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        row.push(j);
        continue;
      }
      const above = rows[i - 1] ?? [];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min((above[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (above[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, (rows[i - 2]?.[j - 2] ?? 0) + 1);
      }
      row.push(best);
    }
    rows.push(row);
  }
  return rows[a.length]?.[b.length] ?? 0;
}
