// Standalone mode (`meshless rr --config rr.yaml`): the reflector from a BIRD-style file, with no
// datastore. Static routes are originated; persistence, the admin API and metrics are started
// when configured.

import { serverSecurity, type ServerTlsSettings } from '../../../shared/tls/index.js';
import type { Logger } from 'pino';
import { createLogger } from '../../../shared/log/index.js';
import { startTelemetry, type Telemetry } from '../../../shared/telemetry/index.js';
import { Reflector } from '../reflector/reflector.js';
import { staticRouteToOriginated } from '../reflector/static-routes.js';
import type { StandaloneConfig } from '../config/standalone.js';
import type { BgpTransport } from '../../../bgp/index.js';
import { attachServices, type AttachedServices } from './services.js';

export interface RrHandle {
  readonly reflector: Reflector;
  /** Bound admin API address ("HOST:PORT"), when started. */
  readonly adminAddress: string | undefined;
  readonly metricsPort: number | undefined;
  close(): Promise<void>;
}

export interface StandaloneOptions {
  readonly logger?: Logger;
  readonly transport?: BgpTransport;
  /** TLS of the admin API; absent: plain text (the CLI always passes it: TLS or an explicit --insecure). */
  readonly tls?: ServerTlsSettings;
}

export async function startStandalone(config: StandaloneConfig, options: StandaloneOptions = {}): Promise<RrHandle> {
  const log = options.logger ?? createLogger('rr');
  let telemetry: Telemetry | undefined;
  if (config.service.metricsPort !== false)
    telemetry = await startTelemetry({ service: 'rr', port: config.service.metricsPort });
  const adminSecurity =
    config.service.adminListen && options.tls ? await serverSecurity('rr admin API', options.tls, log) : undefined;
  const services: AttachedServices = await attachServices({
    ...(adminSecurity ? { adminSecurity } : {}),
    settings: config.reflector,
    service: config.service,
    logger: log,
    ...(telemetry ? { telemetry } : {}),
    ...(options.transport ? { transport: options.transport } : {}),
  });
  const rr = services.reflector;
  await rr.setPeers(config.peers);
  const restored = services.restore();
  for (const r of config.routes) {
    const o = staticRouteToOriginated(r);
    rr.originate(o.prefix, o.attrs, o.nextHop);
  }
  rr.confirmOriginated();
  services.persist();
  await rr.start();
  telemetry?.addReadiness('reflector', () => ({ ready: true }));
  log.info(
    {
      as: config.reflector.asNumber,
      routerId: config.reflector.routerId,
      clusterId: config.reflector.clusterId,
      peers: config.peers.length,
      routes: config.routes.length,
      restored,
      bgpPort: rr.listenPort,
    },
    'route reflector up (standalone)',
  );
  return {
    reflector: rr,
    adminAddress: services.adminAddress,
    metricsPort: telemetry?.port,
    async close() {
      await services.close();
      await telemetry?.close();
    },
  };
}
