// The figures of the end-to-end runs, side by side: printed as a table at the end of the test file
// (and written as JSON to $MESHLESS_E2E_RESULTS when set, for loadtest/RESULTS.md).
import { writeFileSync } from 'node:fs';

const runs = new Map<string, Record<string, number | string>>();

export function recordFigures(setup: string, figures: Record<string, number | string>): void {
  const rounded = Object.fromEntries(
    Object.entries(figures).map(([k, v]) => [k, typeof v === 'number' ? Math.round(v) : v]),
  );
  runs.set(setup, { ...(runs.get(setup) ?? {}), ...rounded });
}

/** The table of every recorded run: one row per figure, one column per set-up. */
export function figuresTable(): string {
  const setups = [...runs.keys()];
  const keys = [...new Set(setups.flatMap((s) => Object.keys(runs.get(s)!)))];
  const rows = [['figure', ...setups], ...keys.map((k) => [k, ...setups.map((s) => String(runs.get(s)![k] ?? '-'))])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ')).join('\n');
}

export function writeFigures(): void {
  const path = process.env.MESHLESS_E2E_RESULTS;
  if (path) writeFileSync(path, `${JSON.stringify(Object.fromEntries(runs), null, 2)}\n`);
}
