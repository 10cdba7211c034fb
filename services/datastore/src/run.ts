// Wiring of the datastore service: NATS → buckets → store, IPAM → gRPC API, plus telemetry and
// the periodic compaction / orphan sweep. runDatastore returns once the API is serving.
import type { Logger } from 'pino';
import { checks, type ConfigOf, type ConfigSpec } from '../../shared/config/index.js';
import { startTelemetry } from '../../shared/telemetry/index.js';
import { connectNats } from '../../shared/nats/index.js';
import { validateResource } from '../../shared/resources/index.js';
import { serverSecurity, serverTlsSpec } from '../../shared/tls/index.js';
import { createApiMetrics, Handlers, startApiServer } from './api/index.js';
import { Ipam, IpamAddresses } from './ipam/index.js';
import { Compactor, KvProbe, ResourceStore, type CompactionResult, type ResourceDocument } from './store/index.js';

export const datastoreConfig = {
  ...serverTlsSpec,
  listen: {
    type: 'string',
    default: '127.0.0.1:5470',
    check: checks.hostPort,
    description: 'gRPC API address HOST:PORT (port 0 picks a free one)',
  },
  nats: { type: 'string', default: 'nats://127.0.0.1:4222', description: 'NATS server URL(s), comma-separated' },
  metricsPort: {
    type: 'int',
    default: 9091,
    check: checks.metricsPort,
    description: 'port of /metrics, /livez and /readyz (0 picks a free one, -1 disables)',
  },
  metricsHost: {
    type: 'string',
    default: '',
    description: 'address of the metrics and health endpoint; empty = the host of listen',
  },
  tombstoneRetention: {
    type: 'duration',
    default: 3_600_000,
    description: 'how long deletions stay answerable by Watch-from-revision before compaction purges them',
  },
  compactionInterval: {
    type: 'duration',
    default: 60_000,
    check: checks.positive,
    description: 'how often tombstones older than the retention are purged (and blocks of deleted nodes released)',
  },
  maxWatches: {
    type: 'int',
    default: 1000,
    check: checks.positive,
    description: 'Watch streams open at once in total (each holds a JetStream consumer); RESOURCE_EXHAUSTED beyond',
  },
  maxWatchesPerClient: {
    type: 'int',
    default: 100,
    check: checks.positive,
    description: 'Watch streams open at once per client identity (certificate, or IP when insecure)',
  },
  watchStallTimeout: {
    type: 'duration',
    default: 60_000,
    check: checks.positive,
    description: 'a Watch whose client reads nothing for this long is ended',
  },
  replicas: {
    type: 'int',
    default: 0,
    check: (v: number) => ([0, 1, 3, 5].includes(v) ? undefined : `must be 0 (automatic), 1, 3 or 5, got ${v}`),
    description:
      'replicas of each KV bucket; 0 = 3 on a NATS cluster of 3 or more servers, else 1 (existing buckets are scaled up)',
  },
  kvProbeInterval: {
    type: 'duration',
    default: 5000,
    check: checks.positive,
    description: 'how often /readyz writes and reads back a key in the KV',
  },
  kvProbeDeadline: {
    type: 'duration',
    default: 3000,
    check: checks.positive,
    description: 'the KV probe fails (and /readyz with it) when the write and read take longer',
  },
  ipamStrictAffinity: {
    type: 'bool',
    default: false,
    description:
      "Calico's IPAMConfig strictAffinity: never borrow addresses from another node's block (new blocks are written with spec.strictAffinity)",
  },
  maxMessageBytes: {
    type: 'int',
    default: 4 * 1024 * 1024,
    check: (v: number) => (v >= 64 * 1024 ? undefined : `must be at least 65536, got ${v}`),
    description: 'largest gRPC request accepted, in bytes (larger ones get RESOURCE_EXHAUSTED)',
  },
} satisfies ConfigSpec;

export type DatastoreConfig = ConfigOf<typeof datastoreConfig>;

export interface DatastoreHandle {
  /** HOST:PORT the API listens on (the real port when 0 was asked for). */
  readonly address: string;
  readonly port: number;
  readonly metricsPort: number;
  /** Runs a tombstone compaction now (tests, operators); resolves with its result. */
  compactNow(): Promise<CompactionResult>;
  /** Answers from a stream leader below what this process acknowledged or read, refused and asked again. */
  staleAnswersRefused(): number;
  /** Releases the blocks of nodes that no longer exist now; resolves with their names. */
  releaseOrphansNow(): Promise<string[]>;
  close(): Promise<void>;
}

function splitHostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(address.slice(i + 1)) };
}

export async function runDatastore(config: DatastoreConfig, log: Logger): Promise<DatastoreHandle> {
  const listen = splitHostPort(config.listen);
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const c of closers.splice(0).reverse()) {
      try {
        await c();
      } catch (err) {
        log.warn({ err }, 'error while closing');
      }
    }
  };
  try {
    const security = await serverSecurity(
      'datastore',
      { credentials: config.credentials, insecure: config.insecure, refreshMs: config.tlsRefresh },
      log,
    );
    const telemetry = await startTelemetry({
      service: 'datastore',
      host: config.metricsHost || listen.host,
      port: config.metricsPort,
    });
    closers.push(() => telemetry.close());

    let natsConnected = false;
    let storeOpen = false;
    let serving = false;
    telemetry.addReadiness('api', () => ({
      ready: serving,
      reason: `the API is not listening on ${config.listen} yet`,
    }));
    telemetry.addReadiness('nats', () => ({ ready: natsConnected, reason: `not connected to NATS at ${config.nats}` }));
    telemetry.addReadiness('buckets', () => ({ ready: storeOpen, reason: 'KV buckets not open yet' }));

    const nc = await connectNats(config.nats, 'meshless-datastore', log, config.natsCredentials || undefined);
    natsConnected = true;
    closers.push(async () => {
      natsConnected = false;
      await nc.drain().catch(() => nc.close());
    });
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect') natsConnected = false;
        else if (s.type === 'reconnect') natsConnected = true;
      }
    })();

    const store = await ResourceStore.open(nc, { log, replicas: config.replicas });
    storeOpen = true;
    let compacted = await store.compactedRevision();
    await store.revision();

    const metrics = createApiMetrics(telemetry.meter, {
      revision: () => store.floor.stream,
      compactedRevision: () => compacted,
      kvProbeOk: () => probe.ok,
    });
    const probe = new KvProbe(
      store,
      config.kvProbeInterval,
      config.kvProbeDeadline,
      log.child({ subsystem: 'kv-probe' }),
      (reason) => metrics.natsError(reason),
    );
    await probe.runOnce();
    probe.start();
    closers.push(async () => probe.stop());
    telemetry.addReadiness('kv', () => ({ ready: probe.ok, reason: probe.reason }));
    const normalize = (doc: ResourceDocument) =>
      validateResource(doc, { source: 'ipam' }) as unknown as ResourceDocument;
    const ipam = new Ipam(store, normalize, log.child({ subsystem: 'ipam' }), () => metrics.blockAllocated(), {
      strictAffinity: config.ipamStrictAffinity,
    });
    const addresses = new IpamAddresses(store, ipam, normalize, log.child({ subsystem: 'ipam' }));
    closers.push(() => ipam.idle());

    const compactor = new Compactor(
      store,
      config.tombstoneRetention,
      log.child({ subsystem: 'compactor' }),
      (r: CompactionResult) => {
        compacted = r.compactedRevision;
        metrics.tombstonesPurged(r.purged);
      },
    );
    compactor.start(config.compactionInterval);
    closers.push(() => compactor.stop());
    const sweep = setInterval(() => {
      ipam
        .releaseOrphans()
        .then((nodes) => nodes.length > 0 && log.info({ nodes }, 'released the IPAM blocks of deleted nodes'))
        .catch((err: unknown) => log.warn({ err }, 'IPAM orphan sweep failed; retrying on the next tick'));
    }, config.compactionInterval);
    sweep.unref();
    closers.push(async () => clearInterval(sweep));

    const handlers = new Handlers(store, ipam, addresses, log.child({ subsystem: 'api' }));
    const server = await startApiServer(config.listen, {
      handlers,
      store,
      metrics,
      log: log.child({ subsystem: 'api' }),
      maxMessageBytes: config.maxMessageBytes,
      security,
      limits: {
        maxWatches: config.maxWatches,
        maxWatchesPerClient: config.maxWatchesPerClient,
        stallTimeoutMs: config.watchStallTimeout,
      },
    });
    serving = true;
    closers.push(async () => {
      serving = false;
      await server.close();
    });

    const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
    const address = `${host}:${server.port}`;
    log.info(
      {
        address,
        tls: security.secure,
        nats: config.nats,
        metricsPort: telemetry.port,
        tombstoneRetentionMs: config.tombstoneRetention,
      },
      'datastore serving',
    );
    return {
      address,
      port: server.port,
      metricsPort: telemetry.port,
      compactNow: () => compactor.runOnce(),
      staleAnswersRefused: () => store.floor.refused,
      releaseOrphansNow: () => ipam.releaseOrphans(),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
