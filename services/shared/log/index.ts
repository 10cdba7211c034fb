import { pino, type Logger } from 'pino';
import { activeTraceIds } from '../tracing/index.js';

export type { Logger };

/**
 * JSON logs, one line per event, from every service: `time` in ISO 8601 (UTC), `level` as its
 * name, `component` (the service: datastore, sync, agent, rr, ...) and the bindings the caller
 * gives (`node`, `peer`, ...); child loggers add `revision` and the like. A part of a service logs
 * through `log.child({ subsystem: 'ipam' })`: a child that bound `component` again would write the
 * key twice in one line (pino appends bindings; it does not replace them). While a traced span is
 * active, the line carries its `trace_id` and `span_id` (OpenTelemetry's log correlation names),
 * so a log line leads to its trace. The level comes from MESHLESS_LOG_LEVEL (default info).
 */
export function createLogger(component: string, bindings: Record<string, unknown> = {}): Logger {
  const level = process.env.MESHLESS_LOG_LEVEL ?? 'info';
  return pino({
    level,
    base: { component, pid: process.pid, ...bindings },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    mixin: () => activeTraceIds() ?? {},
  });
}
