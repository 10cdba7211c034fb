// What a long-running command (a service, a reflector) needs and a resource command does not: the
// JSON logger (pino) and the shutdown coordinator (which lives with OpenTelemetry's metrics). Both
// are imported here, on first use, so `meshless --help` and `meshless get` never load them.
import type { Logger } from '../../shared/log/index.js';
import type { Shutdown } from '../../shared/telemetry/index.js';

/** A logger for `name` and a Shutdown whose SIGTERM/SIGINT handlers are installed. */
export async function serviceRuntime(name: string, bindings?: Record<string, unknown>): Promise<{ log: Logger; shutdown: Shutdown }> {
  const [{ createLogger }, { Shutdown }] = await Promise.all([import('../../shared/log/index.js'), import('../../shared/telemetry/index.js')]);
  const log = createLogger(name, bindings);
  const shutdown = new Shutdown(log);
  shutdown.installSignalHandlers();
  return { log, shutdown };
}
