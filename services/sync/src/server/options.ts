// What a sync server is configured with (services/sync/src/config.ts maps the daemon's flags and
// file onto it) and what it reports about itself.
import type { Logger } from 'pino';
import type { NatsConnection } from '../../../shared/nats/index.js';
import type { ServerSecurity, ServerTlsSettings } from '../../../shared/tls/index.js';
import type { SyncerType } from '../view/index.js';
import type { SyncMetrics } from './metrics.js';
import type { WorkerStats } from './workers/index.js';
import type { LedgerStats } from './fd-limit.js';

export interface SyncServerOptions {
  serverId: string;
  nc: NatsConnection;
  /** HOST:PORT to listen on (port 0 picks one). */
  listen: string;
  /** HOST:PORT other servers and clients should use for us; defaults to the bound listen address. */
  advertise?: string;
  /** LMDB directory for the warm-start cache; undefined: always start cold. */
  stateDir?: string;
  bucket?: string;
  maxConnections: number;
  pingIntervalMs: number;
  pongTimeoutMs: number;
  handshakeTimeoutMs: number;
  snapshotWindowMs: number;
  chunkBytes: number;
  compressMinBytes: number;
  maxLagBytes: number;
  maxLagRevisions: number;
  newClientGraceMs: number;
  resumeWaitMs: number;
  heartbeatIntervalMs: number;
  shedPerSecond: number;
  shedSlack: number;
  fanoutChunk: number;
  drainTimeoutMs: number;
  horizonPollMs: number;
  /** Largest accepted client message (a hello with many endpoint keys). */
  maxMessageBytes: number;
  /** Write shared frames straight to each HTTP/2 stream (see client-stream.ts); false: grpc-js's public write. */
  directWrites: boolean;
  /** Accept queue length of the listening socket (the kernel caps it at net.core.somaxconn). */
  listenBacklog: number;
  log: Logger;
  metrics?: SyncMetrics;
  /** Mutual TLS and caller identification (shared/tls); absent: plain text, everything allowed. */
  security?: ServerSecurity;
  /**
   * Processes serving the streams: 1 (the default) serves them on this event loop; N > 1 starts N
   * worker processes that serve them while this process keeps the one datastore follower, the
   * cache, the snapshots and the decisions, and encodes each change once (workers/pool.ts).
   */
  workers?: number;
  /**
   * Sockets one process may hold, streams and idle (standby) sessions together; beyond it the
   * longest-idle session is closed first (fd-limit.ts `ConnectionLedger`). Default: the
   * open-file limit less RESERVED_FDS (unlimited when the limit is).
   */
  maxSockets?: number;
  /** The TLS settings `security` came from: what worker processes load their credentials from. */
  tls?: ServerTlsSettings;
}

export interface SyncServerStats {
  serverId: string;
  address: string;
  ready: boolean;
  draining: boolean;
  revision: number;
  horizon: number;
  cacheEntries: number;
  connections: number;
  live: Record<SyncerType, number>;
  snapshotsBuilt: number;
  snapshotsReused: number;
  resumes: number;
  shedHistory: readonly number[];
  /** Payloads on the heartbeat subject that were not heartbeats (ignored). */
  invalidHeartbeats: number;
  closed: Record<string, number>;
  warmStart: boolean;
  /** Times the cache was read again after falling behind compaction. */
  resyncs: number;
  /** Accepted connections of this process (streams and idle standby sessions); `workers` 1 only. */
  sockets?: LedgerStats;
  /** With worker processes: each one's pid and streams. */
  workers?: WorkerStats[];
}
