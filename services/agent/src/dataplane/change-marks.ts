// End-to-end change latency and the dataplane's trace spans. A live change arrives with the time
// the datastore committed it (the KV message's timestamp, stamped by the NATS server) and, when
// the write was traced, a trace context continuing the agent's receive span. The dataplane marks
// the changes a pass takes in, and when that pass has written the kernel it records each one's
// latency (stage "programmed") and ends one span per traced change ("dataplane program").
//
// The clock of the NATS server that stamped the commit and this host's clock may differ: across
// hosts the figure includes their skew (NTP keeps it to about a millisecond); a negative
// difference counts as 0. Snapshots and resumes carry no commit time, so only live changes count.
import type { Meter, Span } from '@opentelemetry/api';
import {
  contextFromTraceparent,
  isTracing,
  SPAN_KIND,
  SPAN_STATUS_ERROR,
  tracer,
} from '../../../shared/tracing/index.js';

/** Seconds from 1 ms to 10 s: loopback changes land in the first buckets, a lagging agent in the last. */
export const CHANGE_LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export type LatencyStage = 'received' | 'programmed';

/** Records one change's latency at a stage. */
export type ChangeLatency = (seconds: number, stage: LatencyStage) => void;

const histograms = new WeakMap<Meter, ChangeLatency>();

/** The `meshless_agent_change_latency_seconds` histogram of `meter` (one instrument per meter). */
export function changeLatency(meter: Meter): ChangeLatency {
  let record = histograms.get(meter);
  if (!record) {
    const h = meter.createHistogram('meshless_agent_change_latency_seconds', {
      description:
        'time from the datastore committing a change to the agent: received (applied to its state) or programmed (the dataplane pass that took it in wrote the kernel); live changes only',
      unit: 's',
      advice: { explicitBucketBoundaries: CHANGE_LATENCY_BUCKETS },
    });
    const attrs = { received: { stage: 'received' }, programmed: { stage: 'programmed' } } as const;
    record = (seconds, stage) => h.record(seconds, attrs[stage]);
    histograms.set(meter, record);
  }
  return record;
}

/** Seconds since a commit time (µs since the epoch), never negative. */
export function secondsSince(commitTimeUnixMicros: number): number {
  const nowMicros = (performance.timeOrigin + performance.now()) * 1000;
  return Math.max(0, nowMicros - commitTimeUnixMicros) / 1e6;
}

/** What the dataplane keeps of a live change until a pass has programmed it. */
export interface ChangeMark {
  readonly revision: number | undefined;
  readonly commitTimeUnixMicros: number | undefined;
  readonly traceparent: string | undefined;
}

/** A change as the dataplane receives it: AgentUpdate's optional fields. */
export interface MarkedChange {
  readonly revision?: number;
  readonly commitTimeUnixMicros?: number;
  readonly traceparent?: string;
}

/**
 * Marks kept for the next pass. Bounded: an agent whose passes fail for a long time keeps the
 * newest MAX marks (the older ones' latency is then not recorded: it is no longer a figure of
 * the change path but of the outage).
 */
export class ChangeMarks {
  static readonly MAX = 10_000;
  private marks: ChangeMark[] = [];

  add(changes: Iterable<MarkedChange>): void {
    for (const c of changes) {
      if (!c.commitTimeUnixMicros && !c.traceparent) continue;
      this.marks.push({
        revision: c.revision,
        commitTimeUnixMicros: c.commitTimeUnixMicros,
        traceparent: c.traceparent,
      });
    }
    if (this.marks.length > ChangeMarks.MAX) this.marks.splice(0, this.marks.length - ChangeMarks.MAX);
  }

  /** Takes the marks of the changes the pass about to start reads. */
  begin(node: string): PassMarks | undefined {
    if (this.marks.length === 0) return undefined;
    const marks = this.marks;
    this.marks = [];
    return new PassMarks(marks, node, this);
  }

  /** A failed pass: its changes wait for the next one (latency only; their spans ended failed). */
  requeue(marks: readonly ChangeMark[]): void {
    const latencyOnly: ChangeMark[] = marks
      .filter((m) => m.commitTimeUnixMicros)
      .map((m) => ({ ...m, traceparent: undefined }));
    this.marks = latencyOnly.concat(this.marks);
    if (this.marks.length > ChangeMarks.MAX) this.marks.splice(0, this.marks.length - ChangeMarks.MAX);
  }
}

/** The marks of one pass, with a "dataplane program" span per traced change. */
export class PassMarks {
  private readonly spans: Span[] = [];

  constructor(
    private readonly marks: readonly ChangeMark[],
    node: string,
    private readonly owner: ChangeMarks,
  ) {
    if (!isTracing()) return;
    for (const m of marks) {
      if (!m.traceparent) continue;
      const attributes = {
        'meshless.node': node,
        ...(m.revision === undefined ? {} : { 'meshless.revision': m.revision }),
      };
      this.spans.push(
        tracer().startSpan(
          'dataplane program',
          { kind: SPAN_KIND.INTERNAL, attributes },
          contextFromTraceparent(m.traceparent),
        ),
      );
    }
  }

  /** The pass wrote the kernel: record latencies, end spans with the pass's figures. */
  done(latency: ChangeLatency | undefined, result: { added: number; removed: number; programmed: number }): void {
    if (latency)
      for (const m of this.marks)
        if (m.commitTimeUnixMicros) latency(secondsSince(m.commitTimeUnixMicros), 'programmed');
    for (const span of this.spans) {
      span.setAttributes({
        'meshless.routes_added': result.added,
        'meshless.routes_removed': result.removed,
        'meshless.routes_programmed': result.programmed,
      });
      span.end();
    }
  }

  failed(err: Error): void {
    for (const span of this.spans) {
      span.recordException(err);
      span.setStatus({ code: SPAN_STATUS_ERROR, message: err.message });
      span.end();
    }
    this.owner.requeue(this.marks);
  }
}
