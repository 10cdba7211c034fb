// `meshless sync`: wiring of one sync server process (NATS, the server, telemetry, shutdown).
// SIGTERM drains: every client is sent to another server and resumes there, then we close.
import { availableParallelism, hostname } from 'node:os';
import { checkStateDir } from '../../shared/config/index.js';
import { createLogger, type Logger } from '../../shared/log/index.js';
import { connectNats } from '../../shared/nats/index.js';
import { Shutdown, startTelemetry, type Telemetry } from '../../shared/telemetry/index.js';
import { serverSecurity } from '../../shared/tls/index.js';
import type { SyncConfig } from './config.js';
import { SyncServer, connectionCap, createSyncMetrics, openFileLimit } from './server/index.js';

export interface RunningSync {
  readonly server: SyncServer;
  readonly telemetry: Telemetry;
  /** Drains (when `drain`), then closes everything. */
  stop(drain?: boolean): Promise<void>;
}

export interface RunSyncOptions {
  log?: Logger;
  /** Install SIGTERM/SIGINT handlers that drain and exit (the daemon does; tests do not). */
  handleSignals?: boolean;
}

export async function runSync(config: SyncConfig, options: RunSyncOptions = {}): Promise<RunningSync> {
  const serverId = config.serverId || `${hostname()}-${process.pid}`;
  const log = options.log ?? createLogger('sync', { serverId });
  const listenHost = config.listen.slice(0, config.listen.lastIndexOf(':')).replace(/^\[(.*)\]$/, '$1');
  // Fail fast: an unusable state directory or a taken port stops start-up with the reason, and
  // nothing is left open (the process exits non-zero instead of looking alive).
  if (config.stateDir) checkStateDir(config.stateDir);
  const security = await serverSecurity(
    'sync',
    { credentials: config.credentials, insecure: config.insecure, refreshMs: config.tlsRefresh },
    log,
  );
  const telemetry = await startTelemetry({
    service: 'sync',
    host: config.metricsHost || listenHost,
    port: config.metricsPort,
  });
  const nc = await connectNats(
    config.nats,
    `meshless-sync-${serverId}`,
    log,
    config.natsCredentials || undefined,
  ).catch(async (err: unknown) => {
    await telemetry.close();
    throw err;
  });
  let server: SyncServer | undefined;
  const workers = config.workers === 0 ? availableParallelism() : config.workers;
  const maxConnections = connectionCap(config.maxConnections, openFileLimit(), log, workers);
  const metrics = createSyncMetrics(telemetry.meter, {
    revision: () => server?.cache.revision ?? 0,
    cacheEntries: () => server?.cache.size ?? 0,
    streams: () => server?.stats().connections ?? 0,
    connectionLimit: () => maxConnections,
    sockets: () => server?.stats().sockets,
  });
  server = await SyncServer.start({
    serverId,
    nc,
    listen: config.listen,
    advertise: config.advertise || undefined,
    stateDir: config.stateDir || undefined,
    maxConnections,
    pingIntervalMs: config.pingInterval,
    pongTimeoutMs: Math.max(config.pongTimeout, 2 * config.pingInterval),
    handshakeTimeoutMs: config.handshakeTimeout,
    snapshotWindowMs: config.snapshotWindow,
    chunkBytes: config.chunkBytes,
    compressMinBytes: config.compressMinBytes,
    maxLagBytes: config.maxLagBytes,
    maxLagRevisions: config.maxLagRevisions,
    newClientGraceMs: config.newClientGrace,
    resumeWaitMs: config.resumeWait,
    heartbeatIntervalMs: config.heartbeatInterval,
    shedPerSecond: config.shedPerSecond,
    shedSlack: config.shedSlackPercent / 100,
    fanoutChunk: config.fanoutChunk,
    drainTimeoutMs: config.drainTimeout,
    horizonPollMs: config.horizonPoll,
    maxMessageBytes: config.maxMessageBytes,
    directWrites: config.directWrites,
    listenBacklog: config.listenBacklog,
    log,
    metrics,
    security,
    workers,
    tls: { credentials: config.credentials, insecure: config.insecure, refreshMs: config.tlsRefresh },
  }).catch(async (err: unknown) => {
    await nc.close().catch(() => undefined);
    await telemetry.close();
    throw err;
  });
  const s = server;
  telemetry.addReadiness('sync', () => {
    const reason = s.notReadyReason();
    return reason ? { ready: false, reason } : { ready: true };
  });
  log.info({ address: s.address, listen: config.listen, metricsPort: telemetry.port }, 'sync server listening');
  if (!config.advertise && (listenHost === '0.0.0.0' || listenHost === '::')) {
    log.warn(
      { address: s.address },
      'listening on every interface without --advertise: other servers will suggest a loopback address to agents',
    );
  }

  let stopped: Promise<void> | undefined;
  const stop = (drain = true) =>
    (stopped ??= (async () => {
      if (drain) await s.drain();
      await s.close();
      await nc.drain().catch(() => nc.close());
      await telemetry.close();
    })());
  if (options.handleSignals) {
    const shutdown = new Shutdown(log, config.drainTimeout + 10_000);
    shutdown.add('sync', () => stop(true));
    shutdown.installSignalHandlers();
  }
  return { server: s, telemetry, stop };
}
