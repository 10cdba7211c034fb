// Line charts as inline SVG, drawn by our code so a report needs no script, font or stylesheet
// from anywhere (a report is a file people mail around and open years later). One chart: axes
// with round-number ticks, one polyline per series (its points in a data-points attribute too,
// so a test or a reader's script can read the data back), a legend. A log x axis is for latency
// CDFs, whose tails span decades.
import { escapeHtml } from './escape.js';

export interface Series {
  name: string;
  points: ReadonlyArray<readonly [number, number]>;
  /** Dashed: a reference line (the raw-socket floor, a target). */
  dashed?: boolean;
  /** Default: the series name's colour in this process (colourFor). */
  colour?: string;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  xScale?: 'linear' | 'log';
  /** Forces the y range to start at 0 and end at least here (a fraction: 1). */
  yMax?: number;
  width?: number;
  height?: number;
}

/** Colour-blind-safe palette (Okabe-Ito), in series order. */
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'];
const assigned = new Map<string, string>();
/** One colour per series name for the whole process, so "bird" has the same colour in every chart of a report. */
export function colourFor(name: string): string {
  let c = assigned.get(name);
  if (!c) assigned.set(name, (c = PALETTE[assigned.size % PALETTE.length]!));
  return c;
}

/** More points than a chart of this width can show are thinned to this many per series. */
const MAX_POINTS = 1500;
const M = { top: 34, right: 16, bottom: 46, left: 62 };

const fmt = (v: number): string => {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toPrecision(3)}k`;
  return String(+v.toPrecision(3));
};

/** Round-number ticks covering [lo, hi] (1, 2 or 5 × 10^k apart). */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) hi = lo + 1;
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.floor(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toPrecision(12));
  return out;
}

function thin(points: ReadonlyArray<readonly [number, number]>): ReadonlyArray<readonly [number, number]> {
  if (points.length <= MAX_POINTS) return points;
  const step = points.length / MAX_POINTS;
  const out: Array<readonly [number, number]> = [];
  for (let i = 0; i < MAX_POINTS; i++) out.push(points[Math.floor(i * step)]!);
  out.push(points[points.length - 1]!);
  return out;
}

export function lineChart(o: ChartOptions): string {
  const W = o.width ?? 720;
  const H = o.height ?? 320;
  const log = o.xScale === 'log';
  const all = o.series
    .flatMap((s) => s.points)
    .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!log || x > 0));
  const head = `<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${escapeHtml(o.title)}">`;
  const title = `<text x="${W / 2}" y="18" text-anchor="middle" class="title">${escapeHtml(o.title)}</text>`;
  if (all.length === 0)
    return `${head}${title}<text x="${W / 2}" y="${H / 2}" text-anchor="middle">no data</text></svg>`;

  let [x0, x1] = [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  let [y0, y1] = [Math.min(0, ...all.map((p) => p[1])), Math.max(o.yMax ?? 0, ...all.map((p) => p[1]))];
  if (y1 === y0) y1 = y0 + 1;
  let xTicks: number[];
  if (log) {
    const e0 = Math.floor(Math.log10(x0));
    const e1 = Math.max(e0 + 1, Math.ceil(Math.log10(x1)));
    [x0, x1] = [10 ** e0, 10 ** e1];
    xTicks = Array.from({ length: e1 - e0 + 1 }, (_, i) => 10 ** (e0 + i));
  } else {
    if (x1 === x0) x1 = x0 + 1;
    xTicks = niceTicks(x0, x1).filter((t) => t >= x0 - 1e-9 && t <= x1 + 1e-9);
  }
  const yTicks = niceTicks(y0, y1);
  y1 = Math.max(y1, yTicks[yTicks.length - 1]!);
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const sx = (x: number) =>
    M.left + (log ? (Math.log10(x) - Math.log10(x0)) / (Math.log10(x1) - Math.log10(x0)) : (x - x0) / (x1 - x0)) * pw;
  const sy = (y: number) => M.top + ph - ((y - y0) / (y1 - y0)) * ph;
  const r = (v: number) => Math.round(v * 10) / 10;

  const parts: string[] = [head, title];
  parts.push(`<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" class="plot"/>`);
  for (const t of yTicks) {
    if (t > y1 + 1e-9) continue;
    parts.push(
      `<line x1="${M.left}" x2="${M.left + pw}" y1="${r(sy(t))}" y2="${r(sy(t))}" class="grid"/><text x="${M.left - 6}" y="${r(sy(t)) + 4}" text-anchor="end">${fmt(t)}</text>`,
    );
  }
  for (const t of xTicks) {
    parts.push(
      `<line y1="${M.top}" y2="${M.top + ph}" x1="${r(sx(t))}" x2="${r(sx(t))}" class="grid"/><text x="${r(sx(t))}" y="${M.top + ph + 16}" text-anchor="middle">${fmt(t)}</text>`,
    );
  }
  parts.push(
    `<text x="${M.left + pw / 2}" y="${H - 8}" text-anchor="middle" class="axis">${escapeHtml(o.xLabel)}</text>`,
  );
  parts.push(
    `<text transform="translate(14 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle" class="axis">${escapeHtml(o.yLabel)}</text>`,
  );
  o.series.forEach((s) => {
    const pts = thin(s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!log || x > 0)));
    if (pts.length === 0) return;
    const colour = s.colour ?? colourFor(s.name);
    const data = pts.map(([x, y]) => `${+x.toPrecision(6)},${+y.toPrecision(6)}`).join(' ');
    const drawn = pts.map(([x, y]) => `${r(sx(x))},${r(sy(y))}`).join(' ');
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    parts.push(
      `<polyline class="series" data-series="${escapeHtml(s.name)}" data-points="${data}" points="${drawn}" fill="none" stroke="${colour}" stroke-width="1.8"${dash}><title>${escapeHtml(s.name)}</title></polyline>`,
    );
    if (pts.length === 1)
      parts.push(`<circle cx="${r(sx(pts[0]![0]))}" cy="${r(sy(pts[0]![1]))}" r="3" fill="${colour}"/>`);
  });
  // Legend: top left inside the plot, one row per series.
  o.series.forEach((s, i) => {
    const y = M.top + 14 + i * 16;
    const colour = s.colour ?? colourFor(s.name);
    parts.push(
      `<line x1="${M.left + 10}" x2="${M.left + 30}" y1="${y - 4}" y2="${y - 4}" stroke="${colour}" stroke-width="2.5"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/><text x="${M.left + 36}" y="${y}" class="legend">${escapeHtml(s.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('');
}
