/**
 * Plain-text tables laid out the way Litestream's listing commands print them: Go's text/tabwriter
 * with minwidth 0, padding 2, space padding and no flags. Scripts written against Litestream's output
 * (awk on columns, diffs of saved listings) keep working only if the spacing is the same.
 */

const PADDING = 2;

/**
 * Lays out `header` and `rows`. Every cell but a line's last is a tab-terminated tabwriter cell, so it
 * is padded to its column's width plus two spaces; the last cell is written as is (no trailing spaces).
 * Rows may have different lengths; columns are then aligned per block of consecutive lines, as in Go.
 * Widths count code points, as tabwriter counts runes (`µs` is two wide). Ends with a newline.
 */
export function formatTable(header: string[], rows: string[][]): string {
  const lines = [header, ...rows].map((cells) => cells.map(clean));
  const out: string[] = lines.map(() => "");
  layout(lines, out, [], 0, lines.length);
  return out.map((l) => `${l}\n`).join("");
}

/**
 * tabwriter's recursive block formatting: a column exists for the run of consecutive lines that have a
 * terminated cell in it, and its width is the widest of those cells plus the padding. Lines are written
 * once all the widths that apply to them are known.
 */
function layout(lines: string[][], out: string[], widths: number[], from: number, to: number): void {
  const column = widths.length;
  let start = from;
  for (let i = from; i < to; i++) {
    if (column >= lines[i]!.length - 1) continue;
    // Line i opens a block for this column: earlier lines are complete with the current widths.
    write(lines, out, widths, start, i);
    start = i;
    let width = 0;
    for (; i < to && column < lines[i]!.length - 1; i++) {
      width = Math.max(width, runeCount(lines[i]![column]!) + PADDING);
    }
    layout(lines, out, [...widths, width], start, i);
    // Line i has no cell in this column, so the loop's i++ may skip it: it is written with `start`.
    start = i;
  }
  write(lines, out, widths, start, to);
}

function write(lines: string[][], out: string[], widths: number[], from: number, to: number): void {
  for (let i = from; i < to; i++) {
    const cells = lines[i]!;
    out[i] = cells
      .map((cell, j) => (j < widths.length ? cell + " ".repeat(widths[j]! - runeCount(cell)) : cell))
      .join("");
  }
}

function runeCount(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** A tab or newline inside a value would split cells or lines; values here never legitimately hold one. */
function clean(cell: string): string {
  return cell.replace(/[\t\r\n]/g, " ");
}
