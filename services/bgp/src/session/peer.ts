// One configured (or dynamic) peer: drives its FSM with socket, message and timer events and
// executes the FSM's actions. Messages on a connection, in order:
//
//   TCP up ──> OPEN ──>            (ours: capabilities from the peer config, buildOpen)
//          <── OPEN                decodeOpen, peer AS check, negotiate() → NegotiatedOptions
//          <──> KEEPALIVE          Established: codec options switch to the negotiated ones
//          <──> UPDATE*, End-of-RIB per family, ROUTE-REFRESH (BoRR/EoRR when enhanced)
//          ──> NOTIFICATION, close (every close we initiate, RFC 4271 §6 / RFC 4486 / RFC 9003)
//
// Upgrade rule: nothing beyond RFC 4271 is sent unless both OPENs advertised it: the codec
// options used for every encode and decode are the negotiated ones; ROUTE-REFRESH only when
// negotiated; BoRR/EoRR only with enhanced route refresh.
import type { Logger } from 'pino';
import type { Socket } from 'node:net';
import { ipv4ToUint32 } from '../../../shared/address/index.js';
import { FailedPreconditionError } from '../../../shared/errors/index.js';
import {
  BASELINE_CODEC_OPTIONS,
  BgpMessageError,
  CeaseSubcode,
  ErrorCode,
  MessageType,
  OpenMessageSubcode,
  decodeNotification,
  decodeOpen,
  decodeUpdate,
  encodeMessage,
  endOfRib,
  isEndOfRib,
  isSessionLevel,
  messageTypeName,
  negotiate,
  openAsn,
  shutdownCommunication,
  type CodecOptions,
  type Frame,
  type NegotiatedOptions,
  type OpenMessage,
} from '../codec/index.js';
import {
  Fsm,
  type ConnectionId,
  type DownReason,
  type FsmAction,
  type FsmEvent,
  type SessionStateName,
} from '../fsm/index.js';
import { fsmConfig, PEER_DEFAULTS, type ResolvedPeerConfig } from './config.js';
import { Connection, type ConnectionHandlers } from './connection.js';
import { GracefulRestartHelper } from './graceful-restart.js';
import { PeerRecord } from './peer-record.js';
import { PeerTimers } from './peer-timers.js';
import type { SpeakerMetrics } from './metrics.js';
import { describeNotification, errorCodeFor, notificationFor } from './notification-text.js';
import { buildOpen } from './open.js';
import { readRefresh, refreshMarker, refreshRequest } from './route-refresh.js';
import { connectPeer } from './security.js';
import type { BgpTransport } from './transport.js';
import type { PeerStatus, SpeakerEvents } from './types.js';
import { deliverUpdate } from './update-handling.js';

/** decodeUpdate's options without and with wire-form withdrawals (one object each, not per UPDATE). */
const WIRE = [{}, { wireWithdrawn: true }] as const;

/** What a peer needs from its speaker. */
export interface PeerHost {
  readonly localAs: number;
  readonly routerId: string;
  readonly routerIdValue: number;
  readonly hostname: string | undefined;
  /** RFC 4724 R bit for OPENs sent now. */
  readonly restarting: boolean;
  readonly transport: BgpTransport;
  /** Send queue size above which `send` returns false (the caller waits for 'drain'). */
  readonly sendQueueHighWater: number;
  /** Decode the IPv4 withdrawn routes into `withdrawnWire` (SpeakerConfig.wireWithdrawals). */
  readonly wireWithdrawals: boolean;
  readonly metrics: SpeakerMetrics;
  readonly logger: Logger;
  emit<K extends keyof SpeakerEvents>(event: K, ...args: SpeakerEvents[K]): void;
}

const KEEPALIVE_BYTES = encodeMessage({ type: MessageType.Keepalive }, BASELINE_CODEC_OPTIONS);

export class Peer {
  config: ResolvedPeerConfig;
  private readonly host: PeerHost;
  private readonly fsm: Fsm;
  private readonly log: Logger;
  private readonly conns = new Map<ConnectionId, Connection>();
  private readonly pendingConnects = new Set<ConnectionId>();
  private readonly timers = new PeerTimers();
  private readonly localOpens = new Map<ConnectionId, OpenMessage>();
  private readonly negotiatedByConn = new Map<ConnectionId, NegotiatedOptions>();
  private readonly gr: GracefulRestartHelper;
  private readonly queue: FsmEvent[] = [];
  private dispatching = false;
  private session: { conn: Connection; negotiated: NegotiatedOptions; since: number } | undefined;
  private readonly record: PeerRecord;
  private removed = false;

  constructor(config: ResolvedPeerConfig, host: PeerHost) {
    this.config = config;
    this.host = host;
    this.log = host.logger.child({ peer: config.address });
    this.record = new PeerRecord(config.address, host.metrics);
    this.fsm = new Fsm(fsmConfig(config, host));
    this.gr = new GracefulRestartHelper(
      (e) => this.host.emit('staleRoutes', { peer: this.config.address, ...e }),
      config.gracefulRestart?.stalePathTime ?? PEER_DEFAULTS.stalePathTime,
    );
  }

  get address(): string {
    return this.config.address;
  }

  get state(): SessionStateName {
    return this.fsm.state;
  }

  /** Negotiated options of the Established session (codec options for encoding UPDATEs). */
  get negotiated(): NegotiatedOptions | undefined {
    return this.session?.negotiated;
  }

  get outQueueBytes(): number {
    return this.session?.conn.queuedBytes ?? 0;
  }

  status(): PeerStatus {
    return {
      address: this.config.address,
      remoteAs: this.config.remoteAs,
      state: this.fsm.state,
      passive: this.config.passive,
      dynamic: this.config.dynamic,
      description: this.config.description,
      negotiated: this.session?.negotiated,
      establishedAt: this.session?.since,
      outQueueBytes: this.outQueueBytes,
      staleFamilies: this.gr.families(),
      ...this.record.snapshot(),
    };
  }

  start(): void {
    this.dispatch({ type: 'Start' });
  }

  /** Cease with the subcode (and RFC 9003 message) on every connection; the peer stays down. */
  stop(subcode: number, message?: string): void {
    this.dispatch({ type: 'Stop', subcode, ...(message !== undefined ? { message } : {}) });
  }

  /** Stop then start again (administrative reset, configuration change). */
  restart(subcode: number, message?: string): void {
    this.stop(subcode, message);
    if (!this.removed) this.start();
  }

  /** Applies settings that need no new session (timers, passivity); the caller resets otherwise. */
  applyConfig(config: ResolvedPeerConfig): void {
    this.config = config;
    this.fsm.reconfigure({
      passive: config.passive,
      holdTime: config.holdTime,
      minHoldTime: config.minHoldTime,
      ...(config.keepaliveTime !== undefined ? { keepaliveTime: config.keepaliveTime } : {}),
      connectRetryTime: config.connectRetryTime,
      delayOpenTime: config.delayOpenTime,
      idleHold: config.idleHold,
    });
  }

  /** Removes the peer: Cease (Peer De-configured by default), stale routes purged, timers stopped. */
  async remove(subcode: number = CeaseSubcode.PeerDeconfigured, message?: string): Promise<void> {
    this.removed = true;
    this.stop(subcode, message);
    this.gr.dispose('peer-removed');
    this.timers.stopAll(true);
    await this.closed();
  }

  /**
   * Drops every connection at once without NOTIFICATION and stops all timers, as a crash of the
   * process would (the peer sees the TCP connection end). No events are emitted.
   */
  abort(): void {
    this.removed = true;
    this.timers.stopAll(true);
    this.pendingConnects.clear();
    this.gr.dispose('peer-removed');
    for (const c of this.conns.values()) c.destroy();
  }

  /** Resolves when no connection of this peer is open any more. */
  async closed(): Promise<void> {
    await Promise.all([...this.conns.values()].map((c) => c.closed));
  }

  /** A connection the peer opened to us. */
  acceptIncoming(socket: Socket): void {
    const id = this.fsm.newConnectionId();
    this.attach(id, 'incoming', socket);
    this.dispatch({ type: 'TcpIncoming', conn: id });
  }

  // --- sending (the layer above) --------------------------------------------------------------

  private requireSession(what: string): { conn: Connection; negotiated: NegotiatedOptions } {
    if (!this.session || this.session.conn.isClosing) {
      throw new FailedPreconditionError(`${what}: peer ${this.config.address} is ${this.fsm.state}, not Established`);
    }
    return this.session;
  }

  /** Writes pre-encoded messages; false when the queue is above the high-water mark. */
  send(messages: Uint8Array | readonly Uint8Array[]): boolean {
    const { conn } = this.requireSession('send');
    let ok = true;
    if (messages instanceof Uint8Array) {
      ok = conn.write(messages);
      this.record.countSent('UPDATE', 1);
    } else {
      ok = conn.writeMany(messages);
      this.record.countSent('UPDATE', messages.length);
    }
    return ok;
  }

  sendEndOfRib(afi: number, safi: number): boolean {
    const { conn, negotiated } = this.requireSession('sendEndOfRib');
    this.record.countSent('UPDATE', 1);
    return conn.write(encodeMessage(endOfRib(afi, safi), negotiated));
  }

  /** ROUTE-REFRESH (RFC 2918) asking the peer to re-send a family. */
  requestRefresh(afi: number, safi: number): void {
    const { conn, negotiated } = this.requireSession('refresh');
    conn.write(refreshRequest(negotiated, this.config.address, afi, safi));
    this.record.countSent('ROUTE-REFRESH');
  }

  /** BoRR/EoRR around a re-sent family (RFC 7313); false (nothing sent) without enhanced route refresh. */
  sendRefreshMarker(afi: number, safi: number, marker: 'begin' | 'end'): boolean {
    const { conn, negotiated } = this.requireSession('sendRefreshMarker');
    const message = refreshMarker(negotiated, afi, safi, marker);
    if (!message) return false;
    conn.write(message);
    this.record.countSent('ROUTE-REFRESH');
    return true;
  }

  // --- FSM plumbing ---------------------------------------------------------------------------

  private dispatch(event: FsmEvent): void {
    this.queue.push(event);
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      for (let e = this.queue.shift(); e; e = this.queue.shift()) {
        for (const action of this.fsm.handle(e)) this.execute(action);
      }
    } finally {
      this.dispatching = false;
    }
  }

  private execute(a: FsmAction): void {
    switch (a.type) {
      case 'Connect':
        this.connect(a.conn);
        return;
      case 'SendOpen': {
        const open = buildOpen(this.config, this.host);
        this.localOpens.set(a.conn, open);
        this.write(a.conn, encodeMessage(open, BASELINE_CODEC_OPTIONS), 'OPEN');
        return;
      }
      case 'SendKeepalive':
        this.write(a.conn, KEEPALIVE_BYTES, 'KEEPALIVE');
        return;
      case 'SendNotification': {
        const n = notificationFor(a);
        const text = describeNotification(n, a.message);
        const conn = this.conns.get(a.conn);
        this.log.warn(
          {
            conn: a.conn,
            remote: conn ? `${conn.remoteAddress}:${conn.remotePort}` : undefined,
            code: n.code,
            subcode: n.subcode,
          },
          `sending NOTIFICATION ${text}`,
        );
        // Collision resolution and refusing connections while idle are routine: counted, not recorded.
        const routine =
          n.code === ErrorCode.Cease &&
          (n.subcode === CeaseSubcode.ConnectionCollisionResolution || n.subcode === CeaseSubcode.ConnectionRejected);
        this.record.notification('sent', n, text, !routine || this.session?.conn.id === a.conn);
        this.write(a.conn, encodeMessage(n, BASELINE_CODEC_OPTIONS), 'NOTIFICATION');
        return;
      }
      case 'Close': {
        this.pendingConnects.delete(a.conn);
        this.timers.stopConnection(a.conn);
        this.localOpens.delete(a.conn);
        const conn = this.conns.get(a.conn);
        if (conn) conn.close();
        // Kept in `conns` until the socket is gone, so `closed()` can wait for it.
        return;
      }
      case 'StartTimer':
        this.timers.start(PeerTimers.key(a.timer, 'conn' in a ? a.conn : undefined), a.ms, () =>
          this.timerFired(
            'conn' in a
              ? { type: 'TimerExpired', timer: a.timer, conn: a.conn }
              : { type: 'TimerExpired', timer: a.timer },
          ),
        );
        return;
      case 'StopTimer':
        this.timers.stop(PeerTimers.key(a.timer, 'conn' in a ? a.conn : undefined));
        return;
      case 'Established':
        this.onEstablished(a.conn);
        return;
      case 'SessionDown':
        this.onSessionDown(a.conn, a.reason);
        return;
      case 'StateChange':
        this.log.info({ from: a.from, to: a.to }, `BGP state ${a.from} -> ${a.to}`);
        this.host.emit('peerState', { peer: this.config.address, from: a.from, to: a.to });
        return;
    }
  }

  private timerFired(event: Extract<FsmEvent, { type: 'TimerExpired' }>): void {
    if ('conn' in event && event.timer === 'Hold') {
      // The hold timer measures the peer, not us: while frames it sent wait in our backlog
      // (we are busy processing a large table), it is alive. Re-arm instead of expiring.
      const conn = this.conns.get(event.conn);
      const key = PeerTimers.key('Hold', event.conn);
      const ms = this.timers.armedFor(key);
      if (conn && ms !== undefined && conn.processingBacklog) {
        this.timers.start(key, ms, () => this.timerFired(event));
        return;
      }
    }
    this.timers.fired(PeerTimers.key(event.timer, 'conn' in event ? event.conn : undefined));
    if (event.timer === 'ConnectRetry' && this.pendingConnects.size > 0) {
      // Our SYNs went unanswered for a whole ConnectRetry: say so (with TCP-MD5 this is what a
      // key mismatch looks like, the peer's kernel drops the SYNs without a word).
      const md5 = this.config.tcpMd5 ? ' (TCP-MD5 is on: the peer drops SYNs with another key or none)' : '';
      this.record.lastError = `connect to ${this.config.address}:${this.config.port}: no answer${md5}`;
    }
    this.dispatch(event);
  }

  private connect(id: ConnectionId): void {
    if (this.removed) return;
    this.pendingConnects.add(id);
    const { address, port } = this.config;
    const { connecting, secured } = connectPeer(this.host.transport, this.config);
    connecting.then(
      (socket: Socket | undefined) => {
        if (!this.pendingConnects.delete(id)) {
          socket?.destroy();
          return;
        }
        // A transport closed mid-connect (a network namespace's broker going away) answers with
        // no socket: a failed connect, not a connection.
        if (!socket) {
          this.dispatch({ type: 'TcpConnectFailed', conn: id });
          return;
        }
        this.attach(id, 'outgoing', socket);
        this.dispatch({ type: 'TcpConnected', conn: id });
      },
      (err: NodeJS.ErrnoException) => {
        if (!this.pendingConnects.delete(id)) return;
        const text =
          err.code === 'ESECURITY' || err.code === 'ESOCKOPT'
            ? err.message
            : `connect to ${address}:${port}: ${err.code ?? err.message}`;
        // A peer that cannot get its key or GTSM says so once, loudly; refused connects are routine.
        if (secured) this.noteError(text);
        else this.log.debug({ conn: id, err: err.code ?? err.message }, 'connect failed');
        this.record.lastError = text;
        this.dispatch({ type: 'TcpConnectFailed', conn: id });
      },
    );
  }

  /** Records why the peer cannot come up (shown in its status), logging each new reason once. */
  noteError(text: string): void {
    if (text !== this.record.lastError) this.log.warn(text);
    this.record.lastError = text;
  }

  private attach(id: ConnectionId, direction: 'incoming' | 'outgoing', socket: Socket): void {
    const handlers: ConnectionHandlers = {
      frame: (c, f) => this.onFrame(c, f),
      framingError: (c, err) => this.messageError(c, err),
      closed: (c, reason) => {
        this.log.info({ conn: c.id, reason }, 'connection closed');
        if (this.fsm.connection(c.id)) this.record.lastError = reason;
        this.dispatch({ type: 'TcpClosed', conn: c.id });
      },
      drained: (c) => {
        if (this.session?.conn === c) this.host.emit('drain', this.config.address);
      },
    };
    const conn = new Connection(id, direction, socket, handlers, this.host.sendQueueHighWater);
    this.conns.set(id, conn);
    void conn.closed.then(() => {
      this.conns.delete(id);
      this.negotiatedByConn.delete(id);
    });
  }

  private write(id: ConnectionId, bytes: Uint8Array, type: string): void {
    const conn = this.conns.get(id);
    if (!conn) return;
    conn.write(bytes);
    this.record.countSent(type, 1);
  }

  /**
   * A message failed to decode: the NOTIFICATION the codec chose. Anything else thrown while
   * decoding is a codec bug; the session is reset with the unspecific subcode of the message's
   * error code rather than taking the process down.
   */
  private messageError(conn: Connection, err: unknown, frameType?: number): void {
    if (!(err instanceof BgpMessageError)) {
      this.log.error({ conn: conn.id, err }, 'internal error while decoding a message');
      this.record.lastError = `internal error: ${(err as Error).message}`;
      this.dispatch({ type: 'MessageError', conn: conn.id, code: errorCodeFor(frameType), subcode: 0 });
      return;
    }
    this.log.warn({ conn: conn.id, code: err.code, subcode: err.subcode }, `bad message: ${err.message}`);
    this.record.lastError = err.message;
    this.dispatch({ type: 'MessageError', conn: conn.id, code: err.code, subcode: err.subcode, data: err.data });
  }

  // --- receiving ------------------------------------------------------------------------------

  private onFrame(conn: Connection, frame: Frame): boolean {
    this.record.countReceived(messageTypeName(frame.type));
    try {
      switch (frame.type) {
        case MessageType.Open:
          this.onOpen(conn, frame);
          break;
        case MessageType.Keepalive:
          this.dispatch({ type: 'KeepaliveReceived', conn: conn.id });
          break;
        case MessageType.Notification: {
          const n = decodeNotification(frame.body);
          const text = describeNotification(n, shutdownCommunication(n));
          this.log.warn({ conn: conn.id, code: n.code, subcode: n.subcode }, `received NOTIFICATION ${text}`);
          this.record.notification('received', n, text);
          this.dispatch({
            type: 'NotificationReceived',
            conn: conn.id,
            code: n.code,
            subcode: n.subcode,
            data: n.data,
          });
          return false;
        }
        case MessageType.Update:
          this.onUpdate(conn, frame);
          break;
        case MessageType.RouteRefresh:
          this.onRouteRefresh(conn, frame);
          break;
      }
    } catch (err) {
      this.messageError(conn, err, frame.type);
      return false;
    }
    return !conn.isClosing;
  }

  private onOpen(conn: Connection, frame: Frame): void {
    const open = decodeOpen(frame.body);
    const peerAs = openAsn(open);
    if (peerAs !== this.config.remoteAs) {
      // RFC 4271 §6.2: an unacceptable My Autonomous System → Bad Peer AS.
      throw new BgpMessageError(`OPEN: peer AS ${peerAs}, configured ${this.config.remoteAs}`, {
        code: ErrorCode.OpenMessage,
        subcode: OpenMessageSubcode.BadPeerAs,
        handling: 'session-reset',
        data: new Uint8Array([open.myAs >> 8, open.myAs & 0xff]),
      });
    }
    const local = this.localOpens.get(conn.id) ?? buildOpen(this.config, this.host);
    const negotiated = negotiate(local, open);
    this.negotiatedByConn.set(conn.id, negotiated);
    this.log.debug(
      { conn: conn.id, bgpId: open.bgpId, holdTime: open.holdTime, capabilities: open.capabilities.map((c) => c.kind) },
      'received OPEN',
    );
    this.dispatch({
      type: 'OpenReceived',
      conn: conn.id,
      bgpId: ipv4ToUint32(open.bgpId),
      peerAs,
      peerHoldTime: open.holdTime,
      gracefulRestart: negotiated.peerGracefulRestart !== undefined,
    });
  }

  private onUpdate(conn: Connection, frame: Frame): void {
    const session = this.session;
    if (!session || session.conn !== conn) {
      this.dispatch({ type: 'UpdateReceived', conn: conn.id });
      return;
    }
    const r = decodeUpdate(frame.body, session.negotiated as CodecOptions, WIRE[this.host.wireWithdrawals ? 1 : 0]);
    if (r.error && isSessionLevel(r.error.handling)) throw r.error;
    this.dispatch({ type: 'UpdateReceived', conn: conn.id });
    const peer = this.config.address;
    const eor = r.error ? undefined : isEndOfRib(r.update);
    if (eor) {
      this.log.info({ afi: eor.afi, safi: eor.safi }, 'received End-of-RIB');
      this.gr.endOfRib(eor.afi, eor.safi);
      this.host.emit('endOfRib', { peer, afi: eor.afi, safi: eor.safi });
      return;
    }
    deliverUpdate(r, peer, session.negotiated.families, this.host, this.log, () => conn.isClosing);
  }

  private onRouteRefresh(conn: Connection, frame: Frame): void {
    const session = this.session;
    if (!session || session.conn !== conn) {
      this.dispatch({ type: 'UpdateReceived', conn: conn.id });
      return;
    }
    const ask = readRefresh(frame.message, session.negotiated);
    this.dispatch({ type: 'UpdateReceived', conn: conn.id });
    if (ask?.kind === 'not-negotiated')
      this.log.warn(
        { afi: ask.afi, safi: ask.safi },
        'ROUTE-REFRESH for a family or capability not negotiated: ignored',
      );
    else if (ask) this.host.emit('routeRefresh', { peer: this.config.address, ...ask });
  }

  // --- session up / down ----------------------------------------------------------------------

  private onEstablished(id: ConnectionId): void {
    const conn = this.conns.get(id);
    const negotiated = this.negotiatedByConn.get(id);
    if (!conn || !negotiated) return;
    conn.setExtendedMessage(negotiated.extendedMessage);
    this.session = { conn, negotiated, since: Date.now() };
    this.log.info(
      {
        remoteAs: negotiated.peerAs,
        remoteId: negotiated.peerBgpId,
        holdTime: negotiated.holdTime,
        families: negotiated.families,
        addPath: negotiated.addPath,
        extendedMessage: negotiated.extendedMessage,
      },
      'session established',
    );
    this.gr.sessionUp(negotiated);
    this.host.emit('established', { peer: this.config.address, negotiated });
  }

  private onSessionDown(id: ConnectionId, reason: DownReason): void {
    const session = this.session;
    if (!session || session.conn.id !== id) return;
    this.session = undefined;
    this.record.flap();
    const retained = this.removed
      ? []
      : this.gr.sessionLost(
          session.negotiated,
          reason,
          this.config.gracefulRestartHelper,
          this.config.longLivedGracefulRestart !== undefined,
        );
    this.log.warn(
      { reason, retained },
      retained.length ? 'session down; keeping routes stale (graceful restart)' : 'session down',
    );
    this.host.emit('sessionDown', { peer: this.config.address, reason, retained });
  }
}
