// The sync server: one datastore follower (cache/follower.ts) keeping one cache, and the gRPC
// SyncService streaming views of it to agents and route reflectors. This file is the wiring and
// the decisions: admission after a valid hello (authorize, admit), resume or snapshot, fan-out of
// changes (deltas.ts) and pings to live streams, shedding and draining. The streams themselves
// (gRPC, request decoding, queues, pings) are a StreamHost's (stream-host.ts): in this process
// with `workers: 1`, else one in each worker process (workers/), where the decisions reach them
// through RemoteStreams. Each stream owns its lifecycle (client-stream.ts); the sets they are in
// live in stream-index.ts. Protocol: proto/meshless/v1/sync.proto; design and rejected
// alternatives: services/sync/DESIGN.md.
//
// Life of a stream (the phases of ClientStream)
//   handshake  waiting for SyncClientHello (handshakeTimeoutMs), validated field by field
//   syncing    ServerHello sent; resume deltas or snapshot chunks queued, then InSync
//   live       receives every fan-out task and ping round; answers pings
//   closed     ended with a status (or by the client); removed from every set at once
import type { Server as TcpServer } from 'node:net';
import { ServerCredentials, status, type ConnectionInjector } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { resourceKey } from '../../../shared/nats/index.js';
import { describeCaller } from '../../../shared/tls/index.js';
import { SyncReconnectReason } from '../../../../proto/gen/meshless/v1/sync.js';
import { Cache, DatastoreFollower } from '../cache/index.js';
import { compressionName, encodeFrame } from '../protocol/index.js';
import { hasNodeScope } from '../view/index.js';
import { authorizeHello } from './authorize.js';
import { Balancer } from './balancer.js';
import type { CloseReason } from './client-stream.js';
import { pushDeltaTasks } from './deltas.js';
import { StreamIndex } from './stream-index.js';
import { StreamHost, type HostOptions } from './stream-host.js';
import { SharedFrames } from './shared-frames.js';
import { listen, listenForHandOff } from './listener.js';
import { ConnectionLedger, openFileLimit, socketRoom } from './fd-limit.js';
import { WorkerFront, type ServedStream } from './workers/index.js';
import type { SyncServerOptions, SyncServerStats } from './options.js';
import { createSyncMetrics, type SyncMetrics } from './metrics.js';
import { SnapshotCache, deltaMessages, nodeChangesSince } from './snapshots.js';

/** Most slices a ping round is spread over (sync-server's `pingSlices`). */
const MAX_PING_SLICES = 20;

export class SyncServer {
  readonly cache = new Cache();
  /** The streams, when served in this process (`workers` 1). */
  private readonly host: StreamHost | undefined;
  /** This process's sockets against its open-file room (`workers` 1; a worker keeps its own). */
  private readonly ledger: ConnectionLedger | undefined;
  /** The worker processes serving the streams (`workers` > 1). */
  private readonly front: WorkerFront | undefined;
  private readonly snapshots: SnapshotCache;
  private readonly frames: SharedFrames;
  private readonly metrics: SyncMetrics;
  private readonly log: Logger;
  private balancer: Balancer | undefined;
  private listener: TcpServer | undefined;
  private injector: ConnectionInjector | undefined;
  private readonly follower: DatastoreFollower;
  private readonly index: StreamIndex<ServedStream>;
  private readonly timers: NodeJS.Timeout[] = [];
  private pingId = 0;
  /**
   * A ping round is spread over the interval in slices at least 50 ms apart (20 at the default
   * 10 s). Pinging every stream at once made every agent answer at once: thousands of Pongs to
   * decode in one burst, and a change arriving then waited behind them (bench:fanout's
   * changeTail: the slowest changes of a run were the ones near a ping round).
   */
  private readonly pingSlices: number;
  private natsUp = true;
  private _draining = false;
  private closed = false;
  private drainDone: Promise<void> | undefined;
  private readonly counts = { snapshotsBuilt: 0, snapshotsReused: 0, resumes: 0, closed: {} as Record<string, number> };
  private _address = '';
  private _port = 0;

  private constructor(private readonly options: SyncServerOptions) {
    this.log = options.log;
    this.metrics = options.metrics ?? createSyncMetrics();
    this.pingSlices = Math.max(1, Math.min(MAX_PING_SLICES, Math.floor(options.pingIntervalMs / 50)));
    this.snapshots = new SnapshotCache(
      this.cache,
      {
        windowMs: options.snapshotWindowMs,
        chunkBytes: options.chunkBytes,
        compressMinBytes: options.compressMinBytes,
      },
      {
        built: (syncer, compression, raw, wire) => {
          this.counts.snapshotsBuilt++;
          this.metrics.snapshotBuilt(syncer, compressionName(compression), raw, wire);
        },
        reused: (syncer) => {
          this.counts.snapshotsReused++;
          this.metrics.snapshotReused(syncer);
        },
      },
      () => this.follower.datastoreId,
    );
    this.follower = new DatastoreFollower(
      {
        nc: options.nc,
        cache: this.cache,
        stateDir: options.stateDir,
        bucket: options.bucket,
        horizonPollMs: options.horizonPollMs,
        log: options.log,
        address: () => this.address,
      },
      {
        changes: (changes) =>
          this.host
            ? pushDeltaTasks(this.host.fanout, changes, this.cache.revision, this.host.index, {
                compressMinBytes: options.compressMinBytes,
                fannedOut: (u, m) => this.metrics.fannedOut(u, m),
              })
            : this.front!.changes(changes, this.cache.revision),
        advanced: () => this.serveWaiting(),
        readiness: () => this.balancer?.publish(),
        corrected: () => {
          // Each reconnects without a revision and takes a snapshot with replace=true (sync.proto,
          // SYNC_RECONNECT_REASON_RESYNC).
          for (const stream of [...this.index.open]) {
            if (stream.accepted)
              this.sendAway(
                stream,
                SyncReconnectReason.SYNC_RECONNECT_REASON_RESYNC,
                `sync server ${this.options.serverId} corrected its state: take a snapshot`,
              );
          }
        },
      },
    );
    this.frames = new SharedFrames(this.cache, options, () => this.follower.datastoreId);
    const workers = options.workers ?? 1;
    if (workers <= 1) {
      const ledger = new ConnectionLedger(options.maxSockets ?? socketRoom(openFileLimit()), this.log);
      this.ledger = ledger;
      this.host = new StreamHost(
        options,
        this.metrics,
        { hello: (stream) => this.admit(stream), closed: (stream) => this.onClosed(stream) },
        (call) => {
          ledger.called(call.getPeer());
          return options.security?.caller(call) ?? { kind: 'insecure' };
        },
      );
      this.index = this.host.index;
    } else {
      if (options.security?.secure && !options.tls)
        throw new Error('sync server: workers > 1 with TLS needs options.tls (the workers load the credentials)');
      this.index = new StreamIndex<ServedStream>();
      this.front = new WorkerFront(
        {
          count: workers,
          host: hostOptions(options),
          tls: options.security?.secure ? options.tls : undefined,
          ...(options.maxSockets !== undefined ? { maxSockets: options.maxSockets } : {}),
          log: this.log,
        },
        this.index,
        this.metrics,
        options.compressMinBytes,
        { hello: (stream) => this.admit(stream), closed: (stream) => this.onClosed(stream) },
      );
    }
  }

  /** Binds the port and starts following the datastore; the server becomes ready once caught up. */
  static async start(options: SyncServerOptions): Promise<SyncServer> {
    const server = new SyncServer(options);
    await server.bind();
    server.watchNats();
    server.balancer = new Balancer(
      {
        nc: options.nc,
        serverId: options.serverId,
        address: server.address,
        intervalMs: options.heartbeatIntervalMs,
        shedPerTick: Math.max(1, Math.round((options.shedPerSecond * options.heartbeatIntervalMs) / 1000)),
        slack: options.shedSlack,
        log: options.log,
      },
      {
        connections: () => server.index.accepted,
        ready: () => server.ready,
        draining: () => server._draining,
        shed: (n) => server.shed(n),
      },
    );
    server.balancer.start();
    server.every(options.pingIntervalMs / server.pingSlices, () => server.pingRound());
    server.follower.start();
    return server;
  }

  get address(): string {
    return this._address;
  }

  get port(): number {
    return this._port;
  }

  get ready(): boolean {
    return this.follower.caughtUp && this.natsUp && !this._draining && !this.closed;
  }

  get draining(): boolean {
    return this._draining;
  }

  /** Why the server is not ready (for /readyz), or undefined when it is. */
  notReadyReason(): string | undefined {
    if (this.closed) return 'closed';
    if (this._draining) return 'draining';
    if (!this.natsUp) return 'NATS disconnected';
    return this.follower.notReadyReason();
  }

  stats(): SyncServerStats {
    return {
      serverId: this.options.serverId,
      address: this.address,
      ready: this.ready,
      draining: this._draining,
      revision: this.cache.revision,
      horizon: this.cache.horizon,
      cacheEntries: this.cache.size,
      connections: this.index.accepted,
      live: { agent: this.index.live.agent.size, bgp: this.index.live.bgp.size },
      snapshotsBuilt: this.counts.snapshotsBuilt,
      snapshotsReused: this.counts.snapshotsReused,
      resumes: this.counts.resumes,
      shedHistory: this.balancer?.shedHistory ?? [],
      invalidHeartbeats: this.balancer?.invalidHeartbeats ?? 0,
      closed: { ...this.counts.closed },
      warmStart: this.follower.warmStart,
      resyncs: this.follower.resyncs,
      ...(this.ledger ? { sockets: this.ledger.stats() } : {}),
      ...(this.front ? { workers: this.front.stats() } : {}),
    };
  }

  // ------------------------------------------------------------------ listening

  private async bind(): Promise<void> {
    const at = {
      listen: this.options.listen,
      advertise: this.options.advertise,
      backlog: this.options.listenBacklog,
      log: this.log,
    };
    const front = this.front;
    const bound = this.host
      ? await listen(this.host.grpc, {
          ...at,
          credentials: this.options.security?.credentials ?? ServerCredentials.createInsecure(),
          admit: (socket) => this.ledger!.admit(socket),
        })
      : await front!.pool
          .start()
          .then(() => listenForHandOff(at, (socket) => front!.pool.handOff(socket)))
          .catch(async (err: unknown) => {
            await front!.pool.close('start-up failed');
            throw err;
          });
    this.listener = bound.listener;
    if ('injector' in bound) this.injector = bound.injector as ConnectionInjector;
    this._port = bound.port;
    this._address = bound.address;
  }

  private watchNats(): void {
    void (async () => {
      for await (const s of this.options.nc.status()) {
        if (s.type === 'disconnect') this.natsUp = false;
        else if (s.type === 'reconnect') {
          this.natsUp = true;
          this.follower.natsReconnected();
        }
      }
    })();
  }

  // ------------------------------------------------------------------ fan-out

  /** Pings one slice of the streams (stream-host.ts), the next slice next time. */
  private pingRound(): void {
    if (this.closed) return;
    const revision = this.cache.revision;
    const id = ++this.pingId;
    const slice = id % this.pingSlices;
    if (this.front) this.front.pingRound(id, revision, slice, this.pingSlices);
    else
      this.host!.pingRound(
        encodeFrame({ message: { $case: 'ping', value: { id, revision } } }),
        id,
        revision,
        slice,
        this.pingSlices,
      );
  }

  // ------------------------------------------------------------------ client side

  private reject(stream: ServedStream, code: status, details: string, reason: CloseReason): void {
    this.metrics.rejected(reason);
    stream.fail(code, details, reason);
  }

  /** A valid hello arrived on STREAM: send it away, refuse it, or accept it and serve it. */
  private admit(stream: ServedStream): void {
    const hello = stream.hello!;
    if (this._draining || this.closed) {
      this.sendAway(
        stream,
        SyncReconnectReason.SYNC_RECONNECT_REASON_DRAIN,
        `sync server ${this.options.serverId} is draining; use another server`,
      );
      return;
    }
    if (!this.ready) {
      this.reject(
        stream,
        status.UNAVAILABLE,
        `sync server ${this.options.serverId} is not ready (${this.notReadyReason()}); try another server`,
        'unavailable',
      );
      return;
    }
    // After the readiness check: an unknown node is judged against a caught-up cache.
    const caller = this.index.caller(stream);
    const decision = authorizeHello(
      caller,
      hello,
      (name) => this.cache.get(resourceKey('Node', '', name))?.value !== undefined,
    );
    if (!decision.ok) {
      this.log.warn(
        { caller: describeCaller(caller), syncer: hello.syncer, node: hello.node, reason: decision.reason },
        'sync stream refused: permission denied',
      );
      this.reject(stream, status.PERMISSION_DENIED, decision.reason, 'permission-denied');
      return;
    }
    if (this.index.accepted >= this.options.maxConnections) {
      this.sendAway(
        stream,
        SyncReconnectReason.SYNC_RECONNECT_REASON_FULL,
        `sync server ${this.options.serverId} is full (${this.options.maxConnections} connections); use another server`,
      );
      return;
    }
    if (decision.exclusiveKey !== undefined) {
      const previous = this.index.holder(decision.exclusiveKey);
      if (previous && previous !== stream) {
        this.log.info(
          { identity: decision.exclusiveKey, stream: previous.id },
          'a newer stream for the same identity replaces the older one',
        );
        previous.fail(status.ABORTED, `replaced by a newer stream of ${decision.exclusiveKey}`, 'replaced');
      }
      this.index.claim(stream, decision.exclusiveKey);
    }
    stream.accept();
    this.index.accepted++;
    this.metrics.connections(hello.syncer, 1);
    const r = hello.revision;
    const resumable = r > 0 && hello.datastoreId === this.follower.datastoreId && r >= this.cache.horizon;
    if (resumable && r > this.cache.revision) {
      stream.waitForRevision(this.options.resumeWaitMs, () => {
        this.index.waiting.delete(stream);
        this.reject(
          stream,
          status.UNAVAILABLE,
          `sync server ${this.options.serverId} is at revision ${this.cache.revision}, behind the client's revision ${r}; try another server`,
          'unavailable',
        );
      });
      this.index.waiting.add(stream);
    } else if (resumable) this.serveResume(stream);
    else this.serveSnapshot(stream);
  }

  /** Everything in the view that changed after the client's revision, then InSync. */
  private serveResume(stream: ServedStream): void {
    const { syncer, node, revision: from, compression, nodeScopedKeys } = stream.hello!;
    const head = this.cache.revision;
    const resume = this.frames.resume(syncer, from, compression);
    const updates = nodeChangesSince(this.cache, syncer, node, from, nodeScopedKeys);
    if (updates.length === 0) stream.send(resume.whole, head, true, true);
    else {
      stream.send(resume.head, head, false);
      for (const m of deltaMessages(updates, compression, this.options)) stream.send(m, head, false);
      stream.send(this.frames.inSync(), head, true, true);
    }
    this.counts.resumes++;
    this.metrics.resumed(syncer, resume.count + updates.length);
    this.goLive(stream);
  }

  /** The shared snapshot (built or reused), the node's part, the catch-up, then InSync. */
  private serveSnapshot(stream: ServedStream): void {
    stream.send(this.frames.serverHello(stream.hello!.compression, false), this.cache.revision, false);
    this.sendSnapshotParts(stream);
  }

  private sendSnapshotParts(stream: ServedStream): void {
    const { syncer, node, compression } = stream.hello!;
    this.snapshots.sharedPart(syncer, compression).then(
      (snap) => {
        if (stream.phase === 'closed') return;
        // The horizon can be above the cache's revision (compaction purged the newest messages;
        // a resync raised it past us): a snapshot at the cache's revision has no catch-up to miss.
        if (snap.revision < Math.min(this.cache.horizon, this.cache.revision)) {
          // Compaction overtook the build: its catch-up would miss purged deletions. Again.
          this.sendSnapshotParts(stream);
          return;
        }
        if (this._draining) {
          this.sendAway(
            stream,
            SyncReconnectReason.SYNC_RECONNECT_REASON_DRAIN,
            `sync server ${this.options.serverId} is draining; use another server`,
          );
          return;
        }
        const head = this.cache.revision;
        let bytes = 0;
        const send = (m: Buffer, rev: number) => {
          bytes += m.byteLength;
          stream.send(m, rev, false);
        };
        for (const m of snap.messages) send(m, snap.revision);
        if (hasNodeScope(syncer)) for (const m of this.snapshots.nodePart(syncer, node, compression)) send(m, head);
        for (const m of this.snapshots.catchUp(syncer, compression, snap, head)) send(m, head);
        stream.send(this.frames.inSync(), head, true, true);
        this.metrics.snapshotBytesSent(syncer, bytes);
        this.goLive(stream);
      },
      (err: Error) =>
        this.reject(stream, status.INTERNAL, `building the snapshot failed: ${err.message}`, 'unavailable'),
    );
  }

  private serveWaiting(): void {
    for (const stream of this.index.waiting) {
      if (stream.hello!.revision <= this.cache.revision) {
        stream.stopWaiting();
        this.index.waiting.delete(stream);
        this.serveResume(stream);
      }
    }
  }

  private goLive(stream: ServedStream): void {
    if (stream.phase === 'closed') return;
    stream.goLive();
    this.index.goLive(stream);
  }

  private onClosed(stream: ServedStream): void {
    const reason = stream.closeReason ?? 'client';
    this.counts.closed[reason] = (this.counts.closed[reason] ?? 0) + 1;
    this.metrics.closed(reason);
    if (this.index.remove(stream)) this.metrics.connections(stream.hello!.syncer, -1);
  }

  /** Sends a client elsewhere: Reconnect when it understands it, else a status it can act on. */
  private sendAway(stream: ServedStream, reason: SyncReconnectReason, message: string): void {
    if (stream.phase === 'closed') return;
    if (stream.hello?.reconnect) {
      const suggestedAddress = this.balancer?.suggest() ?? '';
      stream.send(
        encodeFrame({ message: { $case: 'reconnect', value: { reason, suggestedAddress, message } } }),
        0,
        false,
      );
      stream.end('reconnect');
    } else {
      const code =
        reason === SyncReconnectReason.SYNC_RECONNECT_REASON_FULL ? status.RESOURCE_EXHAUSTED : status.UNAVAILABLE;
      stream.fail(code, message, reason === SyncReconnectReason.SYNC_RECONNECT_REASON_FULL ? 'full' : 'unavailable');
    }
  }

  /** Sends up to `count` random live clients to other servers (load shedding). */
  private shed(count: number): number {
    const candidates = [...this.index.liveStreams()].filter((s) => s.hello?.reconnect);
    let shed = 0;
    while (shed < count && candidates.length > 0) {
      const i = Math.floor(Math.random() * candidates.length);
      const s = candidates[i]!;
      candidates[i] = candidates[candidates.length - 1]!;
      candidates.pop();
      this.sendAway(
        s,
        SyncReconnectReason.SYNC_RECONNECT_REASON_REBALANCE,
        `sync server ${this.options.serverId} is above its fair share; use another server`,
      );
      shed++;
    }
    if (shed > 0) this.metrics.shed(shed);
    return shed;
  }

  /**
   * Sends every client to other servers (Reconnect, resume there) and waits until they are gone
   * or drainTimeoutMs passed. New hellos are answered with Reconnect meanwhile.
   */
  drain(): Promise<void> {
    this.drainDone ??= (async () => {
      this._draining = true;
      this.balancer?.publish();
      const targets = [...this.index.open].filter((s) => s.accepted);
      this.log.info({ clients: targets.length }, 'draining: sending every client to another server');
      for (let i = 0; i < targets.length; i += this.options.fanoutChunk) {
        for (const s of targets.slice(i, i + this.options.fanoutChunk)) {
          this.sendAway(
            s,
            SyncReconnectReason.SYNC_RECONNECT_REASON_DRAIN,
            `sync server ${this.options.serverId} is shutting down; use another server`,
          );
        }
        await new Promise((r) => setImmediate(r));
      }
      this.metrics.drained(targets.length);
      const deadline = Date.now() + this.options.drainTimeoutMs;
      while ([...this.index.open].some((s) => s.accepted) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
    })();
    return this.drainDone;
  }

  /** Stops everything; clients still connected get UNAVAILABLE. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    for (const s of this.index.waiting) s.stopWaiting();
    this.balancer?.stop();
    await this.follower.stop();
    const details = `sync server ${this.options.serverId} is shutting down`;
    for (const s of [...this.index.open]) s.fail(status.UNAVAILABLE, details, 'shutdown');
    this.listener?.close();
    if (this.host) {
      this.host.closing = true;
      await this.host.shutdown(() => this.injector?.destroy());
    } else await this.front!.pool.close(details);
    await this.follower.closePersistence();
  }

  private every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    t.unref();
    this.timers.push(t);
  }
}

/** What a StreamHost (here or in a worker process) needs of the server's options. */
function hostOptions(o: SyncServerOptions): HostOptions {
  return {
    serverId: o.serverId,
    maxMessageBytes: o.maxMessageBytes,
    handshakeTimeoutMs: o.handshakeTimeoutMs,
    pongTimeoutMs: o.pongTimeoutMs,
    fanoutChunk: o.fanoutChunk,
    directWrites: o.directWrites,
    maxLagBytes: o.maxLagBytes,
    maxLagRevisions: o.maxLagRevisions,
    newClientGraceMs: o.newClientGraceMs,
  };
}
