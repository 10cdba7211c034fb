// The two table styles of the CLI, both as calicoctl draws them:
//  - `tabTable`: Go's text/tabwriter with (minwidth 5, tabwidth 1, padding 3, ' '), the style of
//    `calicoctl get`: upper-case headings, every column as wide as its widest cell plus 3 spaces
//    and at least 5. Unlike tabwriter we drop the trailing spaces of each line (they carry nothing
//    and make copy-paste and diffs noisy).
//  - `boxTable`: go-pretty's default style, used by `calicoctl ipam show` and `node status`:
//    `+---+` rules, `| a | b |` rows, headings centred, chosen columns right-aligned.

/** Display width of a cell: code points, as tabwriter counts UTF-8 runes. */
function width(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

const TAB_MIN_WIDTH = 5;
const TAB_PADDING = 3;

/** Rows of cells (the first row is the headings) as tabwriter would lay them out, one line each. */
export function tabTable(rows: readonly (readonly string[])[]): string {
  const columns = Math.max(0, ...rows.map((r) => r.length));
  const widths: number[] = [];
  for (let c = 0; c < columns; c++) {
    let w = TAB_MIN_WIDTH;
    for (const row of rows) w = Math.max(w, width(row[c] ?? '') + TAB_PADDING);
    widths.push(w);
  }
  return rows
    .map(
      (row) =>
        row
          .map((cell, c) => cell + ' '.repeat(widths[c]! - width(cell)))
          .join('')
          .trimEnd() + '\n',
    )
    .join('');
}

export type Align = 'left' | 'right';

function pad(text: string, w: number, align: Align | 'center'): string {
  const gap = w - width(text);
  if (align === 'right') return ' '.repeat(gap) + text;
  if (align === 'center') {
    const left = Math.floor(gap / 2);
    return ' '.repeat(left) + text + ' '.repeat(gap - left);
  }
  return text + ' '.repeat(gap);
}

/** A go-pretty default-style box table; `align` is per column (default left), headings are centred. */
export function boxTable(
  headings: readonly string[],
  rows: readonly (readonly string[])[],
  align: readonly Align[] = [],
): string {
  const widths = headings.map((h, c) => Math.max(width(h), ...rows.map((r) => width(r[c] ?? ''))));
  const rule = '+' + widths.map((w) => '-'.repeat(w + 2)).join('+') + '+\n';
  const line = (cells: readonly string[], alignOf: (c: number) => Align | 'center') =>
    '| ' + widths.map((w, c) => pad(cells[c] ?? '', w, alignOf(c))).join(' | ') + ' |\n';
  let out = rule + line(headings, () => 'center') + rule;
  if (rows.length > 0) out += rows.map((r) => line(r, (c) => align[c] ?? 'left')).join('') + rule;
  return out;
}

/**
 * Go's `%.<precision>g` for a non-negative count: shortest of fixed and exponent notation with
 * trailing zeros removed and a two-digit exponent (`65536`, `1.2089e+24`, `1e+05`).
 */
export function formatG(n: number, precision = 5): string {
  if (n === 0) return '0';
  const exp = Math.floor(Math.log10(Math.abs(n)));
  // Go switches to exponent form when exp < -4 || exp >= precision (strconv 'g').
  if (exp < -4 || exp >= precision) {
    const [mantissa, e] = n.toExponential(precision - 1).split('e') as [string, string];
    const m = mantissa.includes('.') ? mantissa.replace(/0+$/, '').replace(/\.$/, '') : mantissa;
    const sign = e.startsWith('-') ? '-' : '+';
    const digits = e.replace(/^[+-]/, '').padStart(2, '0');
    return `${m}e${sign}${digits}`;
  }
  const fixed = n.toFixed(Math.max(0, precision - 1 - exp));
  return fixed.includes('.') ? fixed.replace(/0+$/, '').replace(/\.$/, '') : fixed;
}

/** Go's `%.f` of a percentage: rounded to an integer, ties to even (0.5 → 0, 12.5 → 12). */
export function formatPercent(part: number, whole: number): string {
  if (whole === 0) return '0%';
  const x = (100 * part) / whole;
  const floor = Math.floor(x);
  const r = x - floor === 0.5 ? (floor % 2 === 0 ? floor : floor + 1) : Math.round(x);
  return `${r}%`;
}
