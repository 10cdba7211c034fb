// `meshless dashboard`: its parameters (declared once: flags, MESHLESS_* and --help come from
// here) and the wiring of the collector to the HTTP server.
import { checks, type ConfigOf } from '../../shared/config/index.js';
import type { Logger } from '../../shared/log/index.js';
import { Collector, parseMetricsEndpoint } from './collector.js';
import { serveDashboard } from './server.js';

export const dashboardConfigSpec = {
  listen: {
    type: 'string',
    default: '127.0.0.1:5480',
    check: checks.hostPort,
    description: 'address of the web page (HOST:PORT; port 0 picks a free one)',
  },
  credentials: {
    type: 'string',
    default: '',
    description:
      'directory with ca.crt, tls.crt, tls.key (an admin or read-only certificate): mutual TLS; empty: plain text',
  },
  datastore: {
    type: 'string',
    default: '127.0.0.1:5470',
    check: checks.hostPort,
    description: 'datastore API it watches (nodes, changes) and asks for IPAM usage',
  },
  rr: {
    type: 'list',
    default: [] as string[],
    check: (v: string[]) => v.map((a) => checks.hostPort(a)).find(Boolean),
    description: 'route reflector admin APIs (HOST:PORT, comma-separated) whose sessions it shows',
  },
  metrics: {
    type: 'list',
    default: [] as string[],
    check: (v: string[]) => {
      for (const m of v) {
        try {
          parseMetricsEndpoint(m);
        } catch (err) {
          return (err as Error).message.replace(/^metrics: /, '');
        }
      }
      return undefined;
    },
    description:
      "services' /metrics to read, comma-separated [NAME=]URL; an agent's NAME is its node (node-a1=http://127.0.0.1:9092/metrics)",
  },
  interval: {
    type: 'duration',
    default: 2000,
    check: checks.positive,
    description: 'how often it polls IPAM, the reflectors and the metrics',
  },
} as const;

export type DashboardConfig = ConfigOf<typeof dashboardConfigSpec>;

export interface RunningDashboard {
  /** http://HOST:PORT/ */
  readonly url: string;
  close(): Promise<void>;
}

export async function runDashboard(config: DashboardConfig, log: Logger): Promise<RunningDashboard> {
  const colon = config.listen.lastIndexOf(':');
  const host = config.listen.slice(0, colon).replace(/^\[|\]$/g, '');
  const port = Number(config.listen.slice(colon + 1));
  const collector = new Collector({
    datastore: config.datastore,
    reflectors: config.rr,
    ...(config.credentials ? { credentials: config.credentials } : {}),
    metrics: config.metrics.map(parseMetricsEndpoint),
    intervalMs: config.interval,
    log,
  });
  let server;
  try {
    server = await serveDashboard(collector, host, port);
  } catch (err) {
    await collector.close();
    throw err;
  }
  collector.start();
  log.info(
    { url: server.url, datastore: config.datastore, reflectors: config.rr, metrics: config.metrics.length },
    `dashboard at ${server.url}`,
  );
  return {
    url: server.url,
    async close() {
      await server.close();
      await collector.close();
    },
  };
}
