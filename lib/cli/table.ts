import { displaySafe } from './output.js';

/**
 * Left-aligned columns separated by two spaces; the last column is not padded. Widths count code
 * points of the plain text as it will print (invisible characters escaped first, see displaySafe);
 * `style` decorates a column's cells (colour) after they are padded.
 */
export function table(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  style: Readonly<Record<number, (cell: string) => string>> = {},
): string {
  const all = [header, ...rows].map((r) => r.map(displaySafe));
  const widths = header.map((_, i) => Math.max(...all.map((r) => [...(r[i] ?? '')].length)));
  return all
    .map((r, rowIndex) =>
      r
        .map((cell, i) => {
          const padded = i === r.length - 1 ? cell : cell + ' '.repeat(widths[i]! - [...cell].length);
          const s = rowIndex > 0 ? style[i] : undefined;
          return s ? s(cell) + padded.slice(cell.length) : padded;
        })
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
