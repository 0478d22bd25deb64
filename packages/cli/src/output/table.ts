/** Renders rows as columns separated by two spaces, each as wide as its widest cell; no trailing spaces. */
export function formatTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>, indent = ''): string {
  const all = [headers, ...rows];
  const widths = headers.map((_, i) => Math.max(...all.map((r) => width(r[i] ?? ''))));
  const lines = all.map(
    (r) =>
      indent +
      headers
        .map((_, i) => {
          const cell = r[i] ?? '';
          return i === headers.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - width(cell));
        })
        .join('  ')
        .trimEnd(),
  );
  return lines.join('\n') + '\n';
}

/** Rows aligned as columns, without a header line. */
export function formatRows(rows: ReadonlyArray<readonly string[]>, indent = ''): string {
  const n = Math.max(0, ...rows.map((r) => r.length));
  return formatTable(
    Array.from({ length: n }, () => ''),
    rows,
    indent,
  )
    .split('\n')
    .slice(1)
    .join('\n');
}

/** Label/value pairs, labels padded to one width (for `inspect`). */
export function formatPairs(pairs: ReadonlyArray<readonly [string, string]>, indent = '  '): string {
  const w = Math.max(0, ...pairs.map(([k]) => width(k)));
  return pairs.map(([k, v]) => `${indent}${k}${' '.repeat(w - width(k))}  ${v}`.trimEnd()).join('\n') + '\n';
}

// Code points, not UTF-16 units, so ✓ and ✗ count as one column.
function width(s: string): number {
  return [...s].length;
}
