// Latency recorded in an HDR histogram (hdr-histogram-js, the TypeScript port of Gil Tene's
// HdrHistogram): every sample is kept at 3 significant digits in a fixed log-linear bucket layout,
// so percentiles up to the maximum are exact to 0.1 % whatever the number of samples, and the
// memory does not grow with them. Values are recorded in microseconds (the histogram counts
// integers); the API takes and returns milliseconds. The alternative, sorting an array of every
// sample, is exact but grows with the run (1,000 agents × 1,000 changes = 1 M doubles) and gives
// no shape to plot without keeping it all.
import { build, type Histogram } from 'hdr-histogram-js';

/** Percentiles in ms, rounded to 0.01 ms; `count` samples. */
export interface LatencySummary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** Quantiles the CDF is drawn at: dense in the body, then 99, 99.9, 99.99 and the maximum. */
const CDF_QUANTILES = [...Array.from({ length: 50 }, (_, i) => i * 2), 99.5, 99.9, 99.99, 100];

const r2 = (x: number) => Math.round(x * 100) / 100;

export class LatencyHistogram {
  private readonly h: Histogram;

  constructor(readonly name: string) {
    // 1 µs to 1 h to start with; autoResize grows the top when a larger value comes.
    this.h = build({
      lowestDiscernibleValue: 1,
      highestTrackableValue: 3_600_000_000,
      numberOfSignificantValueDigits: 3,
      autoResize: true,
      useWebAssembly: false,
    });
  }

  /** Records one latency in ms (below 1 µs counts as 1 µs: the clock's resolution here). */
  record(ms: number): void {
    if (!Number.isFinite(ms)) throw new RangeError(`${this.name}: latency must be a finite number of ms, got ${ms}`);
    this.h.recordValue(Math.max(1, Math.round(ms * 1000)));
  }

  recordAll(ms: Iterable<number>): void {
    for (const x of ms) this.record(x);
  }

  get count(): number {
    return this.h.totalCount;
  }

  /**
   * The value at percentile `p` (0-100), in ms. HDR reports the top of the value's bucket (within
   * 0.1 %); capped at the exact maximum so that p99.9 never reads above max.
   */
  at(p: number): number {
    return this.h.totalCount === 0 ? 0 : Math.min(this.h.getValueAtPercentile(p), this.h.maxValue) / 1000;
  }

  summary(): LatencySummary {
    if (this.h.totalCount === 0) return { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };
    return {
      count: this.h.totalCount,
      min: r2(this.h.minNonZeroValue / 1000),
      mean: r2(this.h.mean / 1000),
      p50: r2(this.at(50)),
      p90: r2(this.at(90)),
      p99: r2(this.at(99)),
      p999: r2(this.at(99.9)),
      max: r2(this.h.maxValue / 1000),
    };
  }

  /** The CDF as [ms, fraction of samples ≤ ms] points, for a plot. */
  cdf(): Array<[number, number]> {
    if (this.h.totalCount === 0) return [];
    return CDF_QUANTILES.map((q) => [q === 100 ? this.h.maxValue / 1000 : this.at(q), q / 100]);
  }
}
