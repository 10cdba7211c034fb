// The HTML report of one benchmark run: one self-contained file (inline CSS and SVG, no script,
// nothing fetched) with the command, the machine and its load, then the benchmark's sections
// (tables, charts, notes) and the JSON result as printed on stdout.
import { escapeHtml } from './escape.js';
import type { MachineInfo } from './machine.js';

export type Cell = string | number | null | undefined;

export interface Section {
  heading: string;
  /** Paragraphs of plain text (escaped). */
  text?: string[];
  table?: { head: string[]; rows: Cell[][] };
  /** SVG charts from lineChart(). */
  charts?: string[];
}

export interface ReportData {
  benchmark: string;
  command: string;
  /** The source commit the run was built from. */
  revision: string;
  startedAt: Date;
  endedAt: Date;
  machine: MachineInfo;
  loadAtStart: readonly number[];
  loadAtEnd: readonly number[];
  sections: Section[];
  result: unknown;
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1180px;color:#1b1f24;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #d0d7de;padding:3px 8px;text-align:left}th{background:#f6f8fa}
td.n{text-align:right;font-variant-numeric:tabular-nums}
code,pre{font:12.5px ui-monospace,SFMono-Regular,Menlo,monospace;background:#f6f8fa}pre{padding:8px;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
.charts{display:flex;flex-wrap:wrap;gap:12px}
svg.chart{background:#fff;border:1px solid #d0d7de}svg.chart text{font:11px system-ui,sans-serif;fill:#1b1f24}
svg.chart .title{font-size:13px;font-weight:600}svg.chart .axis{font-size:12px}svg.chart .plot{fill:none;stroke:#8c959f}
svg.chart .grid{stroke:#eaeef2}
`;

function cell(v: Cell): string {
  if (v === null || v === undefined) return '<td>–</td>';
  if (typeof v === 'number')
    return `<td class="n">${escapeHtml(Number.isInteger(v) ? v.toLocaleString('en-US') : String(v))}</td>`;
  return `<td>${escapeHtml(v)}</td>`;
}

function section(s: Section): string {
  const out = [`<section><h2>${escapeHtml(s.heading)}</h2>`];
  for (const p of s.text ?? []) out.push(`<p>${escapeHtml(p)}</p>`);
  if (s.table) {
    out.push(`<table><thead><tr>${s.table.head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>`);
    for (const row of s.table.rows) out.push(`<tr>${row.map(cell).join('')}</tr>`);
    out.push('</tbody></table>');
  }
  if (s.charts?.length) out.push(`<div class="charts">${s.charts.join('')}</div>`);
  out.push('</section>');
  return out.join('\n');
}

export function renderReport(r: ReportData): string {
  const m = r.machine;
  const seconds = Math.round((r.endedAt.getTime() - r.startedAt.getTime()) / 100) / 10;
  const machine: Section = {
    heading: 'Run',
    table: {
      head: ['what', 'value'],
      rows: [
        ['command', r.command],
        ['source', r.revision],
        ['started', r.startedAt.toISOString()],
        ['ended', `${r.endedAt.toISOString()} (${seconds} s)`],
        ['CPU', `${m.cpuModel}, ${m.cores} cores`],
        ['memory', `${m.memoryGB} GB`],
        ['Node.js', m.node],
        ['kernel', m.kernel],
        ['load average (1, 5, 15 min) at start', r.loadAtStart.join(' ')],
        ['load average (1, 5, 15 min) at end', r.loadAtEnd.join(' ')],
      ],
    },
  };
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${escapeHtml(`${r.benchmark} — ${r.startedAt.toISOString()}`)}</title>`,
    `<style>${CSS}</style></head><body>`,
    `<h1>${escapeHtml(r.benchmark)}</h1>`,
    `<p><code>${escapeHtml(r.command)}</code></p>`,
    section(machine),
    ...r.sections.map(section),
    `<section><h2>JSON result (stdout)</h2><pre id="result">${escapeHtml(JSON.stringify(r.result, null, 1))}</pre></section>`,
    '</body></html>',
    '',
  ].join('\n');
}
