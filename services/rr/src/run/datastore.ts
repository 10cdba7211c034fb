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
import type { GracefulRestartSettings } from '../config/types.js';
import { sameIdentity } from '../config/equal.js';
import { parsePrefix, type BgpTransport } from '../../../bgp/index.js';
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

export async function startDatastoreMode(o: DatastoreModeOptions): Promise<DatastoreHandle> {
  const log = o.logger ?? createLogger('rr');
  const credentials = o.credentials ? { credentials: o.credentials } : {};
  const source =
    o.source ??
    syncSource({
      node: o.node,
      endpoints: o.syncEndpoints,
      ...(o.dataDir ? { stateDir: `${o.dataDir}/sync` } : {}),
      ...credentials,
      log,
    });
  // Checked once: the admin API is restarted with the reflector when its identity changes.
  const adminSecurity =
    o.adminListen && (o.credentials !== undefined || o.insecure !== undefined)
      ? await serverSecurity('rr admin API', { credentials: o.credentials ?? '', insecure: o.insecure ?? false }, log)
      : undefined;
  let telemetry: Telemetry | undefined;
  if (o.metricsPort !== false) telemetry = await startTelemetry({ service: 'rr', port: o.metricsPort });
  const client: DatastoreClient | undefined = o.datastore ? createDatastoreClient(o.datastore, credentials) : undefined;
  const mode = new DatastoreMode(o, log, source, adminSecurity, telemetry, client);
  await mode.follow();
  return mode;
}

/**
 * The running datastore mode: follows the view, re-derives after each burst of changes and
 * applies the difference to the reflector (or rebuilds it when its identity changed). Changes are
 * applied one after the other (`applying`), never concurrently.
 */
class DatastoreMode implements DatastoreHandle {
  private readonly model = new ClusterModel();
  private services: AttachedServices | undefined;
  private publisher: LearnedRoutePublisher | undefined;
  private current: DerivedConfig | undefined;
  /** Originated routes as last given to the reflector: prefix → attrKey, to re-originate only changes. */
  private originated = new Map<string, string>();
  /** Traced changes not yet applied (bounded: traces are sampled, a burst keeps the first few). */
  private readonly tracedChanges: { traceparent: string; revision: number }[] = [];
  /** The view is complete (or a saved one was loaded): derivations may run. */
  private inSync = false;
  /** The coalescing timer of the next derivation. */
  private timer: NodeJS.Timeout | undefined;
  /** The tail of the queue of derivations. */
  private applying: Promise<void> = Promise.resolve();
  private closed = false;
  /** The last reason for not reflecting, logged once until it changes. */
  private lastReason = '';
  /** Why the last derivation could not be applied (e.g. the BGP port taken), until one is. */
  private applyError: string | undefined;
  private readonly readyWaiters: (() => void)[] = [];
  private readonly secretsTimer: NodeJS.Timeout;

  constructor(
    private readonly o: DatastoreModeOptions,
    private readonly log: Logger,
    private readonly source: ResourceSource,
    private readonly adminSecurity: Awaited<ReturnType<typeof serverSecurity>> | undefined,
    private readonly telemetry: Telemetry | undefined,
    private readonly client: DatastoreClient | undefined,
  ) {
    this.secretsTimer = setInterval(() => {
      if (this.current?.peers.some((p) => p.tcpMd5)) this.schedule();
    }, o.secretsRecheckMs ?? 30_000);
    this.secretsTimer.unref();
    // Ready once the reflector runs with this node's configuration; until then /readyz says why.
    telemetry?.addReadiness('reflector', () => {
      if (this.applyError) return { ready: false, reason: `applying the configuration failed: ${this.applyError}` };
      if (this.current) return { ready: true };
      return {
        ready: false,
        reason: this.lastReason ? `not reflecting: ${this.lastReason}` : 'waiting for the datastore view',
      };
    });
  }

  /** Starts following the datastore view. */
  async follow(): Promise<void> {
    await this.source.start((changes, sync, revision) => {
      for (const p of this.model.apply(changes)) this.log.warn(`skipping an invalid resource: ${p}`);
      if (isTracing())
        for (const c of changes)
          if (c.traceparent && this.tracedChanges.length < 16)
            this.tracedChanges.push({ traceparent: c.traceparent, revision: c.revision ?? revision });
      this.model.revision = revision;
      // A view saved by an earlier run (revision > 0) is good enough to start BGP with: the
      // reflector comes up without waiting for a sync server, and catches up when one answers.
      // The first complete view is derived at once: coalescing is for bursts of live changes, and
      // there is nothing the reflector's first UPDATEs should wait for.
      const first = !this.inSync && (sync || revision > 0);
      if (sync || revision > 0) this.inSync = true;
      this.schedule(first ? 0 : undefined);
    });
  }

  get reflector(): Reflector {
    const rr = this.services?.reflector;
    if (!rr) throw new Error('the reflector is not running yet (waiting for the datastore view)');
    return rr;
  }

  get adminAddress(): string | undefined {
    return this.services?.adminAddress;
  }

  get metricsPort(): number | undefined {
    return this.telemetry?.port;
  }

  get derived(): DerivedConfig | undefined {
    return this.current;
  }

  ready(): Promise<void> {
    return this.current ? Promise.resolve() : new Promise((r) => this.readyWaiters.push(r));
  }

  async learnedSettled(): Promise<void> {
    await this.publisher?.settled();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.secretsTimer);
    if (this.timer) clearTimeout(this.timer);
    await this.applying;
    await this.source.close();
    await this.publisher?.close();
    await this.services?.close();
    this.client?.close();
    await this.telemetry?.close();
  }

  /** Derives and applies the view after `delayMs` (changes meanwhile share the pass). */
  private schedule(delayMs = this.o.coalesceMs ?? 50): void {
    if (this.timer || this.closed || !this.inSync) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.applying = this.applying
        .then(() => this.apply())
        .catch((err: unknown) => {
          const message = (err as Error).message;
          // Logged when the cause changes, not on every retry of the same one.
          if (message !== this.applyError)
            this.log.error({ err }, 'applying datastore changes failed; retrying every 1 s');
          this.applyError = message;
          // A cause outside the datastore (the BGP port taken, a secret file missing) goes away
          // without a change to wake us: try again rather than stay down until the next one.
          setTimeout(() => this.schedule(), 1_000).unref();
        });
    }, delayMs);
  }

  private syncOrigination(rr: Reflector, routes: ReadonlyMap<string, OriginatedRoute>): void {
    // Traced changes since the last pass: an "rr originate" span each; when routes changed, the
    // UPDATEs they cause are sent under those spans (export/send-trace.ts).
    const traced = this.tracedChanges.splice(0);
    const hop = continueTraces('rr originate', traced, (c) => ({
      'meshless.node': this.o.node,
      'meshless.revision': c.revision,
    }));
    const next = new Map<string, string>();
    let changed = 0;
    for (const [k, r] of routes) {
      const key = attrKey(r.attrs, r.nextHop, undefined);
      next.set(k, key);
      if (this.originated.get(k) !== key) {
        rr.originate(r.prefix, r.attrs, r.nextHop);
        changed++;
      }
    }
    for (const [k] of this.originated) {
      if (next.has(k)) continue;
      rr.withdrawOriginated(parsePrefix(k));
      changed++;
    }
    this.originated = next;
    if (hop) {
      if (changed > 0) rr.traceOrigination(traced.map((c) => c.traceparent));
      hop.end();
    }
  }

  private watchExternal(rr: Reflector, cfg: DerivedConfig): void {
    if (!this.publisher) return;
    for (const p of cfg.peers) {
      const idx = rr.ribPeer(p.address).idx;
      if (cfg.external.has(p.address)) this.publisher.watch(idx, p.address);
      else this.publisher.unwatch(idx);
    }
  }

  private async build(cfg: DerivedConfig): Promise<void> {
    const { o, log } = this;
    if (this.services) {
      log.warn(
        { from: this.current?.settings, to: cfg.settings },
        'reflector identity changed (AS, router id, cluster id or listen): rebuilding every session',
      );
      await this.publisher?.close();
      await this.services.close();
      this.originated = new Map();
    }
    const services = await attachServices({
      ...(this.adminSecurity ? { adminSecurity: this.adminSecurity } : {}),
      settings: cfg.settings,
      service: {
        adminListen: o.adminListen,
        metricsPort: false,
        ...(o.dataDir ? { dataDir: `${o.dataDir}/rib` } : {}),
      },
      logger: log,
      ...(this.telemetry ? { telemetry: this.telemetry } : {}),
      ...(o.transport ? { transport: o.transport } : {}),
    });
    this.services = services;
    try {
      const rr = services.reflector;
      if (this.client) {
        this.publisher = new LearnedRoutePublisher(
          rr.rib,
          this.client,
          o.node,
          log.child({ subsystem: 'learned-routes' }),
        );
        // Not awaited: BGP starts now, leftovers are deleted once the list is in (learned-routes.ts).
        void this.publisher
          .load()
          .catch((err: unknown) =>
            log.warn({ err }, 'cannot list existing LearnedRoutes; leftovers from before are kept'),
          );
        rr.events.endOfRib = (address) => {
          const idx = rr.ribPeer(address).idx;
          this.publisher?.reconcilePeer(idx);
        };
      }
      await rr.setPeers(cfg.peers);
      services.restore();
      this.syncOrigination(rr, cfg.routes);
      rr.confirmOriginated();
      services.persist();
      this.watchExternal(rr, cfg);
      await rr.start();
    } catch (err) {
      // Nothing half-built stays behind: the next attempt builds from scratch (and starts the
      // speaker), not the update path that assumes a running reflector.
      await this.publisher?.close();
      this.publisher = undefined;
      this.services = undefined;
      this.originated = new Map();
      await services.close();
      throw err;
    }
    log.info(
      {
        node: o.node,
        as: cfg.settings.asNumber,
        routerId: cfg.settings.routerId,
        clusterId: cfg.settings.clusterId,
        peers: cfg.peers.length,
        routes: cfg.routes.size,
      },
      'route reflector up (datastore)',
    );
  }

  private async apply(): Promise<void> {
    const { o, log } = this;
    const secrets = o.bgpSecretsDir ?? DEFAULT_SECRETS_DIR;
    const r = deriveConfig(this.model, o.node, {
      ...(o.gracefulRestart ? { gracefulRestart: o.gracefulRestart } : {}),
      poolAggregates: o.poolAggregates ?? false,
      resolveSecret: (ref) => keyFromSecret(secrets, ref),
    });
    if (!r.ok) {
      if (r.reason !== this.lastReason) log.error({ node: o.node }, `not reflecting: ${r.reason}`);
      this.lastReason = r.reason;
      return;
    }
    this.lastReason = '';
    const cfg = r.config;
    for (const w of cfg.warnings) if (!this.current?.warnings.includes(w)) log.warn(w);
    if (!this.services || !sameIdentity(cfg.settings, this.services.reflector.settings)) await this.build(cfg);
    else {
      const rr = this.services.reflector;
      await rr.setPeers(cfg.peers);
      this.syncOrigination(rr, cfg.routes);
      this.watchExternal(rr, cfg);
    }
    this.current = cfg;
    this.applyError = undefined;
    for (const w of this.readyWaiters.splice(0)) w();
  }
}
