// Reading a service's /metrics: the Prometheus text exposition format 0.0.4 (what the OpenTelemetry
// Prometheus exporter serves), and quantiles from cumulative histogram buckets the way PromQL's
// histogram_quantile() computes them (linear interpolation inside the bucket). The dashboard reads
// the services' existing metrics rather than a private API, so what it shows is what an operator's
// Prometheus would scrape.

export interface Sample {
  name: string;
  labels: Readonly<Record<string, string>>;
  value: number;
}

/** Every sample of one scrape, grouped by metric name. */
export type Scrape = ReadonlyMap<string, readonly Sample[]>;

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)(?:\s+-?\d+)?$/;

function parseValue(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text);
}

/** `{a="x",b="y\"z"}` → { a: 'x', b: 'y"z' } (escapes per the format: \\, \", \n). */
function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 1;
  while (i < text.length - 1) {
    while (text[i] === ',' || text[i] === ' ') i++;
    if (i >= text.length - 1) break;
    const eq = text.indexOf('=', i);
    if (eq < 0 || text[eq + 1] !== '"') throw new Error(`malformed labels in metrics line: ${line}`);
    const name = text.slice(i, eq).trim();
    let value = '';
    let j = eq + 2;
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] === '\\') {
        j++;
        value += text[j] === 'n' ? '\n' : text[j];
      } else value += text[j];
    }
    if (j >= text.length) throw new Error(`unterminated label value in metrics line: ${line}`);
    labels[name] = value;
    i = j + 1;
  }
  return labels;
}

/** Parses a text exposition; comments and blank lines are skipped, a malformed line throws. */
export function parsePrometheusText(text: string): Scrape {
  const out = new Map<string, Sample[]>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) throw new Error(`malformed metrics line: ${line}`);
    const value = parseValue(m[3]!);
    if (Number.isNaN(value) && m[3] !== 'NaN') throw new Error(`malformed value in metrics line: ${line}`);
    const sample: Sample = { name: m[1]!, labels: m[2] ? parseLabels(m[2], line) : {}, value };
    const list = out.get(sample.name);
    if (list) list.push(sample);
    else out.set(sample.name, [sample]);
  }
  return out;
}

function matches(labels: Readonly<Record<string, string>>, want: Readonly<Record<string, string>>): boolean {
  for (const [k, v] of Object.entries(want)) if (labels[k] !== v) return false;
  return true;
}

/** The sum of every sample of `name` whose labels include `want` (undefined when there is none). */
export function sumOf(scrape: Scrape, name: string, want: Readonly<Record<string, string>> = {}): number | undefined {
  let total: number | undefined;
  for (const s of scrape.get(name) ?? []) if (matches(s.labels, want)) total = (total ?? 0) + s.value;
  return total;
}

/** Cumulative bucket counts by upper bound (`le`), summed over the series matching `want`, ascending. */
export function bucketsOf(
  scrape: Scrape,
  name: string,
  want: Readonly<Record<string, string>> = {},
): Array<[le: number, count: number]> {
  const byLe = new Map<number, number>();
  for (const s of scrape.get(`${name}_bucket`) ?? []) {
    if (!matches(s.labels, want) || s.labels.le === undefined) continue;
    const le = parseValue(s.labels.le);
    byLe.set(le, (byLe.get(le) ?? 0) + s.value);
  }
  return [...byLe.entries()].sort((a, b) => a[0] - b[0]);
}

/** Buckets observed between two scrapes of the same histogram (a counter reset counts from zero). */
export function bucketDelta(
  now: ReadonlyArray<[number, number]>,
  before: ReadonlyArray<[number, number]>,
): Array<[number, number]> {
  const prev = new Map(before);
  const reset = now.some(([le, c]) => c < (prev.get(le) ?? 0));
  return now.map(([le, c]) => [le, reset ? c : c - (prev.get(le) ?? 0)]);
}

/**
 * The q-quantile (0 < q < 1) of cumulative buckets, as PromQL's histogram_quantile: linear inside
 * the bucket that holds the rank, the highest finite bound when it falls in +Inf. Undefined when
 * nothing was observed.
 */
export function histogramQuantile(q: number, buckets: ReadonlyArray<[number, number]>): number | undefined {
  const total = buckets.length ? buckets[buckets.length - 1]![1] : 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const [le, count] of buckets) {
    if (count >= rank) {
      if (le === Infinity) return lower;
      if (count === below) return le;
      return lower + (le - lower) * ((rank - below) / (count - below));
    }
    lower = le;
    below = count;
  }
  return lower;
}
