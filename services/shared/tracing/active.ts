// What the rest of a process asks of tracing on its start-up and hot paths, without loading the
// OpenTelemetry API: whether tracing is on, the ids for a log line, the traceparent to send with a
// request, the span kinds. The API (~57 KB compiled, ~0.01 CPU-s to load) comes with the SDK in startTracing
// (tracing.ts), which hands it here; a process that never traces never loads it through these
// functions: the CLI's datastore client and the CNI plugin (injectTraceparent) and every logger
// (activeTraceIds) import this file alone (infra/build.test.ts checks `meshless get`'s graph).
import type * as Api from '@opentelemetry/api';

export const TRACEPARENT = 'traceparent';

type ApiParts = Pick<typeof Api, 'context' | 'propagation' | 'trace'>;

/** Set once startTracing registered the SDK; undefined: tracing is off in this process. */
let api: ApiParts | undefined;

/**
 * The API's SpanKind and SpanStatusCode values for the spans services open. Those are enums,
 * values: importing them from '@opentelemetry/api' loaded the whole API into every service at
 * start-up (~0.01 CPU-s each), tracing on or off. The test pins them to the API's.
 */
export const SPAN_KIND = {
  INTERNAL: 0,
  SERVER: 1,
  CLIENT: 2,
  PRODUCER: 3,
  CONSUMER: 4,
} as const satisfies Record<keyof typeof Api.SpanKind, Api.SpanKind>;
export const SPAN_STATUS_ERROR = 2 satisfies Api.SpanStatusCode;

/** Called by startTracing when the SDK, its propagator and context manager are registered. */
export function tracingStarted(parts: ApiParts): void {
  api = parts;
}

/** The API startTracing registered, or undefined while tracing is off (tracing.ts's spans use it). */
export function tracingApi(): ApiParts | undefined {
  return api;
}

/** Whether startTracing registered the SDK in this process: hot paths skip span work when not. */
export function isTracing(): boolean {
  return api !== undefined;
}

/** The active span's ids for log lines, or undefined (tracing off, or no recording span). */
export function activeTraceIds(): { trace_id: string; span_id: string } | undefined {
  const span = api?.trace.getActiveSpan();
  if (!span?.isRecording()) return undefined;
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}

/**
 * The given (default: active) context as a W3C traceparent, or undefined: tracing off (no
 * propagator is registered then, so the API would give nothing either) or no span active.
 */
export function injectTraceparent(ctx?: Api.Context): string | undefined {
  if (!api) return undefined;
  const carrier: Record<string, string> = {};
  api.propagation.inject(ctx ?? api.context.active(), carrier);
  return carrier[TRACEPARENT];
}
