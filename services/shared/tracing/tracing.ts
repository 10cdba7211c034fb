// Distributed traces across Meshless's hops, with OpenTelemetry JS and OTLP export. Off unless the
// standard environment asks for it: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT
// (with OTEL_TRACES_EXPORTER not "none" and OTEL_SDK_DISABLED not "true"). Protocol from
// OTEL_EXPORTER_OTLP_TRACES_PROTOCOL / OTEL_EXPORTER_OTLP_PROTOCOL: http/protobuf (the default) or
// http/json. Sampling: OTEL_TRACES_SAMPLER(_ARG) when set, else parent-based with a trace-id ratio
// of OTEL_TRACES_SAMPLER_ARG (default 1): a hop follows the decision of the hop before it.
//
// Off costs nothing measurable: neither the SDK nor the API is imported (startTracing imports both
// when tracing is on), spans are a no-op one, and injectTraceparent() returns undefined at once.
//
// A trace context crosses each hop as a W3C `traceparent` string: gRPC metadata (CLI → datastore),
// a NATS message header on the KV write (datastore → sync servers and reflectors), a field of the
// sync protocol's deltas (sync server → agents).
import { tracingEndpoint } from './env.js';
import { injectTraceparent, isTracing, SPAN_STATUS_ERROR, TRACEPARENT, tracingApi, tracingStarted } from './active.js';
import type { Attributes, Context, Span, SpanContext, SpanKind, SpanOptions, Tracer } from '@opentelemetry/api';

export interface Tracing {
  /** Exports what is buffered and stops; call before the process exits. */
  shutdown(): Promise<void>;
}

const OFF: Tracing = { shutdown: async () => undefined };

/**
 * Registers the SDK for this process when the environment asks for tracing; otherwise does
 * nothing. `service` becomes service.name `meshless-<service>`; `attributes` go on the resource
 * (e.g. the node name of an agent).
 */
export async function startTracing(
  service: string,
  attributes: Record<string, string> = {},
  env: NodeJS.ProcessEnv = process.env,
): Promise<Tracing> {
  const endpoint = tracingEndpoint(env);
  if (!endpoint) return OFF;
  const protocol = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL || 'http/protobuf';
  if (protocol !== 'http/protobuf' && protocol !== 'http/json') {
    throw new Error(`OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=${protocol} is not supported: use http/protobuf or http/json`);
  }
  const [api, sdk, core, hooks, resources, exporterModule] = await Promise.all([
    import('@opentelemetry/api').then(named),
    import('@opentelemetry/sdk-trace-base').then(named),
    import('@opentelemetry/core').then(named),
    import('@opentelemetry/context-async-hooks').then(named),
    import('@opentelemetry/resources').then(named),
    (protocol === 'http/json'
      ? import('@opentelemetry/exporter-trace-otlp-http')
      : import('@opentelemetry/exporter-trace-otlp-proto')
    ).then(named),
  ]);
  // The exporters read the endpoint variables themselves (OTEL_EXPORTER_OTLP_ENDPOINT gets
  // /v1/traces appended, the TRACES one is used as it is), as the specification says.
  const exporter = new exporterModule.OTLPTraceExporter();
  const ratio = env.OTEL_TRACES_SAMPLER_ARG === undefined ? 1 : Number(env.OTEL_TRACES_SAMPLER_ARG);
  if (!(ratio >= 0 && ratio <= 1))
    throw new Error(`OTEL_TRACES_SAMPLER_ARG must be a ratio 0-1, got '${env.OTEL_TRACES_SAMPLER_ARG}'`);
  const provider = new sdk.BasicTracerProvider({
    resource: resources.resourceFromAttributes({ 'service.name': `meshless-${service}`, ...attributes }),
    ...(env.OTEL_TRACES_SAMPLER
      ? {}
      : { sampler: new sdk.ParentBasedSampler({ root: new sdk.TraceIdRatioBasedSampler(ratio) }) }),
    spanProcessors: [new sdk.BatchSpanProcessor(exporter, { scheduledDelayMillis: 500 })],
  });
  api.context.setGlobalContextManager(new hooks.AsyncLocalStorageContextManager().enable());
  api.propagation.setGlobalPropagator(new core.W3CTraceContextPropagator());
  api.trace.setGlobalTracerProvider(provider);
  tracingStarted({ context: api.context, propagation: api.propagation, trace: api.trace });
  return {
    async shutdown() {
      await provider.forceFlush().catch(() => undefined);
      await provider.shutdown().catch(() => undefined);
    },
  };
}

/**
 * A CommonJS package's exports through a dynamic import(): Node puts the named exports on the
 * namespace, a bundle (dist/) may leave them under `default` only.
 */
function named<T extends object>(mod: T): T {
  return (mod as { default?: T }).default && !(Object.keys(mod).length > 1) ? (mod as { default: T }).default : mod;
}

/** The span of every operation while tracing is off: records nothing, as the API's no-op span. */
const NOOP_CONTEXT: SpanContext = { traceId: '0'.repeat(32), spanId: '0'.repeat(16), traceFlags: 0 };
const NOOP_SPAN: Span = {
  spanContext: () => NOOP_CONTEXT,
  setAttribute: () => NOOP_SPAN,
  setAttributes: () => NOOP_SPAN,
  addEvent: () => NOOP_SPAN,
  addLink: () => NOOP_SPAN,
  addLinks: () => NOOP_SPAN,
  setStatus: () => NOOP_SPAN,
  updateName: () => NOOP_SPAN,
  end: () => undefined,
  isRecording: () => false,
  recordException: () => undefined,
};
const NOOP_TRACER: Tracer = {
  startSpan: () => NOOP_SPAN,
  startActiveSpan: ((name: string, ...rest: unknown[]) =>
    (rest.at(-1) as (s: Span) => unknown)(NOOP_SPAN)) as Tracer['startActiveSpan'],
};

/** Meshless's tracer (a no-op one while tracing is off). */
export function tracer(): Tracer {
  return tracingApi()?.trace.getTracer('meshless') ?? NOOP_TRACER;
}

/**
 * The context a received traceparent continues (the active one when there is none). While
 * tracing is off there is no context to continue: `base`, or an empty one.
 */
export function contextFromTraceparent(traceparent: string | undefined, base?: Context): Context {
  const api = tracingApi();
  if (!api) return base ?? EMPTY_CONTEXT;
  const from = base ?? api.context.active();
  if (!traceparent) return from;
  return api.propagation.extract(from, { [TRACEPARENT]: traceparent });
}

/** `parent` with `span` as its active span, e.g. to inject the span's traceparent. */
export function contextWithSpan(parent: Context, span: Span): Context {
  return tracingApi()?.trace.setSpan(parent, span) ?? parent;
}

/** What contextFromTraceparent gives while tracing is off (the API's ROOT_CONTEXT is as empty). */
const EMPTY_CONTEXT: Context = {
  getValue: () => undefined,
  setValue: () => EMPTY_CONTEXT,
  deleteValue: () => EMPTY_CONTEXT,
};

/**
 * Runs `fn` inside a new span (child of `parent`, default the active context), ends it when `fn`
 * settles, records an exception as the span's error. While tracing is off this is `fn(noopSpan)`.
 */
export async function inSpan<T>(
  name: string,
  options: SpanOptions & { parent?: Context },
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const api = tracingApi();
  if (!api) return fn(NOOP_SPAN);
  const parent = options.parent ?? api.context.active();
  const span = tracer().startSpan(name, options, parent);
  try {
    return await api.context.with(api.trace.setSpan(parent, span), () => fn(span));
  } catch (err) {
    span.recordException(err as Error);
    span.setStatus({ code: SPAN_STATUS_ERROR, message: err instanceof Error ? err.message : String(err) });
    throw err;
  } finally {
    span.end();
  }
}

/** Spans started by continueTraces, ended together. */
export interface TraceHop {
  /** Ends every span (as failed with `error` when given). */
  end(error?: unknown): void;
}

/**
 * One hop of a change that crossed a process boundary with its trace context: starts a span
 * `name` (child of the item's traceparent) for each item that carries one, and replaces the item's
 * traceparent with that span's, so the next hop continues from here. Undefined while tracing is off
 * or when no item is traced: one boolean test and a loop over the batch, nothing allocated.
 */
export function continueTraces<T extends { traceparent?: string }>(
  name: string,
  items: readonly T[],
  attributes: (item: T) => Attributes,
  kind?: SpanKind,
): TraceHop | undefined {
  if (!isTracing()) return undefined;
  let spans: Span[] | undefined;
  for (const item of items) {
    if (!item.traceparent) continue;
    const parent = contextFromTraceparent(item.traceparent);
    const span = tracer().startSpan(
      name,
      { attributes: attributes(item), ...(kind === undefined ? {} : { kind }) },
      parent,
    );
    (item as { traceparent?: string }).traceparent =
      injectTraceparent(contextWithSpan(parent, span)) ?? item.traceparent;
    (spans ??= []).push(span);
  }
  if (!spans) return undefined;
  const all = spans;
  return {
    end(error) {
      for (const span of all) {
        if (error !== undefined) {
          span.recordException(error as Error);
          span.setStatus({
            code: SPAN_STATUS_ERROR,
            message: error instanceof Error ? error.message : String(error),
          });
        }
        span.end();
      }
    },
  };
}
