// The BGP-4 finite state machine of one peer (RFC 4271 §8), pure: `handle(event)` returns the
// actions to execute. Connection life cycle, as the actions drive it:
//
//   Idle --Start--> Connect (Connect action, ConnectRetry armed)   [passive: Active, wait]
//   Connect --TcpConnected / TcpIncoming--> OpenSent (SendOpen, Hold = openHoldTime)
//   OpenSent --OpenReceived--> OpenConfirm (SendKeepalive, Hold/Keepalive = negotiated)
//   OpenConfirm --KeepaliveReceived--> Established (Established action)
//   any --error--> SendNotification + Close, then Idle for the idle-hold backoff, then Connect
//
// Collisions (RFC 4271 §6.8): the peer may hold two connections at once, the one we opened and the
// one it opened. When an OPEN arrives and the other connection already knows the peer's BGP
// Identifier (OpenConfirm), the connection opened by the speaker with the higher identifier
// survives and the other gets Cease/Connection Collision Resolution. A new connection whose OPEN
// arrives while a session is Established is refused the same way, unless the old session's peer
// advertised graceful restart: then the peer restarted (RFC 4724 §4.2), the old connection is
// dropped without NOTIFICATION and the new one proceeds. Once a connection reaches Established the
// other one is closed, so a late OPEN never looks like a restart.
//
// Departures from the letter of §8, on purpose (BIRD and GoBGP behave the same way):
// - a failed outgoing connect goes to Active and retries after ConnectRetry instead of Idle;
// - an incoming connection does not end a connect of ours still in progress (the Connect state's
//   rule would): when both speakers connect at once, each sees the other's connection arrive
//   before its own connect completes, and each would close a different one, leaving none. Both
//   proceed; the first OPEN received ends a connect still in progress, and two connections past
//   TCP are resolved by §6.8 above, the same one closed on both sides (BIRD does the same);
// - a second incoming connection replaces an earlier one that has not reached Established
//   (the peer has given up on the earlier one; waiting for its 4-minute hold would stall us);
// - the idle hold after errors (DampPeerOscillations) doubles per consecutive error, up to a maximum;
//   the loss of a session whose peer can restart gracefully is not an error (no idle hold).
import { CeaseSubcode, ErrorCode, FsmErrorSubcode, OpenMessageSubcode, UNSPECIFIC_SUBCODE } from '../codec/index.js';
import { idleHoldSeconds, jitter, negotiateHoldTime } from './timers.js';
import {
  SessionState,
  type ConnectionId,
  type Direction,
  type DownReason,
  type FsmAction,
  type FsmConfig,
  type FsmEvent,
  type PeerTimer,
  type SessionStateName,
} from './types.js';

/** Per-connection progress. `Connecting`: TCP not up; `OpenPending`: up, DelayOpen running. */
type ConnPhase = 'Connecting' | 'OpenPending' | 'OpenSent' | 'OpenConfirm' | 'Established';

interface Conn {
  readonly id: ConnectionId;
  readonly direction: Direction;
  phase: ConnPhase;
  /** The peer's BGP Identifier, known from its OPEN on. */
  remoteId?: number;
  holdTime: number;
  keepaliveTime: number;
  /** The peer advertised graceful restart in its OPEN on this connection. */
  gracefulRestart: boolean;
}

export interface ConnectionInfo {
  readonly id: ConnectionId;
  readonly direction: Direction;
  readonly phase: ConnPhase;
}

export class Fsm {
  private readonly config: FsmConfig;
  private readonly random: () => number;
  private readonly conns = new Map<ConnectionId, Conn>();
  private started = false;
  private idleHoldRunning = false;
  private connectRetryArmed = false;
  /** Consecutive errors, for the idle-hold backoff; reset by the ErrorForget timer. */
  private errors = 0;
  private nextId = 1;
  private current: SessionStateName = SessionState.Idle;
  private out: FsmAction[] = [];

  constructor(config: FsmConfig) {
    this.config = { ...config };
    this.random = config.random ?? Math.random;
  }

  get state(): SessionStateName {
    return this.current;
  }

  /** Whether Start was given and Stop not since. */
  get isStarted(): boolean {
    return this.started;
  }

  /** Consecutive errors counted for the idle-hold backoff. */
  get errorCount(): number {
    return this.errors;
  }

  /** The connection the session is Established on, if any. */
  get establishedConnection(): ConnectionId | undefined {
    for (const c of this.conns.values()) if (c.phase === 'Established') return c.id;
    return undefined;
  }

  connection(id: ConnectionId): ConnectionInfo | undefined {
    const c = this.conns.get(id);
    return c ? { id: c.id, direction: c.direction, phase: c.phase } : undefined;
  }

  /** An id for a connection the peer opened (for the TcpIncoming event). */
  newConnectionId(): ConnectionId {
    return this.nextId++;
  }

  /** Changes timers or passivity for later events; the current connections keep their values. */
  reconfigure(config: Partial<Omit<FsmConfig, 'random'>>): void {
    Object.assign(this.config, config);
  }

  handle(event: FsmEvent): FsmAction[] {
    this.out = [];
    switch (event.type) {
      case 'Start':
        this.start();
        break;
      case 'Stop':
        this.stop(event.subcode, event.message);
        break;
      case 'TimerExpired':
        if ('conn' in event) this.connectionTimer(event.timer, event.conn);
        else this.peerTimer(event.timer);
        break;
      case 'TcpConnected':
        this.tcpConnected(event.conn);
        break;
      case 'TcpConnectFailed':
        this.tcpConnectFailed(event.conn);
        break;
      case 'TcpIncoming':
        this.tcpIncoming(event.conn);
        break;
      case 'TcpClosed':
        this.tcpClosed(event.conn);
        break;
      case 'OpenReceived':
        this.openReceived(event.conn, event.bgpId >>> 0, event.peerAs, event.peerHoldTime, event.gracefulRestart);
        break;
      case 'MessageError':
        this.fail(event.conn, {
          code: event.code,
          subcode: event.subcode,
          ...(event.data ? { data: event.data } : {}),
        });
        break;
      case 'NotificationReceived': {
        const c = this.conns.get(event.conn);
        if (!c) break;
        this.drop(c, undefined, {
          kind: 'notification-received',
          code: event.code,
          subcode: event.subcode,
          data: event.data,
        });
        this.afterLoss('error');
        break;
      }
      case 'KeepaliveReceived':
        this.keepaliveReceived(event.conn);
        break;
      case 'UpdateReceived':
        this.updateReceived(event.conn);
        break;
    }
    this.noteState();
    return this.out;
  }

  // --- events -------------------------------------------------------------------------------

  private start(): void {
    if (this.started) return;
    this.started = true;
    if (!this.idleHoldRunning) this.begin();
  }

  private stop(subcode: number, message: string | undefined): void {
    if (!this.started && this.conns.size === 0) return;
    this.started = false;
    for (const c of [...this.conns.values()]) {
      this.drop(
        c,
        { code: ErrorCode.Cease, subcode, ...(message !== undefined ? { message } : {}) },
        { kind: 'stopped', subcode, ...(message !== undefined ? { message } : {}) },
      );
    }
    this.stopPeerTimer('ConnectRetry');
    if (this.idleHoldRunning) {
      this.idleHoldRunning = false;
      this.stopPeerTimer('IdleHold');
    }
  }

  private peerTimer(timer: PeerTimer): void {
    switch (timer) {
      case 'ConnectRetry': {
        this.connectRetryArmed = false;
        if (!this.started || this.config.passive || this.idleHoldRunning) return;
        if ([...this.conns.values()].some((c) => c.phase !== 'Connecting')) return;
        for (const c of [...this.conns.values()]) this.drop(c, undefined, undefined);
        this.connectNow();
        return;
      }
      case 'IdleHold':
        if (!this.idleHoldRunning) return;
        this.idleHoldRunning = false;
        if (this.started) this.begin();
        return;
      case 'ErrorForget':
        this.errors = 0;
        return;
    }
  }

  private connectionTimer(timer: 'Hold' | 'Keepalive' | 'DelayOpen', id: ConnectionId): void {
    const c = this.conns.get(id);
    if (!c) return;
    switch (timer) {
      case 'Hold':
        this.drop(c, { code: ErrorCode.HoldTimerExpired, subcode: UNSPECIFIC_SUBCODE }, { kind: 'hold-timer-expired' });
        this.afterLoss('error');
        return;
      case 'Keepalive':
        if ((c.phase === 'OpenConfirm' || c.phase === 'Established') && c.keepaliveTime > 0) {
          this.out.push({ type: 'SendKeepalive', conn: c.id });
          this.out.push({
            type: 'StartTimer',
            timer: 'Keepalive',
            conn: c.id,
            ms: jitter(c.keepaliveTime, this.random),
          });
        }
        return;
      case 'DelayOpen':
        if (c.phase !== 'OpenPending') return;
        this.out.push({ type: 'SendOpen', conn: c.id });
        c.phase = 'OpenSent';
        return;
    }
  }

  private tcpConnected(id: ConnectionId): void {
    const c = this.conns.get(id);
    if (!c) {
      // Abandoned attempt that completed anyway.
      this.out.push({ type: 'Close', conn: id });
      return;
    }
    // A connection already up (or the peer's own) cannot complete a connect: nothing to do.
    if (c.phase !== 'Connecting' || c.direction !== 'outgoing') return;
    this.stopPeerTimer('ConnectRetry');
    this.tcpUp(c);
  }

  private tcpConnectFailed(id: ConnectionId): void {
    const c = this.conns.get(id);
    if (!c || c.phase !== 'Connecting') return;
    this.conns.delete(id);
    if (this.started && !this.config.passive && !this.connectRetryArmed && !this.idleHoldRunning)
      this.armConnectRetry();
  }

  private tcpIncoming(id: ConnectionId): void {
    if (!this.started || this.idleHoldRunning) {
      this.out.push({
        type: 'SendNotification',
        conn: id,
        code: ErrorCode.Cease,
        subcode: CeaseSubcode.ConnectionRejected,
      });
      this.out.push({ type: 'Close', conn: id });
      return;
    }
    // Our own connect still in progress stays: the peer may have accepted it already (its SYN-ACK
    // not yet seen here) and, connecting at the same moment, may be dropping this incoming one in
    // favour of it. It is ended once an OPEN arrives on another connection (openReceived).
    for (const other of [...this.conns.values()]) {
      if (other.direction === 'incoming' && other.phase !== 'Established') {
        this.drop(other, { code: ErrorCode.Cease, subcode: CeaseSubcode.ConnectionCollisionResolution }, undefined);
      }
    }
    const c: Conn = {
      id,
      direction: 'incoming',
      phase: 'Connecting',
      holdTime: 0,
      keepaliveTime: 0,
      gracefulRestart: false,
    };
    this.conns.set(id, c);
    this.stopPeerTimer('ConnectRetry');
    this.tcpUp(c);
  }

  private tcpClosed(id: ConnectionId): void {
    const c = this.conns.get(id);
    if (!c) return;
    // Losing an Established session is an error (idle hold), except when the peer advertised
    // graceful restart: it is expected back within its restart time and must find us listening
    // (RFC 4724 §4.2; BIRD skips its error wait in the same case).
    const error = c.phase === 'Established' && !c.gracefulRestart;
    this.drop(c, undefined, { kind: 'connection-lost' });
    this.afterLoss(error ? 'error' : 'retry');
  }

  private openReceived(
    id: ConnectionId,
    bgpId: number,
    peerAs: number,
    peerHoldTime: number,
    gracefulRestart: boolean,
  ): void {
    const c = this.conns.get(id);
    if (!c || c.phase === 'Connecting') return;
    if (c.phase === 'OpenConfirm' || c.phase === 'Established') {
      const subcode =
        c.phase === 'OpenConfirm'
          ? FsmErrorSubcode.UnexpectedMessageInOpenConfirm
          : FsmErrorSubcode.UnexpectedMessageInEstablished;
      this.fail(id, { code: ErrorCode.FiniteStateMachine, subcode });
      return;
    }
    const hold = negotiateHoldTime(
      this.config.holdTime,
      peerHoldTime,
      this.config.keepaliveTime,
      this.config.minHoldTime,
    );
    if (!hold.ok) {
      const data = new Uint8Array([(peerHoldTime >> 8) & 0xff, peerHoldTime & 0xff]);
      this.fail(id, { code: ErrorCode.OpenMessage, subcode: OpenMessageSubcode.UnacceptableHoldTime, data });
      return;
    }
    c.remoteId = bgpId;
    c.holdTime = hold.holdTime;
    c.keepaliveTime = hold.keepaliveTime;
    c.gracefulRestart = gracefulRestart;

    for (const other of [...this.conns.values()]) {
      if (other === c) continue;
      // A connect of ours still in progress: the peer is talking on this one, stop trying (BIRD
      // does the same). Safe against the simultaneous open: the peer sent this OPEN after its
      // connection was up, so it cannot be dropping ours for still connecting.
      if (other.phase === 'Connecting') {
        this.drop(other, undefined, undefined);
        continue;
      }
      if (other.phase === 'Established') {
        if (other.gracefulRestart) {
          this.drop(other, undefined, { kind: 'peer-restarted' });
          continue;
        }
        this.drop(c, { code: ErrorCode.Cease, subcode: CeaseSubcode.ConnectionCollisionResolution }, undefined);
        return;
      }
      if (other.phase === 'OpenConfirm') {
        const loser = this.collisionLoser(c, other, bgpId, peerAs);
        this.drop(loser, { code: ErrorCode.Cease, subcode: CeaseSubcode.ConnectionCollisionResolution }, undefined);
        if (loser === c) return;
      }
    }

    if (c.phase === 'OpenPending') {
      this.out.push({ type: 'StopTimer', timer: 'DelayOpen', conn: c.id });
      this.out.push({ type: 'SendOpen', conn: c.id });
    }
    this.out.push({ type: 'SendKeepalive', conn: c.id });
    c.phase = 'OpenConfirm';
    if (c.holdTime > 0) {
      this.out.push({ type: 'StartTimer', timer: 'Hold', conn: c.id, ms: c.holdTime * 1000 });
      this.out.push({ type: 'StartTimer', timer: 'Keepalive', conn: c.id, ms: jitter(c.keepaliveTime, this.random) });
    } else {
      this.out.push({ type: 'StopTimer', timer: 'Hold', conn: c.id });
    }
  }

  private keepaliveReceived(id: ConnectionId): void {
    const c = this.conns.get(id);
    if (!c) return;
    switch (c.phase) {
      case 'OpenPending':
        this.fail(id, { code: ErrorCode.FiniteStateMachine, subcode: UNSPECIFIC_SUBCODE });
        return;
      case 'OpenSent':
        this.fail(id, { code: ErrorCode.FiniteStateMachine, subcode: FsmErrorSubcode.UnexpectedMessageInOpenSent });
        return;
      case 'OpenConfirm':
        c.phase = 'Established';
        this.restartHold(c);
        this.stopPeerTimer('ConnectRetry');
        for (const other of [...this.conns.values()]) {
          if (other === c) continue;
          this.drop(
            other,
            other.phase === 'Connecting'
              ? undefined
              : { code: ErrorCode.Cease, subcode: CeaseSubcode.ConnectionCollisionResolution },
            undefined,
          );
        }
        this.out.push({ type: 'Established', conn: c.id, holdTime: c.holdTime, keepaliveTime: c.keepaliveTime });
        return;
      case 'Established':
        this.restartHold(c);
        return;
      case 'Connecting':
        return;
    }
  }

  private updateReceived(id: ConnectionId): void {
    const c = this.conns.get(id);
    if (!c) return;
    switch (c.phase) {
      case 'Established':
        this.restartHold(c);
        return;
      case 'OpenPending':
        this.fail(id, { code: ErrorCode.FiniteStateMachine, subcode: UNSPECIFIC_SUBCODE });
        return;
      case 'OpenSent':
        this.fail(id, { code: ErrorCode.FiniteStateMachine, subcode: FsmErrorSubcode.UnexpectedMessageInOpenSent });
        return;
      case 'OpenConfirm':
        this.fail(id, { code: ErrorCode.FiniteStateMachine, subcode: FsmErrorSubcode.UnexpectedMessageInOpenConfirm });
        return;
      case 'Connecting':
        return;
    }
  }

  // --- helpers ------------------------------------------------------------------------------

  /** Idle/Active → connecting (or waiting, when passive). */
  private begin(): void {
    if (!this.config.passive) this.connectNow();
  }

  private connectNow(): void {
    const id = this.newConnectionId();
    this.conns.set(id, {
      id,
      direction: 'outgoing',
      phase: 'Connecting',
      holdTime: 0,
      keepaliveTime: 0,
      gracefulRestart: false,
    });
    this.out.push({ type: 'Connect', conn: id });
    this.armConnectRetry();
  }

  private armConnectRetry(): void {
    this.connectRetryArmed = true;
    this.out.push({ type: 'StartTimer', timer: 'ConnectRetry', ms: jitter(this.config.connectRetryTime, this.random) });
  }

  private stopPeerTimer(timer: PeerTimer): void {
    if (timer === 'ConnectRetry') {
      if (!this.connectRetryArmed) return;
      this.connectRetryArmed = false;
    }
    this.out.push({ type: 'StopTimer', timer });
  }

  private tcpUp(c: Conn): void {
    if (this.config.delayOpenTime > 0) {
      c.phase = 'OpenPending';
      this.out.push({ type: 'StartTimer', timer: 'DelayOpen', conn: c.id, ms: this.config.delayOpenTime * 1000 });
    } else {
      c.phase = 'OpenSent';
      this.out.push({ type: 'SendOpen', conn: c.id });
    }
    this.out.push({ type: 'StartTimer', timer: 'Hold', conn: c.id, ms: this.config.openHoldTime * 1000 });
  }

  private restartHold(c: Conn): void {
    if (c.holdTime > 0) this.out.push({ type: 'StartTimer', timer: 'Hold', conn: c.id, ms: c.holdTime * 1000 });
  }

  /**
   * RFC 4271 §6.8: keep the connection opened by the speaker with the higher BGP Identifier.
   * RFC 6286 §2.3: on equal identifiers (possible between ASes), the one opened by the speaker
   * with the larger AS number.
   */
  private collisionLoser(c: Conn, other: Conn, remoteId: number, peerAs: number): Conn {
    const local = this.config.localBgpId >>> 0;
    const outgoing = c.direction === 'outgoing' ? c : other;
    const incoming = outgoing === c ? other : c;
    const weWin = local === remoteId ? this.config.localAs > peerAs : local > remoteId;
    return weWin ? incoming : outgoing;
  }

  /** Sends the NOTIFICATION (if given and the connection is up), closes, reports a lost session. */
  private drop(
    c: Conn,
    notification: { code: number; subcode: number; data?: Uint8Array; message?: string } | undefined,
    reason: DownReason | undefined,
  ): void {
    if (notification && c.phase !== 'Connecting')
      this.out.push({ type: 'SendNotification', conn: c.id, ...notification });
    this.out.push({ type: 'Close', conn: c.id });
    this.conns.delete(c.id);
    if (c.phase === 'Established' && reason) this.out.push({ type: 'SessionDown', conn: c.id, reason });
  }

  /** A session-resetting error on one connection: NOTIFICATION, close, backoff. */
  private fail(id: ConnectionId, notification: { code: number; subcode: number; data?: Uint8Array }): void {
    const c = this.conns.get(id);
    if (!c) return;
    this.drop(c, notification, { kind: 'notification-sent', code: notification.code, subcode: notification.subcode });
    this.afterLoss('error');
  }

  /** After a connection ended: if none is left, back off (errors) or retry (plain TCP failures). */
  private afterLoss(kind: 'error' | 'retry'): void {
    if (!this.started) return;
    if ([...this.conns.values()].some((c) => c.phase !== 'Connecting')) return;
    if (kind === 'error') {
      this.errors++;
      this.out.push({ type: 'StartTimer', timer: 'ErrorForget', ms: this.config.errorForgetTime * 1000 });
      const wait = idleHoldSeconds(this.errors, this.config.idleHold.min, this.config.idleHold.max);
      if (wait > 0) {
        for (const c of [...this.conns.values()]) this.drop(c, undefined, undefined);
        this.stopPeerTimer('ConnectRetry');
        this.idleHoldRunning = true;
        this.out.push({ type: 'StartTimer', timer: 'IdleHold', ms: Math.round(wait * 1000) });
        return;
      }
    }
    if (this.config.passive) return;
    if (![...this.conns.values()].some((c) => c.phase === 'Connecting') && !this.connectRetryArmed) {
      if (kind === 'error') this.connectNow();
      else this.armConnectRetry();
    }
  }

  private noteState(): void {
    const next = this.deriveState();
    if (next !== this.current) {
      this.out.push({ type: 'StateChange', from: this.current, to: next });
      this.current = next;
    }
  }

  private deriveState(): SessionStateName {
    let best: SessionStateName | undefined;
    const rank: Record<SessionStateName, number> = {
      Idle: 0,
      Active: 1,
      Connect: 2,
      OpenSent: 3,
      OpenConfirm: 4,
      Established: 5,
    };
    for (const c of this.conns.values()) {
      const s: SessionStateName =
        c.phase === 'Connecting'
          ? SessionState.Connect
          : c.phase === 'OpenPending'
            ? c.direction === 'outgoing'
              ? SessionState.Connect
              : SessionState.Active
            : c.phase;
      if (!best || rank[s] > rank[best]) best = s;
    }
    if (best) return best;
    return this.started && !this.idleHoldRunning ? SessionState.Active : SessionState.Idle;
  }
}
