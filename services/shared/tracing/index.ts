export { tracingEndpoint } from './env.js';
export { TRACEPARENT, isTracing, activeTraceIds, injectTraceparent } from './active.js';
export {
  startTracing,
  tracer,
  contextFromTraceparent,
  inSpan,
  continueTraces,
} from './tracing.js';
export type { Tracing, TraceHop } from './tracing.js';
