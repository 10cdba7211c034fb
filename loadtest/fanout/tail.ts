// bench:fanout's account of the latency tail. With 100 changes to 10,000 agents the p99 of the
// 1,000,000 receipts is the slowest 10,000: about one change's worth, so one slow change decides
// the figure and run-to-run swings of 1.4-3× the floor say more about what that change met than
// about the fan-out. This keeps each change's own quantiles and the times the agents received
// the servers' pings, so a run tells whether its slowest changes coincided with a ping round (a
// Ping to every stream, then a Pong from every agent to read) or not (GC, the machine).

export interface ChangeStats {
  change: number;
  p50: number;
  p99: number;
  max: number;
  /** A ping reached the agents from 1 s before the change was made until its last receipt. */
  nearPing: boolean;
}

export interface TailSummary {
  /** The changes with the highest p99, slowest first. */
  slowest: ChangeStats[];
  changesNearPing: number;
  /** p99 of every receipt of the changes no ping came near (undefined: every change had one). */
  p99AwayFromPings: number | undefined;
  /** Ping rounds the agents saw during the changes. */
  pingRounds: number;
}

/** How long before a change a ping round still counts as near it (its pongs arrive after). */
const PING_BEFORE_MS = 1000;

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

const round2 = (x: number) => Math.round(x * 100) / 100;

export class ChangeTail {
  private readonly changes: Array<{ change: number; t0: number; latencies: Float64Array }> = [];
  /** First receipt of each ping id, by any agent (ids are per server, so keyed by server too). */
  private readonly pings = new Map<string, number>();

  /** One change's receipts (ms after t0, unsorted). */
  change(change: number, t0: number, latencies: number[]): void {
    this.changes.push({ change, t0, latencies: Float64Array.from(latencies).sort() });
  }

  /** An agent received ping `id` of the server at `endpoint` at `at` (ms, the benchmark's clock). */
  ping(endpoint: string, id: number, at: number): void {
    const key = `${endpoint}/${id}`;
    const seen = this.pings.get(key);
    if (seen === undefined || at < seen) this.pings.set(key, at);
  }

  summary(slowest = 5): TailSummary {
    const pingTimes = [...this.pings.values()];
    const first = this.changes[0]?.t0 ?? 0;
    const last = this.changes.reduce((m, c) => Math.max(m, c.t0 + quantile(c.latencies, 1)), 0);
    const stats = this.changes.map((c): ChangeStats => {
      const max = quantile(c.latencies, 1);
      return {
        change: c.change,
        p50: round2(quantile(c.latencies, 0.5)),
        p99: round2(quantile(c.latencies, 0.99)),
        max: round2(max),
        nearPing: pingTimes.some((t) => t >= c.t0 - PING_BEFORE_MS && t <= c.t0 + max),
      };
    });
    const away = this.changes.filter((_, i) => !stats[i]!.nearPing);
    const awayAll = new Float64Array(away.reduce((n, c) => n + c.latencies.length, 0));
    let at = 0;
    for (const c of away) {
      awayAll.set(c.latencies, at);
      at += c.latencies.length;
    }
    awayAll.sort();
    return {
      slowest: [...stats].sort((a, b) => b.p99 - a.p99).slice(0, slowest),
      changesNearPing: stats.filter((s) => s.nearPing).length,
      p99AwayFromPings: away.length > 0 ? round2(quantile(awayAll, 0.99)) : undefined,
      pingRounds: new Set([...this.pings].filter(([, t]) => t >= first - PING_BEFORE_MS && t <= last).map(([k]) => k))
        .size,
    };
  }
}
