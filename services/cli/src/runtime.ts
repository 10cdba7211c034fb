// What a long-running command (a service, a reflector) needs and a resource command does not: the
// JSON logger (pino) and the shutdown coordinator (which lives with OpenTelemetry's metrics). Both
// are imported here, on first use, so `meshless --help` and `meshless get` never load them.
import type { Logger } from '../../shared/log/index.js';
import type { Shutdown } from '../../shared/telemetry/index.js';

/**
 * A logger for `name` and a Shutdown whose SIGTERM/SIGINT handlers are installed: the process exits
 * within `deadlineMs` of the first signal whatever its dependencies do, at once on a second.
 */
export async function serviceRuntime(
  name: string,
  bindings?: Record<string, unknown>,
  deadlineMs?: number,
): Promise<{ log: Logger; shutdown: Shutdown }> {
  const [{ createLogger }, { Shutdown }] = await Promise.all([
    import('../../shared/log/index.js'),
    import('../../shared/telemetry/index.js'),
  ]);
  const log = createLogger(name, bindings);
  const shutdown = new Shutdown(log, deadlineMs);
  shutdown.installSignalHandlers();
  // Traces when OTEL_EXPORTER_OTLP_* asks for them (the SDK is imported only then).
  const { startTracing, tracingEndpoint } = await import('../../shared/tracing/index.js');
  if (tracingEndpoint()) {
    const attributes = Object.fromEntries(Object.entries(bindings ?? {}).map(([k, v]) => [`meshless.${k}`, String(v)]));
    const tracing = await startTracing(name, attributes);
    shutdown.add('tracing', () => tracing.shutdown());
    log.info({ endpoint: tracingEndpoint() }, 'exporting traces');
  }
  return { log, shutdown };
}
