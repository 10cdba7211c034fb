// Metrics and health for every service, on one HTTP port:
//   GET /metrics  Prometheus text exposition, produced by the OpenTelemetry SDK
//   GET /livez    200 while the process runs its event loop
//   GET /readyz   200 once the service says it is ready (connected to NATS and caught up), else 503
// Services create instruments from `telemetry.meter`; names follow the Prometheus convention
// (`meshless_<service>_<thing>_<unit>`), so the exporter adds no suffix surprises. Every service
// also gets the process and runtime metrics of runtime.ts and `meshless_build_info`. Series carry
// no `otel_scope_name` label: each process has one meter, so the label said nothing.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Meter } from '@opentelemetry/api';
import { DeferredMeter } from './deferred-meter.js';
import { registerRuntimeMetrics } from './runtime.js';

export type ReadinessCheck = () => { ready: boolean; reason?: string };

const STARTING: ReadinessCheck = () => ({ ready: false, reason: 'starting (no readiness condition registered yet)' });

export interface Telemetry {
  readonly meter: Meter;
  /** The port actually bound (useful when 0 was asked for). */
  readonly port: number;
  /** Registers a readiness condition; the service is ready when every condition is. */
  addReadiness(name: string, check: ReadinessCheck): void;
  close(): Promise<void>;
}

export interface TelemetryOptions {
  service: string;
  host?: string;
  /** 0 picks a free port; negative disables the HTTP endpoint (and the meter keeps nothing). */
  port: number;
}

type Sdk = {
  exporter: import('@opentelemetry/exporter-prometheus').PrometheusExporter;
  provider: import('@opentelemetry/sdk-metrics').MeterProvider;
};

export async function startTelemetry(options: TelemetryOptions): Promise<Telemetry> {
  // The SDK is imported on the first scrape of /metrics, or earlier when the stand-in meter has
  // buffered too much (deferred-meter.ts): a service is ready, and routes, without it.
  let sdk: Promise<Sdk> | undefined;
  const loadSdk = (): Promise<Sdk> =>
    (sdk ??= (async () => {
      const [{ PrometheusExporter }, { MeterProvider }, { resourceFromAttributes }] = await Promise.all([
        import('@opentelemetry/exporter-prometheus').then(named),
        import('@opentelemetry/sdk-metrics').then(named),
        import('@opentelemetry/resources').then(named),
      ]);
      const exporter = new PrometheusExporter({
        preventServerStart: true,
        withoutTargetInfo: true,
        withoutScopeInfo: true,
      });
      const provider = new MeterProvider({
        resource: resourceFromAttributes({ 'service.name': `meshless-${options.service}` }),
        readers: [exporter],
      });
      meter.attach(provider.getMeter(`meshless-${options.service}`));
      return { exporter, provider };
    })());
  const meter = new DeferredMeter(() => void loadSdk().catch(() => undefined));
  if (options.port < 0) meter.detach();
  const stopRuntime = registerRuntimeMetrics(meter, options.service);
  const checks = new Map<string, ReadinessCheck>();

  let server: Server | undefined;
  let port = -1;
  if (options.port >= 0) {
    server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/metrics') {
        loadSdk().then(
          ({ exporter }) => exporter.getMetricsRequestHandler(req, res),
          (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics: ${err.message}\n`),
        );
        return;
      }
      if (path === '/livez') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
        return;
      }
      if (path === '/readyz') {
        // The endpoint is up before the service has said what ready means (its servers start after
        // telemetry, so their own failures are logged with a metrics port): no condition yet is
        // "starting", never ok, or a probe would send traffic to a server not yet listening.
        const registered = checks.size > 0 ? [...checks] : ([['service', STARTING]] as const);
        const failing = registered.map(([n, c]) => [n, c()] as const).filter(([, r]) => !r.ready);
        const body =
          failing.length === 0 ? 'ok\n' : failing.map(([n, r]) => `${n}: ${r.reason ?? 'not ready'}`).join('\n') + '\n';
        res.writeHead(failing.length === 0 ? 200 : 503, { 'content-type': 'text/plain' }).end(body);
        return;
      }
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics, /livez or /readyz\n');
    });
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
    });
    port = (server.address() as AddressInfo).port;
  }

  return {
    meter,
    port,
    addReadiness: (name, check) => void checks.set(name, check),
    async close() {
      stopRuntime();
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      server?.closeAllConnections();
      if (sdk)
        await sdk.then(
          (s) => s.provider.shutdown(),
          () => undefined,
        );
    },
  };
}

/**
 * A CommonJS package's exports through a dynamic import(): Node puts the named exports on the
 * namespace, a bundle (dist/) leaves them under `default` only (exporter-prometheus).
 */
function named<T extends object>(mod: T): T {
  return (mod as { default?: T }).default && !(Object.keys(mod).length > 1) ? (mod as { default: T }).default : mod;
}
