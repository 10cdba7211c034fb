// The BGP speaker: one TCP listener, the configured and dynamic peers, and the API the route
// reflector uses. Incoming connections are matched to peers by source address; a source that is
// neither configured nor inside a dynamic range gets Cease/Connection Rejected (RFC 4486) and is
// closed. Events go up (peer state, UPDATEs after RFC 7606 handling, End-of-RIB, refresh requests,
// graceful-restart stale-route instructions); pre-encoded UPDATEs come down through `send`.
import { EventEmitter } from 'node:events';
import type { Server, Socket } from 'node:net';
import type { Logger } from 'pino';
import { AlreadyExistsError, NotFoundError } from '../../../shared/errors/index.js';
import { createLogger } from '../../../shared/log/index.js';
import {
  BASELINE_CODEC_OPTIONS,
  CeaseSubcode,
  ErrorCode,
  MessageType,
  encodeMessage,
  type NegotiatedOptions,
} from '../codec/index.js';
import {
  canonicalAddress,
  resolvePeerConfig,
  resolveSpeakerConfig,
  type ResolvedPeerConfig,
  type ResolvedSpeakerConfig,
} from './config.js';
import { createSpeakerMetrics, type SpeakerMetrics } from './metrics.js';
import { Peer, type PeerHost } from './peer.js';
import { ListenerSecurity, peerSecurity } from './security.js';
import { netTransport, type BgpTransport } from './transport.js';
import type { PeerConfig, PeerStatus, SpeakerConfig, SpeakerEvents } from './types.js';

/** Settings whose change needs a new session (the capabilities or the peering itself change). */
const RESET_FIELDS: readonly (keyof ResolvedPeerConfig)[] = [
  'remoteAs',
  'port',
  'localAddress',
  'holdTime',
  'families',
  'addPath',
  'extendedMessage',
  'routeRefresh',
  'gracefulRestart',
  'gracefulRestartHelper',
  'longLivedGracefulRestart',
  'tcpMd5',
  'ttlSecurity',
];

export class BgpSpeaker extends EventEmitter<SpeakerEvents> {
  private readonly config: ResolvedSpeakerConfig;
  private readonly speakerInput: SpeakerConfig;
  private readonly peersByAddress = new Map<string, Peer>();
  private readonly transport: BgpTransport;
  private readonly log: Logger;
  private readonly metrics: SpeakerMetrics;
  private readonly host: PeerHost;
  private server: Server | undefined;
  private started = false;
  private closing = false;
  private restarting: boolean;
  private readonly rejecting = new Set<Socket>();
  private readonly listenerSecurity: ListenerSecurity;

  constructor(config: SpeakerConfig) {
    super();
    this.config = resolveSpeakerConfig(config);
    this.speakerInput = config;
    this.transport = config.transport ?? netTransport;
    this.log = (config.logger ?? createLogger('bgp')).child({ subsystem: 'bgp-speaker' });
    this.metrics = createSpeakerMetrics(config.meter, {
      peers: () =>
        [...this.peersByAddress.values()].map((p) => ({
          address: p.address,
          state: p.state,
          outQueueBytes: p.outQueueBytes,
        })),
    });
    this.restarting = config.gracefulRestart?.restarting === true;
    this.listenerSecurity = new ListenerSecurity(this.log);
    const self = this;
    this.host = {
      localAs: this.config.localAs,
      routerId: this.config.routerId,
      routerIdValue: this.config.routerIdValue,
      hostname: this.config.hostname,
      get restarting() {
        return self.restarting;
      },
      transport: this.transport,
      sendQueueHighWater: this.config.sendQueueHighWater,
      wireWithdrawals: this.config.wireWithdrawals,
      metrics: this.metrics,
      logger: this.log,
      emit: (event, ...args) => this.safeEmit(event, ...args),
    };
  }

  /** The port the listener is bound to (useful with port 0), once started. */
  get listenPort(): number | undefined {
    const a = this.server?.address();
    return typeof a === 'object' && a ? a.port : undefined;
  }

  /** Opens the listener (when configured) and starts every peer. */
  async start(): Promise<void> {
    if (this.started) return;
    if (this.config.listen) {
      const { address, port } = this.config.listen;
      this.server = await this.transport.listen({ host: address, port });
      this.server.on('connection', (socket: Socket) => this.onConnection(socket));
      this.server.on('error', (err) => this.log.error({ err }, 'listener error'));
      this.listenerSecurity.attach(this.server);
      for (const p of this.peersByAddress.values()) this.listenerSecurity.setPeer(p.config);
      this.log.info({ address, port: this.listenPort }, 'BGP listener up');
    }
    this.started = true;
    for (const p of this.peersByAddress.values()) p.start();
  }

  /** Shuts every session down (Cease/Administrative Shutdown with `message`) and closes the listener. */
  async close(message?: string): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    // Stop accepting first; the server's close callback only fires once the sessions below
    // (which it accepted) are gone, so it is awaited last.
    const server = this.server;
    this.server = undefined;
    const listenerClosed = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    const peers = [...this.peersByAddress.values()];
    this.peersByAddress.clear();
    await Promise.all(peers.map((p) => p.remove(CeaseSubcode.AdministrativeShutdown, message)));
    for (const s of this.rejecting) s.destroy();
    await listenerClosed;
  }

  /**
   * Simulates a crash: every connection is dropped without NOTIFICATION, the listener closes, no
   * event is emitted and the speaker is unusable afterwards. This is the one close without a
   * NOTIFICATION we initiate; it exists for graceful-restart tests and for emergency exits where
   * the peers should keep our routes (RFC 4724: they retain them when the TCP session just ends).
   */
  async abort(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.removeAllListeners();
    const server = this.server;
    this.server = undefined;
    const peers = [...this.peersByAddress.values()];
    this.peersByAddress.clear();
    const listenerClosed = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    for (const p of peers) p.abort();
    for (const s of this.rejecting) s.destroy();
    await Promise.all(peers.map((p) => p.closed()));
    await listenerClosed;
  }

  addPeer(config: PeerConfig): void {
    const resolved = resolvePeerConfig(config, this.speakerInput);
    if (this.peersByAddress.has(resolved.address))
      throw new AlreadyExistsError(`peer ${resolved.address} already exists`);
    this.addResolved(resolved);
  }

  /** Cease/Peer De-configured, then forgets the peer (its stale routes are purged). */
  async removePeer(address: string): Promise<void> {
    const peer = this.get(address);
    this.peersByAddress.delete(peer.address);
    this.listenerSecurity.removePeer(peer.address);
    await peer.remove();
  }

  /**
   * Changes a peer live. Timers and passivity apply to the next session; anything that changes
   * the OPEN or the peering resets the session with Cease/Other Configuration Change.
   */
  updatePeer(address: string, changes: Partial<Omit<PeerConfig, 'address'>>): void {
    const peer = this.get(address);
    const next = resolvePeerConfig(
      { ...this.toPeerConfig(peer.config), ...changes, address: peer.address },
      this.speakerInput,
      peer.config.dynamic,
    );
    const reset = RESET_FIELDS.some((f) => JSON.stringify(next[f]) !== JSON.stringify(peer.config[f]));
    peer.applyConfig(next);
    this.securityChanged(peer);
    if (reset && this.started) peer.restart(CeaseSubcode.OtherConfigurationChange);
  }

  peer(address: string): PeerStatus | undefined {
    const a = canonicalAddress(address);
    return a ? this.peersByAddress.get(a)?.status() : undefined;
  }

  peers(): PeerStatus[] {
    return [...this.peersByAddress.values()].map((p) => p.status());
  }

  /** Negotiated options (the codec options for this peer's UPDATEs) while Established. */
  negotiated(address: string): NegotiatedOptions | undefined {
    return this.get(address).negotiated;
  }

  /**
   * Queues pre-encoded UPDATEs (encoded with `negotiated(address)`). Returns false when the
   * peer's queue is above the high-water mark: wait for the 'drain' event (or `waitForDrain`)
   * before sending more. Throws FailedPreconditionError unless the session is Established.
   */
  send(address: string, messages: Uint8Array | readonly Uint8Array[]): boolean {
    return this.get(address).send(messages);
  }

  /** Resolves when the peer's queue is below the high-water mark (or its session ended). */
  waitForDrain(address: string): Promise<void> {
    const peer = this.get(address);
    if (peer.outQueueBytes === 0 || !peer.negotiated) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.off('drain', onDrain);
        this.off('sessionDown', onDown);
        resolve();
      };
      const onDrain = (p: string): void => (p === peer.address ? done() : undefined);
      const onDown = (e: { peer: string }): void => (e.peer === peer.address ? done() : undefined);
      this.on('drain', onDrain);
      this.on('sessionDown', onDown);
    });
  }

  /**
   * Sends a list of messages with backpressure, yielding to the event loop between batches so
   * that timers (our KEEPALIVEs among them) keep firing while a large table goes out.
   */
  async sendAll(address: string, messages: Iterable<Uint8Array>): Promise<void> {
    let sinceYield = 0;
    for (const m of messages) {
      if (!this.send(address, m)) {
        await this.waitForDrain(address);
        sinceYield = 0;
      } else if (++sinceYield >= 256) {
        await new Promise((r) => setImmediate(r));
        sinceYield = 0;
      }
    }
  }

  /** End-of-RIB for a family (RFC 4724 §2): empty UPDATE for IPv4 unicast, empty MP_UNREACH otherwise. */
  sendEndOfRib(address: string, afi: number, safi = 1): boolean {
    return this.get(address).sendEndOfRib(afi, safi);
  }

  /** Asks the peer to re-send a family (RFC 2918 ROUTE-REFRESH). */
  refresh(address: string, afi: number, safi = 1): void {
    this.get(address).requestRefresh(afi, safi);
  }

  /** BoRR/EoRR around routes re-sent after a refresh request (RFC 7313); false if not negotiated. */
  sendRefreshMarker(address: string, afi: number, safi: number, marker: 'begin' | 'end'): boolean {
    return this.get(address).sendRefreshMarker(afi, safi, marker);
  }

  /** Cease/Administrative Reset (with an RFC 9003 message), then a new session. */
  reset(address: string, message?: string): void {
    this.get(address).restart(CeaseSubcode.AdministrativeReset, message);
  }

  /** Cease/Administrative Shutdown (with an RFC 9003 message); the peer stays down until `startPeer`. */
  shutdown(address: string, message?: string): void {
    this.get(address).stop(CeaseSubcode.AdministrativeShutdown, message);
  }

  /**
   * Ends the session with Cease and the given RFC 4486 subcode, e.g. Maximum Number of Prefixes
   * Reached (the layer above counts prefixes) or Out of Resources; `restart` starts it again.
   */
  cease(address: string, subcode: number, options: { message?: string; restart?: boolean } = {}): void {
    const peer = this.get(address);
    if (options.restart) peer.restart(subcode, options.message);
    else peer.stop(subcode, options.message);
  }

  /** Starts a peer stopped by `shutdown` or `cease`. */
  startPeer(address: string): void {
    if (this.started) this.get(address).start();
  }

  /** Our restart is over (End-of-RIBs sent): OPENs from now on carry no Restart State bit. */
  restartComplete(): void {
    this.restarting = false;
  }

  // --- internals ------------------------------------------------------------------------------

  private get(address: string): Peer {
    // Keys are canonical, so a hit on the text as given is the same peer; canonicalising (split,
    // map, join) on every send to every member was ~7 % of a reflector's CPU at 100k routes.
    const hit = this.peersByAddress.get(address);
    if (hit) return hit;
    const a = canonicalAddress(address);
    const peer = a ? this.peersByAddress.get(a) : undefined;
    if (!peer) throw new NotFoundError(`peer ${address} is not configured`);
    return peer;
  }

  private addResolved(resolved: ResolvedPeerConfig): Peer {
    const peer = new Peer(resolved, this.host);
    this.peersByAddress.set(resolved.address, peer);
    this.securityChanged(peer);
    if (this.started) peer.start();
    return peer;
  }

  /** The listener's key for the peer follows its config; a peer that cannot be secured says why. */
  private securityChanged(peer: Peer): void {
    if (this.server) this.listenerSecurity.setPeer(peer.config);
    const why = peerSecurity(peer.config).error;
    if (why) peer.noteError(why);
  }

  private toPeerConfig(c: ResolvedPeerConfig): PeerConfig {
    return {
      address: c.address,
      remoteAs: c.remoteAs,
      port: c.port,
      ...(c.localAddress ? { localAddress: c.localAddress } : {}),
      passive: c.passive,
      holdTime: c.holdTime,
      minHoldTime: c.minHoldTime,
      ...(c.keepaliveTime !== undefined ? { keepaliveTime: c.keepaliveTime } : {}),
      connectRetryTime: c.connectRetryTime,
      delayOpenTime: c.delayOpenTime,
      idleHold: c.idleHold,
      families: c.families,
      addPath: c.addPath,
      extendedMessage: c.extendedMessage,
      routeRefresh: c.routeRefresh,
      gracefulRestart: c.gracefulRestart ?? (c.gracefulRestartHelper ? undefined : null),
      longLivedGracefulRestart: c.longLivedGracefulRestart ?? null,
      ...(c.description !== undefined ? { description: c.description } : {}),
      ...(c.tcpMd5 ? { tcpMd5: c.tcpMd5 } : {}),
      ...(c.ttlSecurity ? { ttlSecurity: c.ttlSecurity } : {}),
    };
  }

  private onConnection(socket: Socket | undefined): void {
    // A listener handed over from another process (a network namespace's broker) can report a
    // connection whose handle was gone by the time it arrived: nothing to accept.
    if (!socket) return;
    if (this.closing) {
      socket.destroy();
      return;
    }
    const address = canonicalAddress(socket.remoteAddress ?? '');
    let peer = address ? this.peersByAddress.get(address) : undefined;
    if (!peer && address) {
      const range = this.config.dynamicPeers.find((d) =>
        d.range.check(address, address.includes(':') ? 'ipv6' : 'ipv4'),
      );
      if (range) {
        const dynamicCount = [...this.peersByAddress.values()].filter((p) => p.config.dynamic).length;
        if (dynamicCount >= this.config.maxDynamicPeers) {
          this.reject(socket, CeaseSubcode.OutOfResources, `dynamic peer limit ${this.config.maxDynamicPeers} reached`);
          return;
        }
        const resolved = resolvePeerConfig(
          { ...range.template, address, remoteAs: range.remoteAs, passive: true },
          this.speakerInput,
          true,
        );
        peer = this.addResolved(resolved);
        this.log.info({ peer: address, range: range.prefix }, 'dynamic peer created');
        this.watchDynamic(peer);
      }
    }
    if (!peer) {
      this.reject(socket, CeaseSubcode.ConnectionRejected, `no peer configured for ${socket.remoteAddress}`);
      return;
    }
    const refused = this.listenerSecurity.admit(socket, peer.config);
    if (refused) {
      // Dropped without a NOTIFICATION: nothing may be sent on a connection that failed its
      // GTSM check or that should not exist without its key.
      peer.noteError(`connection from ${socket.remoteAddress}:${socket.remotePort} dropped: ${refused}`);
      this.metrics.rejected('security');
      socket.destroy();
      return;
    }
    peer.acceptIncoming(socket);
  }

  /** A dynamic peer goes away when it has no session and nothing stale left. */
  private watchDynamic(peer: Peer): void {
    const check = (): void => {
      setImmediate(() => {
        if (this.peersByAddress.get(peer.address) !== peer) return;
        const s = peer.status();
        if ((s.state === 'Idle' || s.state === 'Active') && s.staleFamilies.length === 0) {
          this.peersByAddress.delete(peer.address);
          this.listenerSecurity.removePeer(peer.address);
          void peer.remove();
          this.off('peerState', onState);
          this.off('staleRoutes', onStale);
          this.log.info({ peer: peer.address }, 'dynamic peer removed');
        }
      });
    };
    const onState = (e: { peer: string; to: string }): void => {
      if (e.peer === peer.address && (e.to === 'Idle' || e.to === 'Active')) check();
    };
    const onStale = (e: { peer: string }): void => {
      if (e.peer === peer.address) check();
    };
    this.on('peerState', onState);
    this.on('staleRoutes', onStale);
  }

  /** Cease with the subcode, then close (RFC 4486 §4: SHOULD send the NOTIFICATION). */
  private reject(socket: Socket, subcode: number, why: string): void {
    this.log.warn({ remote: `${socket.remoteAddress}:${socket.remotePort}`, subcode }, `connection rejected: ${why}`);
    this.metrics.rejected(subcode === CeaseSubcode.OutOfResources ? 'out-of-resources' : 'unknown-peer');
    this.rejecting.add(socket);
    socket.on('error', () => undefined);
    socket.on('data', () => undefined);
    socket.once('close', () => this.rejecting.delete(socket));
    const timer = setTimeout(() => socket.destroy(), 2000);
    timer.unref();
    socket.end(
      encodeMessage(
        { type: MessageType.Notification, code: ErrorCode.Cease, subcode, data: new Uint8Array(0) },
        BASELINE_CODEC_OPTIONS,
      ),
      () => {
        clearTimeout(timer);
        socket.destroy();
      },
    );
  }

  /** Listener exceptions are the layer above's bugs: logged, never allowed to break a session. */
  private safeEmit<K extends keyof SpeakerEvents>(event: K, ...args: SpeakerEvents[K]): void {
    try {
      (this.emit as (e: K, ...a: SpeakerEvents[K]) => boolean)(event, ...args);
    } catch (err) {
      this.log.error({ err, event }, 'event listener threw');
    }
  }
}
