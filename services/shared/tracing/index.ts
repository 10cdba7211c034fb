export { tracingEndpoint } from './env.js';
export {
  TRACEPARENT,
  SPAN_KIND,
  SPAN_STATUS_ERROR,
  isTracing,
  activeTraceIds,
  injectTraceparent,
} from './active.js';
export {
  startTracing,
  tracer,
  contextFromTraceparent,
  contextWithSpan,
  inSpan,
  continueTraces,
} from './tracing.js';
export type { Tracing, TraceHop } from './tracing.js';
