// The sync server's parameters, declared once (env MESHLESS_<NAME> > config file > default).
import { checks, type ConfigOf, type ParamSpec } from '../../shared/config/index.js';
import { serverTlsSpec } from '../../shared/tls/index.js';

const MiB = 1024 * 1024;

const nonNegative = (v: number) => (v >= 0 ? undefined : `must be 0 or more, got ${v}`);
/** Empty, HOST:PORT, or a bare host (the listen port is then appended), as Kubernetes gives a pod IP. */
const advertiseCheck = (v: string) =>
  v === '' || !/[\s/]/.test(v) ? undefined : `must be HOST or HOST:PORT, got '${v}'`;

export const syncConfigSpec = {
  ...serverTlsSpec,
  nats: { type: 'string', default: 'nats://127.0.0.1:4222', description: 'NATS server URL(s), comma-separated' },
  listen: {
    type: 'string',
    default: '127.0.0.1:5473',
    check: checks.hostPort,
    description: 'gRPC listen address HOST:PORT (port 0 picks one)',
  },
  advertise: {
    type: 'string',
    default: '',
    check: advertiseCheck,
    description:
      'HOST:PORT (or HOST, with the listen port) announced to other servers and agents (default: the listen address)',
  },
  serverId: {
    type: 'string',
    default: '',
    description: "this server's id in heartbeats and logs (default: hostname-pid)",
  },
  stateDir: {
    type: 'string',
    default: '.data/sync',
    description: 'LMDB directory of the warm-start cache (empty: always start cold)',
  },
  metricsHost: {
    type: 'string',
    default: '',
    description: 'address of the /metrics /livez /readyz endpoint (empty: the host of listen)',
  },
  metricsPort: {
    type: 'int',
    default: 9093,
    check: checks.metricsPort,
    description: 'port of /metrics /livez /readyz (0 picks one, -1 disables)',
  },
  maxConnections: {
    type: 'int',
    default: 20_000,
    check: checks.positive,
    description: 'streams this server accepts; beyond, clients are sent elsewhere',
  },
  pingInterval: {
    type: 'duration',
    default: 10_000,
    check: checks.positive,
    description: 'interval between pings (liveness, latency, revision bookmarks)',
  },
  pongTimeout: {
    type: 'duration',
    default: 60_000,
    check: checks.positive,
    description: 'a live client that answers no ping for this long is closed',
  },
  handshakeTimeout: {
    type: 'duration',
    default: 10_000,
    check: checks.positive,
    description: 'time allowed for the client hello',
  },
  snapshotWindow: {
    type: 'duration',
    default: 1000,
    description: 'a built snapshot is shared by clients connecting within this window',
  },
  chunkBytes: {
    type: 'int',
    default: 256 * 1024,
    check: checks.positive,
    description: 'target size of one snapshot chunk before compression',
  },
  compressMinBytes: {
    type: 'int',
    default: 1024,
    check: nonNegative,
    description: 'deltas smaller than this are sent uncompressed',
  },
  maxLagBytes: {
    type: 'int',
    default: 8 * MiB,
    check: checks.positive,
    description: 'queued bytes after which a slow client is closed (it resumes)',
  },
  maxLagRevisions: {
    type: 'int',
    default: 50_000,
    check: checks.positive,
    description: 'revisions a client may fall behind before it is closed (it resumes)',
  },
  newClientGrace: {
    type: 'duration',
    default: 60_000,
    description: 'lag limits do not apply to a new client until its snapshot is written or this passed',
  },
  resumeWait: {
    type: 'duration',
    default: 5000,
    description: 'how long a client ahead of this server waits for it to catch up',
  },
  heartbeatInterval: {
    type: 'duration',
    default: 1000,
    check: checks.positive,
    description: 'interval of load heartbeats and rebalancing',
  },
  shedPerSecond: {
    type: 'int',
    default: 50,
    check: checks.positive,
    description: 'most clients sent away per second when above the fair share',
  },
  shedSlackPercent: {
    type: 'int',
    default: 5,
    check: nonNegative,
    description: 'tolerance above the fair share before shedding, in percent',
  },
  fanoutChunk: {
    type: 'int',
    default: 2000,
    check: checks.positive,
    description: 'streams written per event-loop turn during a fan-out',
  },
  drainTimeout: {
    type: 'duration',
    default: 10_000,
    description: 'on SIGTERM, how long to wait for clients to move before closing',
  },
  horizonPoll: {
    type: 'duration',
    default: 1000,
    check: checks.positive,
    description:
      "interval of reading the datastore's compacted revision (a server that fell behind compaction reads the datastore again within one interval)",
  },
  maxMessageBytes: {
    type: 'int',
    default: 4 * MiB,
    check: checks.positive,
    description: 'largest accepted client message',
  },
  listenBacklog: {
    type: 'int',
    default: 4096,
    check: checks.positive,
    description:
      'accept queue of the gRPC port (agents of a failed server arrive at once; capped by net.core.somaxconn)',
  },
  workers: {
    type: 'int',
    // 1 until worker processes are measured on a quiet machine (DESIGN.md, "Worker processes").
    default: 1,
    check: nonNegative,
    description:
      'processes serving the agent streams: 1 = this process alone (one event loop); N > 1 = N worker processes sharing this one datastore follower and cache; 0 = one per core',
  },
  directWrites: {
    type: 'bool',
    default: true,
    description: 'write each shared frame straight to the HTTP/2 streams (false: grpc-js copies it per stream)',
  },
} satisfies Record<string, ParamSpec<any>>;

export type SyncConfig = ConfigOf<typeof syncConfigSpec>;
