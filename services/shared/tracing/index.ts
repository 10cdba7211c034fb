export { tracingEndpoint } from './env.js';
export { TRACEPARENT, startTracing, isTracing, activeTraceIds, tracer, injectTraceparent, contextFromTraceparent, inSpan } from './tracing.js';
export type { Tracing } from './tracing.js';
