export { startApiServer } from './server.js';
export type { ApiServer, ApiServerOptions } from './server.js';
export { Handlers } from './handlers.js';
export { createApiMetrics } from './metrics.js';
export type { ApiMetrics, MetricSources } from './metrics.js';
