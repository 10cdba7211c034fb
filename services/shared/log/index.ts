import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * JSON logs, one line per event. `service` and `component` are the fields every line carries;
 * the level comes from MESHLESS_LOG_LEVEL (default info) so tests can silence services.
 */
export function createLogger(service: string, bindings: Record<string, unknown> = {}): Logger {
  const level = process.env.MESHLESS_LOG_LEVEL ?? 'info';
  return pino({ level, base: { service, pid: process.pid, ...bindings } });
}
