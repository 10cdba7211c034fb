export { startTelemetry } from './telemetry.js';
export type { Telemetry, TelemetryOptions, ReadinessCheck } from './telemetry.js';
export { Shutdown } from './shutdown.js';
