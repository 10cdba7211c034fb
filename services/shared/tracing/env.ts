// Whether the standard OpenTelemetry environment asks for traces. Its own file, free of imports, so
// that the CLI can ask on every start without loading the OpenTelemetry API.

/** The endpoint traces go to, or undefined when tracing is off. */
export function tracingEndpoint(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.OTEL_SDK_DISABLED === 'true' || env.OTEL_TRACES_EXPORTER === 'none') return undefined;
  return env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT || undefined;
}
