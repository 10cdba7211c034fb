export { tracingEndpoint } from './env.js';
export {
  TRACEPARENT,
  startTracing,
  isTracing,
  activeTraceIds,
  tracer,
  injectTraceparent,
  contextFromTraceparent,
  inSpan,
  continueTraces,
} from './tracing.js';
export type { Tracing, TraceHop } from './tracing.js';
