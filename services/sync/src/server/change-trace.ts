// What a live change carries to the clients besides its bytes: the datastore's commit time (for
// the clients' end-to-end latency) and its trace context. Traced changes get one span each for
// their fan-out, however many streams receive them: the span starts when the batch reaches the
// fan-out and ends when the last task carrying it has been written to every target stream, and the
// deltas carry that span's context so that the clients' spans are its children. A server that is
// not tracing passes the datastore's traceparent through unchanged.
//
// Cheap when off: one isTracing() test per batch, and two more fields on each live SyncUpdate
// (an empty traceparent and a zero time are not even encoded). Rejected: a span per stream (10,000
// spans per change, and per-stream work on the encode-once path).
import type { Span } from '@opentelemetry/api';
import {
  contextFromTraceparent,
  contextWithSpan,
  injectTraceparent,
  isTracing,
  SPAN_KIND,
  tracer,
} from '../../../shared/tracing/index.js';
import type { SyncUpdate } from '../../../../proto/gen/meshless/v1/sync.js';
import type { Change } from '../cache/index.js';

const EMPTY = Buffer.alloc(0);

/** The spans of one fan-out batch; `traceparentOf` gives what the deltas carry. */
export class ChangeSpans {
  private holds = 0;
  private closed = false;
  /** Streams written to, over every task of the batch. */
  private streams = 0;

  private constructor(private readonly spans: Map<Change, { span: Span; traceparent: string | undefined }>) {}

  /** Spans for the traced changes of a batch at `revision`; undefined when there is nothing to trace. */
  static start(changes: readonly Change[], revision: number): ChangeSpans | undefined {
    if (!isTracing()) return undefined;
    let spans: Map<Change, { span: Span; traceparent: string | undefined }> | undefined;
    for (const c of changes) {
      if (!c.traceparent) continue;
      const parent = contextFromTraceparent(c.traceparent);
      const span = tracer().startSpan(
        'sync fan-out',
        {
          kind: SPAN_KIND.PRODUCER,
          attributes: {
            'meshless.revision': c.entry.revision,
            'meshless.key': c.entry.key,
            'meshless.batch_revision': revision,
          },
        },
        parent,
      );
      spans ??= new Map();
      spans.set(c, { span, traceparent: injectTraceparent(contextWithSpan(parent, span)) });
    }
    return spans && new ChangeSpans(spans);
  }

  traceparentOf(change: Change): string | undefined {
    return this.spans.get(change)?.traceparent ?? change.traceparent;
  }

  /** A fan-out task carries the batch: the spans stay open until it is done. */
  hold(): void {
    this.holds++;
  }

  /** A task carrying the batch was written to all its streams; `streams`: how many got it. */
  release(streams: number): void {
    this.holds--;
    this.streams += streams;
    this.endIfDone();
  }

  /** Every task of the batch was queued: end the spans now when none was. */
  close(): void {
    this.closed = true;
    this.endIfDone();
  }

  private endIfDone(): void {
    if (!this.closed || this.holds > 0) return;
    for (const { span } of this.spans.values()) {
      span.setAttribute('meshless.streams', this.streams);
      span.end();
    }
    this.spans.clear();
  }
}

/**
 * A live change as a SyncUpdate: the entry's state (or, with `deleted`, its deletion: an endpoint
 * that left a node), its commit time and its trace context.
 */
export function liveUpdate(change: Change, spans: ChangeSpans | undefined, deleted = false): SyncUpdate {
  const e = change.entry;
  return {
    key: e.key,
    revision: e.revision,
    value: deleted ? EMPTY : (e.value ?? EMPTY),
    deleted: deleted || e.value === undefined,
    traceparent: (spans ? spans.traceparentOf(change) : change.traceparent) ?? '',
    commitTimeUnixMicros: change.commitTimeUnixMicros ?? 0,
  };
}
