// Inputs and outputs of the BGP finite state machine (RFC 4271 §8). The FSM is pure: the
// session layer feeds it events (socket, message and timer happenings) and executes the actions
// it returns (connect, send, close, arm timers). Nothing here touches a socket or a clock.

/** RFC 4271 §8.2.2 session states. */
export const SessionState = {
  Idle: 'Idle',
  Connect: 'Connect',
  Active: 'Active',
  OpenSent: 'OpenSent',
  OpenConfirm: 'OpenConfirm',
  Established: 'Established',
} as const;
export type SessionStateName = (typeof SessionState)[keyof typeof SessionState];

/** Numeric codes as GoBGP exports them (bgp_peer_state gauge): idle 1 ... established 6. */
export const SESSION_STATE_CODE: Readonly<Record<SessionStateName, number>> = {
  Idle: 1,
  Connect: 2,
  Active: 3,
  OpenSent: 4,
  OpenConfirm: 5,
  Established: 6,
};

/** Identifies one TCP connection of a peer; allocated by `Fsm.newConnectionId()`. */
export type ConnectionId = number;

export type Direction = 'outgoing' | 'incoming';

/** Timers that belong to the peer. */
export type PeerTimer = 'ConnectRetry' | 'IdleHold' | 'ErrorForget';
/** Timers that belong to one connection; they stop with it (see the `Close` action). */
export type ConnectionTimer = 'Hold' | 'Keepalive' | 'DelayOpen';

export interface FsmConfig {
  /** Our BGP Identifier as an unsigned 32-bit integer (collision resolution, RFC 4271 §6.8). */
  localBgpId: number;
  /** Our AS number (4-octet); breaks collision ties between equal identifiers (RFC 6286 §2.3). */
  localAs: number;
  /** Never open connections; wait for the peer (RFC 4271 §8.1.1 PassiveTcpEstablishment). */
  passive: boolean;
  /** Hold time we offer in OPEN, seconds: 0 or >= 3 (RFC 4271 §4.2). */
  holdTime: number;
  /** Refuse a non-zero peer hold time below this many seconds (OPEN error Unacceptable Hold Time). */
  minHoldTime?: number;
  /** Keepalive interval, seconds; default one third of the negotiated hold time (RFC 4271 §10). */
  keepaliveTime?: number;
  /** Seconds between outgoing connection attempts (RFC 4271 §10 suggests 120). */
  connectRetryTime: number;
  /** Hold timer while waiting for the peer's OPEN, seconds (RFC 4271 §8: "4 minutes is suggested"). */
  openHoldTime: number;
  /** RFC 4271 §8.1.1 DelayOpen: wait this many seconds for the peer's OPEN before sending ours; 0 = off. */
  delayOpenTime: number;
  /**
   * Idle hold after an error (RFC 4271 §8.1.1 DampPeerOscillations), seconds: the first error
   * waits `min`, each further error doubles it up to `max` (BIRD's `error wait time`).
   */
  idleHold: { min: number; max: number };
  /** Errors further apart than this many seconds start the backoff again (BIRD's `error forget time`). */
  errorForgetTime: number;
  /** Uniform [0, 1) source for timer jitter; tests pass a fixed one. */
  random?: () => number;
}

/** Why an Established session ended (what the session layer needs for graceful restart). */
export type DownReason =
  | { kind: 'stopped'; subcode: number; message?: string }
  | { kind: 'notification-sent'; code: number; subcode: number }
  | { kind: 'notification-received'; code: number; subcode: number; data: Uint8Array }
  | { kind: 'hold-timer-expired' }
  | { kind: 'connection-lost' }
  /** A new connection from the peer arrived while Established: it restarted (RFC 4724 §4.2). */
  | { kind: 'peer-restarted' };

export type FsmEvent =
  /** ManualStart/AutomaticStart (events 1-5): passive or not comes from the config. */
  | { type: 'Start' }
  /** ManualStop (event 2): Cease with this RFC 4486 subcode (and RFC 9003 message) to every connection. */
  | { type: 'Stop'; subcode: number; message?: string }
  | { type: 'TimerExpired'; timer: PeerTimer }
  | { type: 'TimerExpired'; timer: ConnectionTimer; conn: ConnectionId }
  /** Our outgoing connection is up (event 16, Tcp_CR_Acked). */
  | { type: 'TcpConnected'; conn: ConnectionId }
  /** Our outgoing connection attempt failed (event 18 before the connection was up). */
  | { type: 'TcpConnectFailed'; conn: ConnectionId }
  /** The peer connected to us (event 17, TcpConnectionConfirmed). */
  | { type: 'TcpIncoming'; conn: ConnectionId }
  /** An established TCP connection closed or failed (event 18, TcpConnectionFails). */
  | { type: 'TcpClosed'; conn: ConnectionId }
  /**
   * A valid OPEN (event 19/20): `peerHoldTime` as the peer offered it; `bgpId` as uint32;
   * `peerAs` 4-octet; `gracefulRestart` true when the peer advertised the graceful restart capability.
   */
  | {
      type: 'OpenReceived';
      conn: ConnectionId;
      bgpId: number;
      peerAs: number;
      peerHoldTime: number;
      gracefulRestart: boolean;
    }
  /** A message failed validation in a way that resets the session (events 21, 22, 28): send this NOTIFICATION. */
  | { type: 'MessageError'; conn: ConnectionId; code: number; subcode: number; data?: Uint8Array }
  | { type: 'NotificationReceived'; conn: ConnectionId; code: number; subcode: number; data: Uint8Array }
  | { type: 'KeepaliveReceived'; conn: ConnectionId }
  /** UPDATE or ROUTE-REFRESH received (event 27): restarts the hold timer when Established. */
  | { type: 'UpdateReceived'; conn: ConnectionId };

export type FsmAction =
  /** Open an outgoing TCP connection; report TcpConnected or TcpConnectFailed with this id. */
  | { type: 'Connect'; conn: ConnectionId }
  | { type: 'SendOpen'; conn: ConnectionId }
  | { type: 'SendKeepalive'; conn: ConnectionId }
  /** Send this NOTIFICATION; a `Close` for the same connection always follows. */
  | { type: 'SendNotification'; conn: ConnectionId; code: number; subcode: number; data?: Uint8Array; message?: string }
  /** Close the connection after flushing what was queued (abandon it if still connecting); its timers stop. */
  | { type: 'Close'; conn: ConnectionId }
  | { type: 'StartTimer'; timer: PeerTimer; ms: number }
  | { type: 'StartTimer'; timer: ConnectionTimer; conn: ConnectionId; ms: number }
  | { type: 'StopTimer'; timer: PeerTimer }
  | { type: 'StopTimer'; timer: ConnectionTimer; conn: ConnectionId }
  /** The session is up on this connection, with this negotiated hold time (seconds). */
  | { type: 'Established'; conn: ConnectionId; holdTime: number; keepaliveTime: number }
  /** The Established session on this connection ended. */
  | { type: 'SessionDown'; conn: ConnectionId; reason: DownReason }
  | { type: 'StateChange'; from: SessionStateName; to: SessionStateName };
