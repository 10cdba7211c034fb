// What the bench reads from a sync server's /metrics (Prometheus text).
import { get } from 'node:http';

function scrapeOnce(metricsPort: number): Promise<{ ok: boolean; text: string }> {
  return new Promise((resolve, reject) => {
    get(`http://127.0.0.1:${metricsPort}/metrics`, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ ok: res.statusCode === 200, text }));
    }).on('error', reject);
  });
}

/**
 * The server's metrics text. A service loads its metrics SDK on the first scrape (telemetry.ts)
 * and answers without its own series until then: ask again until they are there (up to ~10 s).
 */
async function scrape(metricsPort: number): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    const { ok, text } = await scrapeOnce(metricsPort);
    if (!ok) {
      process.stderr.write(`[fanout] /metrics of the sync server on port ${metricsPort}: ${text.trim()}\n`);
      return '';
    }
    if (text.includes('meshless_sync_') || attempt >= 20) return text;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Quantiles of the server's fan-out time, in ms (bucket upper bounds). */
export interface FanoutQuantiles {
  p50: number;
  p99: number;
  max: number;
  count: number;
  /**
   * Fan-outs slower than the histogram's last finite bound. A quantile among them is reported as
   * that bound (a lower bound of the truth): before, it was Infinity, which JSON prints as null,
   * so a slow run read as one without the metric.
   */
  overLastBound: number;
}

/**
 * The fan-out quantiles (meshless_sync_fanout_seconds, kind="deltas") in a /metrics text: from
 * the change batch reaching the fan-out to its last write to a stream.
 */
export function fanoutQuantiles(text: string): FanoutQuantiles {
  const buckets: Array<[number, number]> = [];
  for (const m of text.matchAll(/^meshless_sync_fanout_seconds_bucket\{([^}]*)\} (\d+)/gm)) {
    if (!m[1]!.includes('kind="deltas"')) continue;
    const le = /le="([^"]+)"/.exec(m[1]!)![1]!;
    buckets.push([le === '+Inf' ? Infinity : Number(le) * 1000, Number(m[2])]);
  }
  buckets.sort((a, b) => a[0] - b[0]);
  const count = buckets.at(-1)?.[1] ?? 0;
  const finite = buckets.filter(([le]) => Number.isFinite(le));
  const lastBound = finite.at(-1)?.[0] ?? 0;
  const at = (q: number) => Math.min(buckets.find(([, c]) => c >= q * count)?.[0] ?? 0, lastBound);
  return { p50: at(0.5), p99: at(0.99), max: at(1), count, overLastBound: count - (finite.at(-1)?.[1] ?? count) };
}

/** The server's own measure of its fan-out (fanoutQuantiles), from its /metrics. */
export async function serverFanoutMs(metricsPort: number): Promise<FanoutQuantiles> {
  return fanoutQuantiles(await scrape(metricsPort));
}

/**
 * Stream outcomes so far: resumes, streams closed and connections rejected, by reason
 * (`closed.lag`, `rejected.handshake-timeout`...). The difference over a failover shows whether
 * the orphans resumed once each or went round again.
 */
export async function streamCounts(metricsPort: number): Promise<Record<string, number>> {
  const text = await scrape(metricsPort);
  const out: Record<string, number> = {};
  const names: Record<string, string> = {
    meshless_sync_resumes_total: 'resumes',
    meshless_sync_streams_closed_total: 'closed',
    meshless_sync_connections_rejected_total: 'rejected',
  };
  for (const m of text.matchAll(/^(meshless_sync_[a-z_]+_total)(?:\{([^}]*)\})? (\d+)/gm)) {
    const name = names[m[1]!];
    if (!name) continue;
    const reason = /reason="([^"]+)"/.exec(m[2] ?? '')?.[1];
    const key = reason ? `${name}.${reason}` : name;
    out[key] = (out[key] ?? 0) + Number(m[3]);
  }
  return out;
}

/** after − before, keys that changed only. */
export function countsSince(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) if (v !== (before[k] ?? 0)) out[k] = v - (before[k] ?? 0);
  return out;
}
