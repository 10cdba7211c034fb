import { pino, type Logger } from 'pino';
import { activeTraceIds } from '../tracing/index.js';
import { logStream } from './destination.js';

export type { Logger };

/** Where log lines go: stdout (the default), stderr, or an open file descriptor. */
export type LogDestination = 'stdout' | 'stderr' | number;

/**
 * MESHLESS_LOG_DEST: `stdout` (default), `stderr`, or a file descriptor number the process was
 * started with (`3` with `3>service.log`). A process whose stdout carries something else (a
 * benchmark's JSON result, a CNI plugin's reply) passes `destination` instead, for itself only:
 * the variable would reach its children too.
 */
export function logDestinationFromEnv(value = process.env.MESHLESS_LOG_DEST): LogDestination {
  if (value === undefined || value === '' || value === 'stdout') return 'stdout';
  if (value === 'stderr') return 'stderr';
  if (/^\d+$/.test(value)) return Number(value);
  throw new Error(`MESHLESS_LOG_DEST: '${value}' is not stdout, stderr or a file descriptor number`);
}

function fdOf(destination: LogDestination): number {
  return destination === 'stdout' ? 1 : destination === 'stderr' ? 2 : destination;
}

/**
 * JSON logs, one line per event, from every service: `time` in ISO 8601 (UTC), `level` as its
 * name, `component` (the service: datastore, sync, agent, rr, ...) and the bindings the caller
 * gives (`node`, `peer`, ...); child loggers add `revision` and the like. A part of a service logs
 * through `log.child({ subsystem: 'ipam' })`: a child that bound `component` again would write the
 * key twice in one line (pino appends bindings; it does not replace them). While a traced span is
 * active, the line carries its `trace_id` and `span_id` (OpenTelemetry's log correlation names),
 * so a log line leads to its trace. The level comes from MESHLESS_LOG_LEVEL (default info), the
 * destination from `options.destination`, else MESHLESS_LOG_DEST (default stdout). A line is
 * written at once, so it is out before the process exits, but a pipe nobody reads never holds the
 * event loop (destination.ts): SIGTERM still stops the service.
 */
export function createLogger(
  component: string,
  bindings: Record<string, unknown> = {},
  options: { destination?: LogDestination } = {},
): Logger {
  const level = process.env.MESHLESS_LOG_LEVEL ?? 'info';
  const destination = options.destination ?? logDestinationFromEnv();
  return pino(
    {
      level,
      base: { component, pid: process.pid, ...bindings },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      mixin: () => activeTraceIds() ?? {},
    },
    logStream(fdOf(destination)),
  );
}
