// The sync server: one KV watch feeding one cache, and the gRPC SyncService streaming views of it
// to agents and route reflectors. Protocol: proto/meshless/v1/sync.proto; design and rejected
// alternatives: services/sync/DESIGN.md.
//
// Life of a stream
//   handshake  waiting for SyncClientHello (handshakeTimeoutMs), validated field by field
//   syncing    ServerHello sent; resume deltas or snapshot chunks queued, then InSync
//   live       receives every fan-out task and ping round; answers pings
//   closed     ended with a status (or by the client); removed from every set at once
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type AddressInfo, type Server as TcpServer } from 'node:net';
import { Server, ServerCredentials, status, type ConnectionInjector, type ServerDuplexStream } from '@grpc/grpc-js';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { toGrpcStatus } from '../../../shared/grpc-status/index.js';
import { RESOURCES_BUCKET, resourceKey, type NatsConnection } from '../../../shared/nats/index.js';
import { describeCaller, type Caller, type ServerSecurity } from '../../../shared/tls/index.js';
import {
  SyncCompression,
  SyncFeature,
  SyncReconnectReason,
  SyncRequest,
  type SyncClientHello,
  type SyncUpdate,
} from '../../../../proto/gen/meshless/v1/sync.js';
import { Cache, CachePersistence, KvSource, readCompactedRevision, reconcile, type Change, type RawChange } from '../cache/index.js';
import { Freshness } from './freshness.js';
import { RAW_SYNC_SERVICE, compressionName, encodeFrame, updateBlock, validateHello } from '../protocol/index.js';
import { SYNCER_TYPES, hasNodeScope, inView, scopeOf, type SyncerType } from '../view/index.js';
import { advertisedAddress } from './address.js';
import { authorizeHello } from './authorize.js';
import { Balancer } from './balancer.js';
import { ClientStream, type CloseReason } from './client-stream.js';
import { Fanout, type FanoutTask } from './fanout.js';
import { createSyncMetrics, type SyncMetrics } from './metrics.js';
import { SnapshotCache, deletion, deltaMessages, toUpdate } from './snapshots.js';

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
}

const VERSION_FEATURES = [SyncFeature.SYNC_FEATURE_RECONNECT];

function perCompression(make: (c: SyncCompression) => Buffer): (c: SyncCompression) => Buffer {
  const made = new Map<SyncCompression, Buffer>();
  return (c) => {
    let b = made.get(c);
    if (!b) made.set(c, (b = make(c)));
    return b;
  };
}

export class SyncServer {
  readonly cache = new Cache();
  private readonly grpc: Server;
  private readonly snapshots: SnapshotCache;
  private readonly fanout: Fanout;
  private readonly metrics: SyncMetrics;
  private readonly log: Logger;
  private balancer: Balancer | undefined;
  private listener: TcpServer | undefined;
  private injector: ConnectionInjector | undefined;
  private source: KvSource | undefined;
  private persistence: CachePersistence | undefined;
  private jsm: JetStreamManager | undefined;
  private readonly streams = new Set<ClientStream>();
  private readonly live: Record<SyncerType, Set<ClientStream>> = { agent: new Set(), bgp: new Set() };
  private readonly liveByNode: Record<SyncerType, Map<string, Set<ClientStream>>> = { agent: new Map(), bgp: new Map() };
  private readonly waiting = new Map<ClientStream, NodeJS.Timeout>();
  /** Who opened each stream (from its TLS session). */
  private readonly callers = new WeakMap<ClientStream, Caller>();
  /** The one stream of each node or reflector identity (see authorize.ts). */
  private readonly exclusive = new Map<string, ClientStream>();
  private readonly exclusiveKeys = new WeakMap<ClientStream, string>();
  private readonly timers: NodeJS.Timeout[] = [];
  private nextStreamId = 0;
  private pingId = 0;
  private accepted = 0;
  private caughtUp = false;
  private readonly freshness = new Freshness();
  /** Why the cache is being read again (not ready meanwhile); undefined when it is not. */
  private resyncReason: string | undefined;
  private resyncs = 0;
  private resyncing = false;
  private natsUp = true;
  private _draining = false;
  private closed = false;
  private drainDone: Promise<void> | undefined;
  private datastoreId = '';
  /** The revision a warm start loaded (0 for a cold start). */
  private warmRevision = 0;
  private readonly counts = { snapshotsBuilt: 0, snapshotsReused: 0, resumes: 0, closed: {} as Record<string, number> };
  private _address = '';
  private _port = 0;

  private constructor(private readonly options: SyncServerOptions) {
    this.log = options.log;
    this.metrics = options.metrics ?? createSyncMetrics();
    this.snapshots = new SnapshotCache(
      this.cache,
      { windowMs: options.snapshotWindowMs, chunkBytes: options.chunkBytes, compressMinBytes: options.compressMinBytes },
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
    );
    this.fanout = new Fanout(options.fanoutChunk, (sec, kind) => this.metrics.fanoutDuration(sec, kind));
    this.grpc = new Server({
      'grpc.max_receive_message_length': options.maxMessageBytes,
      'grpc.max_send_message_length': -1,
    });
    this.grpc.addService(RAW_SYNC_SERVICE, { sync: (call: ServerDuplexStream<Buffer, Buffer>) => this.handleCall(call) });
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
        connections: () => server.accepted,
        ready: () => server.ready,
        draining: () => server._draining,
        shed: (n) => server.shed(n),
      },
    );
    server.balancer.start();
    server.every(options.pingIntervalMs, () => server.pingRound());
    server.every(options.horizonPollMs, () => void server.pollHorizon());
    void server.follow();
    return server;
  }

  get address(): string {
    return this._address;
  }

  get port(): number {
    return this._port;
  }

  get ready(): boolean {
    return this.caughtUp && this.natsUp && !this._draining && !this.closed;
  }

  get draining(): boolean {
    return this._draining;
  }

  /** Why the server is not ready (for /readyz), or undefined when it is. */
  notReadyReason(): string | undefined {
    if (this.closed) return 'closed';
    if (this._draining) return 'draining';
    if (!this.natsUp) return 'NATS disconnected';
    if (this.resyncReason) return `reading the datastore again: ${this.resyncReason}`;
    if (!this.caughtUp) return `catching up with the datastore (at revision ${this.cache.revision})`;
    return undefined;
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
      connections: this.accepted,
      live: { agent: this.live.agent.size, bgp: this.live.bgp.size },
      snapshotsBuilt: this.counts.snapshotsBuilt,
      snapshotsReused: this.counts.snapshotsReused,
      resumes: this.counts.resumes,
      shedHistory: this.balancer?.shedHistory ?? [],
      invalidHeartbeats: this.balancer?.invalidHeartbeats ?? 0,
      closed: { ...this.counts.closed },
      warmStart: this.warmRevision > 0,
      resyncs: this.resyncs,
    };
  }

  // ------------------------------------------------------------------ datastore side

  /**
   * Listens with our own TCP server and hands each connection to grpc-js (its connection
   * injector): grpc-js's own listener has Node's default accept backlog (511), and when a server
   * dies, thousands of agents reconnect to the others at once; connections beyond the backlog
   * are dropped and retried by TCP after 1, 3, 7... seconds. Also sets TCP_NODELAY, so small
   * frames (deltas, pings) never wait for Nagle.
   */
  private async bind(): Promise<void> {
    const listen = this.options.listen;
    const host = listen.slice(0, listen.lastIndexOf(':'));
    const injector = this.grpc.createConnectionInjector(this.options.security?.credentials ?? ServerCredentials.createInsecure());
    this.injector = injector;
    const listener = createServer({ noDelay: true }, (socket) => injector.injectConnection(socket));
    this.listener = listener;
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen({ host: host.replace(/^\[(.*)\]$/, '$1'), port: Number(listen.slice(listen.lastIndexOf(':') + 1)), backlog: this.options.listenBacklog }, () => {
        listener.off('error', reject);
        resolve();
      });
    });
    listener.on('error', (err) => this.log.error({ err: String(err) }, 'listener error'));
    this._port = (listener.address() as AddressInfo).port;
    this._address = advertisedAddress(this.options.advertise, host, this._port);
  }

  private watchNats(): void {
    void (async () => {
      for await (const s of this.options.nc.status()) {
        if (s.type === 'disconnect') this.natsUp = false;
        else if (s.type === 'reconnect') {
          this.natsUp = true;
          // The ordered consumer resumes by itself, but after a slow-consumer disconnect (a
          // frozen process) it was seen to skip messages: check the cache against the KV.
          if (this.caughtUp) void this.resync('NATS reconnected: checking the cache against the datastore', true);
        }
      }
    })();
  }

  /** Follows the datastore, retrying (every second) until it works or the server closes. */
  private async follow(): Promise<void> {
    while (!this.closed) {
      try {
        await this.startFollowing();
        return;
      } catch (err) {
        if (this.closed) return;
        this.log.error({ err: String(err) }, 'cannot follow the datastore; retrying');
        await this.source?.stop().catch(() => undefined);
        this.source = undefined;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  /** Watches the KV again after the watch ended unexpectedly, from the revision the cache holds. */
  private rewatch(err: unknown): void {
    if (this.closed) return;
    this.log.error({ err: String(err), revision: this.cache.revision }, 'the datastore watch ended; watching again from our revision');
    this.source = undefined;
    void this.follow();
  }

  private newSource(after: number): KvSource {
    return new KvSource({
      nc: this.options.nc,
      bucket: this.options.bucket ?? RESOURCES_BUCKET,
      after,
      log: this.log,
      onBatch: (changes, caughtUp) => this.onBatch(changes, caughtUp),
      onEnded: (err) => this.rewatch(err),
    });
  }

  /**
   * Waits for the bucket, then watches it: from the cache's revision when the cache already
   * follows this bucket (a watch that ended), else from the LMDB cache when it is usable (warm
   * start), else from scratch (cold start; also when the bucket was recreated).
   */
  private async startFollowing(): Promise<void> {
    const bucket = this.options.bucket ?? RESOURCES_BUCKET;
    this.jsm ??= await jetstreamManager(this.options.nc);
    const probe = new KvSource({ nc: this.options.nc, bucket, after: 0, log: this.log, onBatch: () => undefined });
    const identity = await probe.identity(() => this.closed);
    if (this.closed) return;
    if (this.datastoreId === identity.datastoreId) {
      this.source = this.newSource(this.cache.revision);
      await this.source.start();
      return;
    }
    if (this.datastoreId !== '') {
      this.log.warn({ was: this.datastoreId, now: identity.datastoreId }, 'the datastore bucket was recreated: reading it from scratch');
      this.cache.clear();
      this.caughtUp = false;
      this.warmRevision = 0;
      await this.persistence?.replaceAll([], 0, 0, identity.datastoreId);
    } else if (this.options.stateDir) {
      mkdirSync(this.options.stateDir, { recursive: true });
      this.persistence ??= CachePersistence.open(join(this.options.stateDir, 'sync-cache.mdb'));
      const saved = this.persistence.load();
      const compacted = await readCompactedRevision(this.jsm);
      if (saved && saved.datastoreId === identity.datastoreId && saved.revision >= compacted && saved.revision <= identity.lastSequence) {
        this.cache.clear();
        this.cache.load(saved.entries, saved.revision, Math.max(saved.horizon, compacted));
        this.warmRevision = saved.revision;
        this.log.info({ revision: saved.revision, entries: saved.entries.length }, 'warm start from the LMDB cache');
      } else {
        if (saved) this.log.info({ saved: saved.revision, compacted, datastore: saved.datastoreId === identity.datastoreId }, 'LMDB cache unusable: cold start');
        await this.persistence.replaceAll([], 0, 0, identity.datastoreId);
      }
    }
    this.datastoreId = identity.datastoreId;
    this.source = this.newSource(this.warmRevision);
    await this.source.start();
  }

  private onBatch(raw: RawChange[], caughtUp: boolean): void {
    if (this.closed) return;
    const changes = this.cache.apply(raw);
    if (changes.length > 0) this.persistence?.saveBatch(changes, this.cache.revision);
    if (!this.caughtUp) {
      if (caughtUp) void this.onCaughtUp();
      return;
    }
    if (changes.length > 0) this.fanOut(changes);
    this.serveWaiting();
  }

  private async onCaughtUp(): Promise<void> {
    const compacted = await readCompactedRevision(this.jsm!);
    if (this.warmRevision > 0 && compacted > this.warmRevision) {
      // Tombstones after our saved revision were purged while we were down: deletions may be
      // missing from what we replayed. Start over from the KV.
      this.log.warn({ saved: this.warmRevision, compacted }, 'datastore compacted past the warm cache: cold start');
      await this.source?.stop();
      this.cache.clear();
      this.warmRevision = 0;
      await this.persistence?.replaceAll([], 0, 0, this.datastoreId);
      this.source = this.newSource(0);
      await this.source.start();
      return;
    }
    const dropped = this.cache.raiseHorizon(compacted);
    this.persistence?.saveHorizon(this.cache.horizon, dropped);
    this.freshness.reset(Math.max(this.cache.revision, compacted));
    this.caughtUp = true;
    this.log.info({ revision: this.cache.revision, entries: this.cache.size, horizon: this.cache.horizon, address: this.address }, 'caught up with the datastore: ready');
    this.balancer?.publish();
  }

  /** Raises the horizon, and reads the KV again when we fell behind compaction (see freshness.ts). */
  private async pollHorizon(): Promise<void> {
    if (!this.caughtUp || !this.jsm || this.resyncReason) return;
    try {
      const revision = this.cache.revision;
      const compacted = await readCompactedRevision(this.jsm);
      const lastSequence = (await this.jsm.streams.info(this.source?.streamName ?? `KV_${this.options.bucket ?? RESOURCES_BUCKET}`)).state.last_seq;
      if (!this.caughtUp || this.resyncReason) return;
      const verdict = this.freshness.judge(revision, this.cache.horizon, compacted, lastSequence);
      if (verdict.kind === 'stale') void this.resync(verdict.reason);
      else if (verdict.kind === 'stalled') {
        this.log.warn({ revision, lastSequence, reason: verdict.reason }, 'the datastore watch is stuck: watching again from our revision');
        await this.source?.stop();
        this.source = this.newSource(this.cache.revision);
        await this.source.start();
      } else if (verdict.raiseHorizonTo !== undefined) {
        const dropped = this.cache.raiseHorizon(verdict.raiseHorizonTo);
        this.persistence?.saveHorizon(verdict.raiseHorizonTo, dropped);
      }
    } catch (err) {
      this.log.debug({ err: String(err) }, 'could not read the compacted revision');
    }
  }

  /**
   * The cache may have missed purged deletions: not ready (new clients go elsewhere), read the
   * whole KV again, and send live clients the difference as ordinary deltas (reconcile.ts), then
   * ready again. Changes arriving meanwhile are held and applied after the difference.
   */
  private async resync(reason: string, stayReady = false): Promise<void> {
    if (this.resyncReason || this.resyncing || this.closed) return;
    this.resyncing = true;
    if (!stayReady) {
      this.resyncReason = reason;
      this.caughtUp = false;
      this.log.warn({ revision: this.cache.revision, horizon: this.cache.horizon, reason }, 'fell behind the datastore compaction: not ready, reading the datastore again');
      this.balancer?.publish();
    } else this.log.info({ revision: this.cache.revision, reason }, 'reading the datastore again (staying ready)');
    this.resyncs++;
    const bucket = this.options.bucket ?? RESOURCES_BUCKET;
    try {
      await this.source?.stop();
      const truth = new Map<string, RawChange>();
      const held: RawChange[][] = [];
      let phase: 'reading' | 'holding' | 'live' = 'reading';
      let readDone!: () => void;
      let readFailed!: (err: unknown) => void;
      const read = new Promise<void>((resolve, reject) => {
        readDone = resolve;
        readFailed = reject;
      });
      const source = new KvSource({
        nc: this.options.nc,
        bucket,
        after: 0,
        log: this.log,
        onBatch: (changes, caughtUp) => {
          if (phase === 'live') return this.onBatch(changes, true);
          if (stayReady && phase === 'reading') {
            // Live clients keep getting changes; the difference comes once the read ends.
            const applied = this.cache.apply(changes);
            if (applied.length > 0) {
              this.persistence?.saveBatch(applied, this.cache.revision);
              this.fanOut(applied);
            }
          }
          if (phase === 'holding') return void held.push(changes);
          for (const c of changes) truth.set(c.key, c);
          if (caughtUp) {
            phase = 'holding';
            readDone();
          }
        },
        onEnded: (err) => (phase === 'live' ? this.rewatch(err) : readFailed(err ?? new Error('the watch ended while reading the datastore again'))),
      });
      this.source = source;
      const readRevision = (await this.jsm!.streams.info(source.streamName)).state.last_seq;
      await source.start();
      await read;
      const compacted = await readCompactedRevision(this.jsm!);
      const r = reconcile(this.cache, truth, readRevision);
      const changes = this.cache.apply(r.changes);
      if (changes.length > 0) {
        this.persistence?.saveBatch(changes, this.cache.revision);
        this.fanOut(changes);
      }
      // And a client that resumes here with a revision from before gets a snapshot too.
      const horizon = changes.length > 0 ? Math.max(compacted, this.cache.revision + 1) : compacted;
      const dropped = this.cache.raiseHorizon(horizon);
      this.persistence?.saveHorizon(this.cache.horizon, dropped);
      this.freshness.reset(this.cache.revision);
      this.resyncReason = undefined;
      this.resyncing = false;
      this.caughtUp = true;
      phase = 'live';
      for (const batch of held) this.onBatch(batch, true);
      if (changes.length > 0) {
        // Clients that committed a revision from us may lack the corrections (which carry their
        // real, older revisions, so a resume would not resend them): each reconnects without a
        // revision and takes a snapshot with replace=true (sync.proto, SYNC_RECONNECT_REASON_RESYNC).
        for (const stream of [...this.streams]) {
          if (stream.accepted) this.sendAway(stream, SyncReconnectReason.SYNC_RECONNECT_REASON_RESYNC, `sync server ${this.options.serverId} corrected its state: take a snapshot`);
        }
      }
      this.log.info({ revision: this.cache.revision, corrected: changes.length, purgedDeletions: r.purgedDeletions }, 'read the datastore again: ready');
      this.serveWaiting();
      this.balancer?.publish();
    } catch (err) {
      this.log.error({ err: String(err) }, 'reading the datastore again failed; retrying');
      this.resyncReason = undefined;
      this.resyncing = false;
      setTimeout(() => void this.resync(reason, stayReady && this.caughtUp), 1000).unref();
    }
  }

  // ------------------------------------------------------------------ fan-out

  private fanOut(changes: Change[]): void {
    const revision = this.cache.revision;
    for (const syncer of SYNCER_TYPES) {
      if (this.live[syncer].size === 0) continue;
      const shared: SyncUpdate[] = [];
      const perNode = new Map<string, SyncUpdate[]>();
      const forNode = (node: string, u: SyncUpdate) => {
        const list = perNode.get(node);
        if (list) list.push(u);
        else perNode.set(node, [u]);
      };
      for (const { entry, previous } of changes) {
        const scope = scopeOf(syncer, entry.kind);
        if (scope === 'all') shared.push(toUpdate(entry));
        else if (scope === 'node') {
          if (entry.node !== undefined) forNode(entry.node, toUpdate(entry));
          if (previous?.node !== undefined && previous.node !== entry.node) forNode(previous.node, deletion(entry.key, entry.revision));
        }
      }
      if (shared.length === 0 && perNode.size === 0) continue;
      this.fanout.push(this.deltaTask(syncer, revision, shared, perNode));
    }
  }

  private deltaTask(syncer: SyncerType, revision: number, shared: SyncUpdate[], perNode: Map<string, SyncUpdate[]>): FanoutTask {
    const min = this.options.compressMinBytes;
    const deltas = (updates: SyncUpdate[], rev: number) => (c: SyncCompression) =>
      encodeFrame({ message: { $case: 'deltas', value: { block: updateBlock(updates, c, min).block, revision: rev } } });
    const sharedCommit = perCompression(deltas(shared, revision));
    const sharedPartial = perCompression(deltas(shared, 0));
    const nodeMessages = new Map<string, (c: SyncCompression) => Buffer>();
    for (const [node, updates] of perNode) nodeMessages.set(node, perCompression(deltas(updates, revision)));
    const live = this.live[syncer];
    const byNode = this.liveByNode[syncer];
    let updatesOut = 0;
    let messagesOut = 0;
    return {
      kind: 'deltas',
      revision,
      targets: () =>
        shared.length > 0
          ? live
          : (function* () {
              for (const node of perNode.keys()) yield* byNode.get(node) ?? [];
            })(),
      deliver: (s) => {
        if (s.sentRevision >= revision) return 0;
        const { node, compression } = s.hello!;
        const mine = nodeMessages.get(node);
        let n = 0;
        if (mine) {
          if (shared.length > 0) {
            s.send(sharedPartial(compression), revision, false);
            n++;
          }
          s.send(mine(compression), revision, true);
          updatesOut += shared.length + perNode.get(node)!.length;
          n++;
        } else if (shared.length > 0) {
          s.send(sharedCommit(compression), revision, true);
          updatesOut += shared.length;
          n++;
        }
        messagesOut += n;
        return n;
      },
      done: () => this.metrics.fannedOut(updatesOut, messagesOut),
    };
  }

  private *liveStreams(): IterableIterator<ClientStream> {
    for (const syncer of SYNCER_TYPES) yield* this.live[syncer];
  }

  private pingRound(): void {
    if (this.closed) return;
    const now = Date.now();
    const revision = this.cache.revision;
    for (const s of this.liveStreams()) {
      if (now - s.lastPongAt > this.options.pongTimeoutMs) {
        s.fail(status.DEADLINE_EXCEEDED, `no SyncPong for ${now - s.lastPongAt} ms (pong timeout ${this.options.pongTimeoutMs} ms)`, 'pong-timeout');
        continue;
      }
      this.metrics.clientLag(s.lag(revision).revisions);
    }
    const id = ++this.pingId;
    const buf = encodeFrame({ message: { $case: 'ping', value: { id, revision } } });
    this.fanout.push({
      kind: 'ping',
      revision,
      targets: () => this.liveStreams(),
      deliver: (s) => {
        s.pingId = id;
        s.pingSentAt = Date.now();
        s.send(buf, revision, true);
        return 1;
      },
    });
  }

  private onPong(s: ClientStream, id: number): void {
    s.lastPongAt = Date.now();
    if (id === s.pingId && s.pingSentAt > 0) {
      this.metrics.pingLatency((s.lastPongAt - s.pingSentAt) / 1000);
      s.pingSentAt = 0;
    }
  }

  // ------------------------------------------------------------------ client side

  private handleCall(call: ServerDuplexStream<Buffer, Buffer>): void {
    const stream = new ClientStream(++this.nextStreamId, call, this.options, (s) => this.onClosed(s), this.options.directWrites);
    if (this.closed) {
      stream.fail(status.UNAVAILABLE, `sync server ${this.options.serverId} is shutting down`, 'shutdown');
      return;
    }
    this.streams.add(stream);
    this.callers.set(stream, this.options.security?.caller(call) ?? { kind: 'insecure' });
    stream.handshakeTimer = setTimeout(() => {
      if (stream.phase !== 'handshake') return;
      this.metrics.rejected('handshake-timeout');
      stream.fail(status.DEADLINE_EXCEEDED, `no SyncClientHello within ${this.options.handshakeTimeoutMs} ms`, 'handshake-timeout');
    }, this.options.handshakeTimeoutMs);
    stream.handshakeTimer.unref();
    call.on('data', (buf: Buffer) => this.onRequest(stream, buf));
    call.on('end', () => stream.end('client'));
    call.on('cancelled', () => stream.gone());
    call.on('error', () => stream.gone());
    call.on('close', () => stream.gone());
  }

  private reject(stream: ClientStream, code: status, details: string, reason: CloseReason): void {
    this.metrics.rejected(reason);
    stream.fail(code, details, reason);
  }

  private onRequest(stream: ClientStream, buf: Buffer): void {
    if (stream.phase === 'closed') return;
    let request: SyncRequest;
    try {
      request = SyncRequest.decode(buf);
    } catch (err) {
      this.reject(stream, status.INVALID_ARGUMENT, `malformed SyncRequest: ${(err as Error).message}`, 'invalid');
      return;
    }
    const m = request.message;
    if (!m) {
      this.reject(stream, status.INVALID_ARGUMENT, 'SyncRequest with no message set (expected client_hello, then pong)', 'invalid');
    } else if (m.$case === 'clientHello') {
      if (stream.phase !== 'handshake') this.reject(stream, status.INVALID_ARGUMENT, 'client_hello: sent twice on one stream', 'invalid');
      else this.onHello(stream, m.value);
    } else if (stream.phase === 'handshake') {
      this.reject(stream, status.INVALID_ARGUMENT, 'pong: received before client_hello', 'invalid');
    } else {
      this.onPong(stream, m.value.id);
    }
  }

  private onHello(stream: ClientStream, raw: SyncClientHello): void {
    clearTimeout(stream.handshakeTimer);
    let hello;
    try {
      hello = validateHello(raw);
    } catch (err) {
      const st = toGrpcStatus(err);
      this.metrics.rejected('invalid');
      stream.fail(st.code, st.details, 'invalid', st.metadata);
      return;
    }
    stream.hello = hello;
    if (this._draining || this.closed) {
      this.sendAway(stream, SyncReconnectReason.SYNC_RECONNECT_REASON_DRAIN, `sync server ${this.options.serverId} is draining; use another server`);
      return;
    }
    if (!this.ready) {
      this.reject(stream, status.UNAVAILABLE, `sync server ${this.options.serverId} is not ready (${this.notReadyReason()}); try another server`, 'unavailable');
      return;
    }
    // After the readiness check: an unknown node is judged against a caught-up cache.
    const caller = this.callers.get(stream) ?? { kind: 'insecure' };
    const decision = authorizeHello(caller, hello, (name) => this.cache.get(resourceKey('Node', '', name))?.value !== undefined);
    if (!decision.ok) {
      this.log.warn({ caller: describeCaller(caller), syncer: hello.syncer, node: hello.node, reason: decision.reason }, 'sync stream refused: permission denied');
      this.reject(stream, status.PERMISSION_DENIED, decision.reason, 'permission-denied');
      return;
    }
    if (this.accepted >= this.options.maxConnections) {
      this.sendAway(stream, SyncReconnectReason.SYNC_RECONNECT_REASON_FULL, `sync server ${this.options.serverId} is full (${this.options.maxConnections} connections); use another server`);
      return;
    }
    if (decision.exclusiveKey !== undefined) {
      const previous = this.exclusive.get(decision.exclusiveKey);
      if (previous && previous !== stream) {
        this.log.info({ identity: decision.exclusiveKey, stream: previous.id }, 'a newer stream for the same identity replaces the older one');
        previous.fail(status.ABORTED, `replaced by a newer stream of ${decision.exclusiveKey}`, 'replaced');
      }
      this.exclusive.set(decision.exclusiveKey, stream);
      this.exclusiveKeys.set(stream, decision.exclusiveKey);
    }
    stream.accepted = true;
    stream.phase = 'syncing';
    this.accepted++;
    this.metrics.connections(hello.syncer, 1);
    const r = hello.revision;
    const resumable = r > 0 && hello.datastoreId === this.datastoreId && r >= this.cache.horizon;
    if (resumable && r > this.cache.revision) {
      const timer = setTimeout(() => {
        this.waiting.delete(stream);
        this.reject(stream, status.UNAVAILABLE, `sync server ${this.options.serverId} is at revision ${this.cache.revision}, behind the client's revision ${r}; try another server`, 'unavailable');
      }, this.options.resumeWaitMs);
      timer.unref();
      this.waiting.set(stream, timer);
    } else if (resumable) this.serveResume(stream);
    else this.serveSnapshot(stream);
  }

  private serverHello(stream: ClientStream, resume: boolean): Buffer {
    return encodeFrame({
      message: {
        $case: 'serverHello',
        value: {
          serverId: this.options.serverId,
          revision: this.cache.revision,
          datastoreId: this.datastoreId,
          compression: stream.hello!.compression,
          features: VERSION_FEATURES,
          pingIntervalMs: this.options.pingIntervalMs,
          resume,
        },
      },
    });
  }

  private inSync(revision: number): Buffer {
    return encodeFrame({ message: { $case: 'inSync', value: { revision } } });
  }

  /** Everything in the view that changed after the client's revision, then InSync. */
  private serveResume(stream: ClientStream): void {
    const { syncer, node, revision: from, compression, nodeScopedKeys } = stream.hello!;
    const head = this.cache.revision;
    stream.send(this.serverHello(stream, true), head, false);
    const updates: SyncUpdate[] = [];
    for (const e of this.cache.changedSince(from)) if (scopeOf(syncer, e.kind) === 'all') updates.push(toUpdate(e));
    if (hasNodeScope(syncer)) {
      for (const e of this.cache.nodeEntries(node)) if (e.revision > from && scopeOf(syncer, e.kind) === 'node') updates.push(toUpdate(e));
      for (const key of nodeScopedKeys) {
        const e = this.cache.get(key);
        if (!e || e.value === undefined || !inView(syncer, node, e.kind, e.node)) updates.push(deletion(key, e?.revision ?? head));
      }
    }
    for (const m of deltaMessages(updates, compression, this.options)) stream.send(m, head, false);
    stream.send(this.inSync(head), head, true, true);
    this.counts.resumes++;
    this.metrics.resumed(syncer, updates.length);
    this.goLive(stream);
  }

  /** The shared snapshot (built or reused), the node's part, the catch-up, then InSync. */
  private serveSnapshot(stream: ClientStream): void {
    stream.send(this.serverHello(stream, false), this.cache.revision, false);
    this.sendSnapshotParts(stream);
  }

  private sendSnapshotParts(stream: ClientStream): void {
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
          this.sendAway(stream, SyncReconnectReason.SYNC_RECONNECT_REASON_DRAIN, `sync server ${this.options.serverId} is draining; use another server`);
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
        stream.send(this.inSync(head), head, true, true);
        this.metrics.snapshotBytesSent(syncer, bytes);
        this.goLive(stream);
      },
      (err: Error) => this.reject(stream, status.INTERNAL, `building the snapshot failed: ${err.message}`, 'unavailable'),
    );
  }

  private serveWaiting(): void {
    for (const [stream, timer] of this.waiting) {
      if (stream.hello!.revision <= this.cache.revision) {
        clearTimeout(timer);
        this.waiting.delete(stream);
        this.serveResume(stream);
      }
    }
  }

  private goLive(stream: ClientStream): void {
    if (stream.phase === 'closed') return;
    const { syncer, node } = stream.hello!;
    stream.phase = 'live';
    stream.lastPongAt = Date.now();
    this.live[syncer].add(stream);
    let set = this.liveByNode[syncer].get(node);
    if (!set) this.liveByNode[syncer].set(node, (set = new Set()));
    set.add(stream);
  }

  private onClosed(stream: ClientStream): void {
    this.streams.delete(stream);
    const reason = stream.closeReason ?? 'client';
    this.counts.closed[reason] = (this.counts.closed[reason] ?? 0) + 1;
    this.metrics.closed(reason);
    const timer = this.waiting.get(stream);
    if (timer) {
      clearTimeout(timer);
      this.waiting.delete(stream);
    }
    const key = this.exclusiveKeys.get(stream);
    if (key !== undefined && this.exclusive.get(key) === stream) this.exclusive.delete(key);
    if (!stream.accepted || !stream.hello) return;
    const { syncer, node } = stream.hello;
    this.accepted--;
    this.metrics.connections(syncer, -1);
    this.live[syncer].delete(stream);
    const set = this.liveByNode[syncer].get(node);
    set?.delete(stream);
    if (set?.size === 0) this.liveByNode[syncer].delete(node);
  }

  /** Sends a client elsewhere: Reconnect when it understands it, else a status it can act on. */
  private sendAway(stream: ClientStream, reason: SyncReconnectReason, message: string): void {
    if (stream.phase === 'closed') return;
    if (stream.hello?.reconnect) {
      const suggestedAddress = this.balancer?.suggest() ?? '';
      stream.send(encodeFrame({ message: { $case: 'reconnect', value: { reason, suggestedAddress, message } } }), 0, false);
      stream.end('reconnect');
    } else {
      const code = reason === SyncReconnectReason.SYNC_RECONNECT_REASON_FULL ? status.RESOURCE_EXHAUSTED : status.UNAVAILABLE;
      stream.fail(code, message, reason === SyncReconnectReason.SYNC_RECONNECT_REASON_FULL ? 'full' : 'unavailable');
    }
  }

  /** Sends up to `count` random live clients to other servers (load shedding). */
  private shed(count: number): number {
    const candidates = [...this.liveStreams()].filter((s) => s.hello?.reconnect);
    let shed = 0;
    while (shed < count && candidates.length > 0) {
      const i = Math.floor(Math.random() * candidates.length);
      const s = candidates[i]!;
      candidates[i] = candidates[candidates.length - 1]!;
      candidates.pop();
      this.sendAway(s, SyncReconnectReason.SYNC_RECONNECT_REASON_REBALANCE, `sync server ${this.options.serverId} is above its fair share; use another server`);
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
      const targets = [...this.streams].filter((s) => s.accepted);
      this.log.info({ clients: targets.length }, 'draining: sending every client to another server');
      for (let i = 0; i < targets.length; i += this.options.fanoutChunk) {
        for (const s of targets.slice(i, i + this.options.fanoutChunk)) {
          this.sendAway(s, SyncReconnectReason.SYNC_RECONNECT_REASON_DRAIN, `sync server ${this.options.serverId} is shutting down; use another server`);
        }
        await new Promise((r) => setImmediate(r));
      }
      this.metrics.drained(targets.length);
      const deadline = Date.now() + this.options.drainTimeoutMs;
      while ([...this.streams].some((s) => s.accepted) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    })();
    return this.drainDone;
  }

  /** Stops everything; clients still connected get UNAVAILABLE. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    for (const t of this.waiting.values()) clearTimeout(t);
    this.balancer?.stop();
    await this.source?.stop();
    for (const s of [...this.streams]) s.fail(status.UNAVAILABLE, `sync server ${this.options.serverId} is shutting down`, 'shutdown');
    this.listener?.close();
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        this.injector?.destroy();
        this.grpc.forceShutdown();
        resolve();
      }, 2000);
      force.unref();
      this.grpc.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
    await this.persistence?.close();
  }

  private every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    t.unref();
    this.timers.push(t);
  }
}
