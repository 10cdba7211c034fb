// Datastore mode (`meshless rr --node NAME --sync HOST:PORT[,...]`): the reflector follows the
// `bgp` syncer like a node agent follows its view, derives its identity, peers and originated
// routes from the Calico resources (derive.ts) and applies every change live: a changed peer
// resets only its own session, an IPAM affinity change announces or withdraws one block. A
// change of identity (AS, router id, cluster id, listen port) needs new sessions everywhere: the
// reflector is rebuilt. Learned routes of external peers go to the datastore (learned-routes.ts).

import type { Logger } from 'pino';
import { createLogger } from '../../../shared/log/index.js';
import { createDatastoreClient, type DatastoreClient } from '../../../shared/datastore-client/index.js';
import { startTelemetry, type Telemetry } from '../../../shared/telemetry/index.js';
import { serverSecurity } from '../../../shared/tls/index.js';
import { continueTraces, isTracing } from '../../../shared/tracing/index.js';
import { attrKey } from '../rib/attr-set.js';
import { ClusterModel } from '../datastore/model.js';
import { deriveConfig, type DerivedConfig } from '../datastore/derive.js';
import { syncSource, type ResourceSource } from '../datastore/source.js';
import { LearnedRoutePublisher } from '../datastore/learned-routes.js';
import type { OriginatedRoute } from '../reflector/static-routes.js';
import type { Reflector } from '../reflector/reflector.js';
import type { GracefulRestartSettings, ReflectorSettings } from '../config/types.js';
import { parsePrefix, type BgpTransport } from '../bgp.js';
import { DEFAULT_SECRETS_DIR, keyFromSecret } from '../config/password.js';
import { attachServices, type AttachedServices } from './services.js';
import type { RrHandle } from './standalone.js';

export interface DatastoreModeOptions {
  /** The reflector's Node name. */
  readonly node: string;
  /** Sync servers (HOST:PORT); ignored when `source` is given. */
  readonly syncEndpoints: readonly string[];
  /** Datastore API address for LearnedRoute writes; absent = learned routes are not published. */
  readonly datastore?: string;
  /** Directory for the synced view and the RIB (warm restart); absent = memory only. */
  readonly dataDir?: string;
  readonly adminListen: string | false;
  readonly metricsPort: number | false;
  readonly poolAggregates?: boolean;
  readonly gracefulRestart?: GracefulRestartSettings;
  readonly logger?: Logger;
  readonly transport?: BgpTransport;
  /** Credentials directory: mutual TLS to the sync servers and the datastore, and for the admin API. */
  readonly credentials?: string;
  /** Serve the admin API in plain text (only without credentials). */
  readonly insecure?: boolean;
  /** Replaces the sync client (tests, other sources). */
  readonly source?: ResourceSource;
  /** Milliseconds to coalesce bursts of datastore changes before re-deriving (default 50). */
  readonly coalesceMs?: number;
  /**
   * Where BGPPeer password secrets are mounted: `<dir>/<secret name>/<key>` (default
   * /etc/meshless/bgp-secrets). Read again at every re-derivation.
   */
  readonly bgpSecretsDir?: string;
  /**
   * Milliseconds between re-reads of the secrets while a peer has a password (default 30,000):
   * Kubernetes updates a mounted Secret in place, so a rotated key (or a secret that appears)
   * reaches the sessions without a datastore change. Only a peer whose key changed is reset.
   */
  readonly secretsRecheckMs?: number;
}

export interface DatastoreHandle extends RrHandle {
  /** The current derived configuration (after the last applied change). */
  readonly derived: DerivedConfig | undefined;
  /** Resolves once the datastore view is in sync and applied to a running reflector. */
  ready(): Promise<void>;
  /** LearnedRoute writes outstanding are done (tests). */
  learnedSettled(): Promise<void>;
}

function identity(s: ReflectorSettings): string {
  return JSON.stringify([s.asNumber, s.routerId, s.clusterId, s.listen]);
}

export async function startDatastoreMode(o: DatastoreModeOptions): Promise<DatastoreHandle> {
  const log = o.logger ?? createLogger('rr');
  const model = new ClusterModel();
  const credentials = o.credentials ? { credentials: o.credentials } : {};
  const source = o.source ?? syncSource({ node: o.node, endpoints: o.syncEndpoints, ...(o.dataDir ? { stateDir: `${o.dataDir}/sync` } : {}), ...credentials, log });
  // Checked once: the admin API is restarted with the reflector when its identity changes.
  const adminSecurity = o.adminListen && (o.credentials !== undefined || o.insecure !== undefined) ? await serverSecurity('rr admin API', { credentials: o.credentials ?? '', insecure: o.insecure ?? false }, log) : undefined;
  let telemetry: Telemetry | undefined;
  if (o.metricsPort !== false) telemetry = await startTelemetry({ service: 'rr', port: o.metricsPort });
  const client: DatastoreClient | undefined = o.datastore ? createDatastoreClient(o.datastore, credentials) : undefined;

  let services: AttachedServices | undefined;
  let publisher: LearnedRoutePublisher | undefined;
  let derived: DerivedConfig | undefined;
  let originated = new Map<string, string>();
  /** Traced changes not yet applied (bounded: traces are sampled, a burst keeps the first few). */
  const tracedChanges: { traceparent: string; revision: number }[] = [];
  let inSync = false;
  let timer: NodeJS.Timeout | undefined;
  let applying: Promise<void> = Promise.resolve();
  let closed = false;
  let lastReason = '';
  const readyWaiters: (() => void)[] = [];

  const reflector = (): Reflector | undefined => services?.reflector;

  const syncOrigination = (rr: Reflector, routes: ReadonlyMap<string, OriginatedRoute>): void => {
    // Traced changes since the last pass: an "rr originate" span each; when routes changed, the
    // UPDATEs they cause are sent under those spans (reflect/send-trace.ts).
    const traced = tracedChanges.splice(0);
    const hop = continueTraces('rr originate', traced, (c) => ({ 'meshless.node': o.node, 'meshless.revision': c.revision }));
    const next = new Map<string, string>();
    let changed = 0;
    for (const [k, r] of routes) {
      const key = attrKey(r.attrs, r.nextHop, undefined);
      next.set(k, key);
      if (originated.get(k) !== key) {
        rr.originate(r.prefix, r.attrs, r.nextHop);
        changed++;
      }
    }
    for (const [k] of originated) {
      if (next.has(k)) continue;
      rr.withdrawOriginated(parsePrefix(k));
      changed++;
    }
    originated = next;
    if (hop) {
      if (changed > 0) rr.traceOrigination(traced.map((c) => c.traceparent));
      hop.end();
    }
  };

  const watchExternal = (rr: Reflector, cfg: DerivedConfig): void => {
    if (!publisher) return;
    for (const p of cfg.peers) {
      const idx = rr.ribPeer(p.address).idx;
      if (cfg.external.has(p.address)) publisher.watch(idx, p.address);
      else publisher.unwatch(idx);
    }
  };

  const build = async (cfg: DerivedConfig): Promise<void> => {
    if (services) {
      log.warn({ from: derived?.settings, to: cfg.settings }, 'reflector identity changed (AS, router id, cluster id or listen): rebuilding every session');
      await publisher?.close();
      await services.close();
      originated = new Map();
    }
    services = await attachServices({
      ...(adminSecurity ? { adminSecurity } : {}),
      settings: cfg.settings,
      service: { adminListen: o.adminListen, metricsPort: false, ...(o.dataDir ? { dataDir: `${o.dataDir}/rib` } : {}) },
      logger: log,
      ...(telemetry ? { telemetry } : {}),
      ...(o.transport ? { transport: o.transport } : {}),
    });
    const rr = services.reflector;
    if (client) {
      publisher = new LearnedRoutePublisher(rr.rib, client, o.node, log.child({ subsystem: 'learned-routes' }));
      await publisher.load().catch((err: unknown) => log.warn({ err }, 'cannot list existing LearnedRoutes; leftovers from before are kept'));
      rr.events.endOfRib = (address) => {
        const idx = rr.ribPeer(address).idx;
        publisher?.reconcilePeer(idx);
      };
    }
    await rr.setPeers(cfg.peers);
    services.restore();
    syncOrigination(rr, cfg.routes);
    rr.confirmOriginated();
    services.persist();
    watchExternal(rr, cfg);
    await rr.start();
    log.info({ node: o.node, as: cfg.settings.asNumber, routerId: cfg.settings.routerId, clusterId: cfg.settings.clusterId, peers: cfg.peers.length, routes: cfg.routes.size }, 'route reflector up (datastore)');
  };

  const apply = async (): Promise<void> => {
    const secrets = o.bgpSecretsDir ?? DEFAULT_SECRETS_DIR;
    const r = deriveConfig(model, o.node, {
      ...(o.gracefulRestart ? { gracefulRestart: o.gracefulRestart } : {}),
      poolAggregates: o.poolAggregates ?? false,
      resolveSecret: (ref) => keyFromSecret(secrets, ref),
    });
    if (!r.ok) {
      if (r.reason !== lastReason) log.error({ node: o.node }, `not reflecting: ${r.reason}`);
      lastReason = r.reason;
      return;
    }
    lastReason = '';
    const cfg = r.config;
    for (const w of cfg.warnings) if (!derived?.warnings.includes(w)) log.warn(w);
    if (!services || identity(cfg.settings) !== identity(services.reflector.settings)) await build(cfg);
    else {
      const rr = services.reflector;
      await rr.setPeers(cfg.peers);
      syncOrigination(rr, cfg.routes);
      watchExternal(rr, cfg);
    }
    derived = cfg;
    for (const w of readyWaiters.splice(0)) w();
  };

  const secretsTimer = setInterval(() => {
    if (derived?.peers.some((p) => p.tcpMd5)) schedule();
  }, o.secretsRecheckMs ?? 30_000);
  secretsTimer.unref();

  const schedule = (): void => {
    if (timer || closed || !inSync) return;
    timer = setTimeout(() => {
      timer = undefined;
      applying = applying.then(apply).catch((err: unknown) => log.error({ err }, 'applying datastore changes failed'));
    }, o.coalesceMs ?? 50);
  };

  await source.start((changes, sync, revision) => {
    for (const p of model.apply(changes)) log.warn(`skipping an invalid resource: ${p}`);
    if (isTracing()) for (const c of changes) if (c.traceparent && tracedChanges.length < 16) tracedChanges.push({ traceparent: c.traceparent, revision: c.revision ?? revision });
    model.revision = revision;
    // A view saved by an earlier run (revision > 0) is good enough to start BGP with: the
    // reflector comes up without waiting for a sync server, and catches up when one answers.
    if (sync || revision > 0) inSync = true;
    schedule();
  });

  return {
    get reflector(): Reflector {
      const rr = reflector();
      if (!rr) throw new Error('the reflector is not running yet (waiting for the datastore view)');
      return rr;
    },
    get adminAddress() {
      return services?.adminAddress;
    },
    metricsPort: telemetry?.port,
    get derived() {
      return derived;
    },
    ready() {
      return derived ? Promise.resolve() : new Promise((r) => readyWaiters.push(r));
    },
    async learnedSettled() {
      await publisher?.settled();
    },
    async close() {
      closed = true;
      clearInterval(secretsTimer);
      if (timer) clearTimeout(timer);
      await applying;
      await source.close();
      await publisher?.close();
      await services?.close();
      client?.close();
      await telemetry?.close();
    },
  };
}
