// Configuration and events of the BGP speaker. The speaker holds no routes: it hands decoded
// UPDATEs up and sends the bytes it is given; the route reflector above owns tables and policy.
import type { Meter } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { AfiSafi, BgpMessageError, NegotiatedOptions, UpdateMessage } from '../codec/index.js';
import type { DownReason, SessionStateName } from '../fsm/index.js';
import type { BgpTransport } from './transport.js';

/** Address families by name; the wire (AFI, SAFI) pairs are in `FAMILY`. */
export type FamilyName = 'ipv4-unicast' | 'ipv6-unicast';

/** RFC 7911 ADD-PATH direction we advertise for a family. */
export type AddPathMode = 'receive' | 'send' | 'both';

export interface GracefulRestartConfig {
  /** Seconds the peer should keep our routes after we restart (RFC 4724 §3, 12 bits, ≤ 4095). */
  restartTime: number;
  /**
   * Set the Restart State (R) bit: we are restarting and the peer should wait for our End-of-RIB
   * (RFC 4724 §4.1). The layer above sets it after a restart and clears it with
   * `BgpSpeaker.restartComplete()` once its End-of-RIBs are sent.
   */
  restarting?: boolean;
  /** Forwarding state preserved across the restart, per family (RFC 4724 §3 F bit). Default false. */
  forwardingState?: boolean;
  /** Seconds we keep a restarted peer's stale routes waiting for its End-of-RIB (default 360). */
  stalePathTime?: number;
}

export interface LongLivedGracefulRestartConfig {
  /** RFC 9494 long-lived stale time we ask the peer to keep our routes, seconds (24 bits). */
  staleTime: number;
}

export interface PeerConfig {
  /** The peer's IP address; sessions are matched to peers by it. */
  address: string;
  /** The peer's AS number (4-octet); its OPEN must match. */
  remoteAs: number;
  /** TCP port we connect to (default 179). */
  port?: number;
  /** Source address for our connections (default: chosen by the OS). */
  localAddress?: string;
  /** Never connect; wait for the peer (default false). */
  passive?: boolean;
  /** Hold time we offer, seconds: 0 or 3..65535 (default 90). */
  holdTime?: number;
  /** Refuse a peer offering a non-zero hold time below this (OPEN error Unacceptable Hold Time; default 3). */
  minHoldTime?: number;
  /** Keepalive interval, seconds (default one third of the negotiated hold time). */
  keepaliveTime?: number;
  /** Seconds between connection attempts (default 5). */
  connectRetryTime?: number;
  /** RFC 4271 DelayOpen, seconds (default 0: off). */
  delayOpenTime?: number;
  /** Idle hold after errors, seconds: first error `min`, doubling to `max` (default 5, 120). */
  idleHold?: { min: number; max: number };
  /** Families we advertise (default both unicast families). */
  families?: readonly FamilyName[];
  /** ADD-PATH per family (default none). */
  addPath?: Partial<Record<FamilyName, AddPathMode>>;
  /** Advertise RFC 8654 extended messages (default true). */
  extendedMessage?: boolean;
  /** Advertise route refresh and enhanced route refresh (default true). */
  routeRefresh?: boolean;
  /**
   * Graceful restart for this peer; overrides the speaker's. Without either we still advertise
   * the capability with no families (RFC 4724 helper role: we keep a restarting peer's routes);
   * null turns graceful restart off for this peer entirely.
   */
  gracefulRestart?: GracefulRestartConfig | null;
  /** Long-lived graceful restart for this peer; overrides the speaker's (null: off). */
  longLivedGracefulRestart?: LongLivedGracefulRestartConfig | null;
  /** Free text for logs and status. */
  description?: string;
  /**
   * RFC 2385 TCP-MD5 key (1 to 80 octets), on our connections and on the listener for this
   * address; or why the configured key could not be had (a missing secret): then the peer stays
   * down with that reason, never up without a key.
   */
  tcpMd5?: { key: string | Uint8Array } | { error: string };
  /** RFC 5082 GTSM: the peer is at most this many hops away, 1..255 (0 or absent: off). */
  ttlSecurity?: number;
}

export interface DynamicPeerRange {
  /** CIDR the source address must fall in, e.g. `10.0.0.0/8`. */
  prefix: string;
  /** The AS the peers in this range must have. */
  remoteAs: number;
  /** Settings for peers created from this range (always passive). */
  template?: Omit<PeerConfig, 'address' | 'remoteAs' | 'passive' | 'port' | 'localAddress' | 'tcpMd5' | 'ttlSecurity'>;
}

export interface SpeakerConfig {
  /** Our AS (4-octet capable; AS_TRANS goes into the OPEN field above 65535). */
  localAs: number;
  /** BGP Identifier, IPv4 dotted quad, non-zero. */
  routerId: string;
  /** TCP listener (default: the router id, port 179; `::` for every address); `false` for none (active peers only). */
  listen?: { address: string; port: number } | false;
  /** Peers accepted from address ranges without being configured one by one. */
  dynamicPeers?: readonly DynamicPeerRange[];
  /** At most this many dynamic peers at once; more get Cease/Out of Resources (default 10000). */
  maxDynamicPeers?: number;
  /** Defaults for every peer (graceful restart, LLGR). */
  gracefulRestart?: GracefulRestartConfig;
  longLivedGracefulRestart?: LongLivedGracefulRestartConfig;
  /** Queued octets per peer above which `send` returns false (default 1 MiB). */
  sendQueueHighWater?: number;
  /** Hostname for the FQDN capability (not sent when absent). */
  hostname?: string;
  /**
   * 'update' events carry the IPv4 withdrawn routes field in wire form (`withdrawnWire`, and an
   * empty `withdrawn`): for a RIB that looks destinations up by their octets (default false).
   */
  wireWithdrawals?: boolean;
  transport?: BgpTransport;
  logger?: Logger;
  meter?: Meter;
}

/** The wire (AFI, SAFI) of a family name. */
export const FAMILY: Readonly<Record<FamilyName, AfiSafi>> = {
  'ipv4-unicast': { afi: 1, safi: 1 },
  'ipv6-unicast': { afi: 2, safi: 1 },
};

export interface PeerStatus {
  address: string;
  remoteAs: number;
  state: SessionStateName;
  passive: boolean;
  dynamic: boolean;
  description: string | undefined;
  /** What the OPEN exchange settled, while Established. */
  negotiated: NegotiatedOptions | undefined;
  /** Milliseconds since the epoch when the session came up, while Established. */
  establishedAt: number | undefined;
  /** Times the session left Established. */
  flaps: number;
  /** The last NOTIFICATION or failure that ended a session, readable. */
  lastError: string | undefined;
  /** The last NOTIFICATION in each direction. */
  notifications: { lastSent?: NotificationRecord; lastReceived?: NotificationRecord };
  /** Octets queued for the peer and not yet taken by the kernel. */
  outQueueBytes: number;
  /** Families whose routes from this peer are stale (graceful restart helper). */
  staleFamilies: AfiSafi[];
  messages: { received: Record<string, number>; sent: Record<string, number> };
}

export interface NotificationRecord {
  code: number;
  subcode: number;
  /** Readable form, with the RFC 9003 shutdown communication when there is one. */
  text: string;
  /** Milliseconds since the epoch. */
  at: number;
}

export interface PeerStateEvent {
  peer: string;
  from: SessionStateName;
  to: SessionStateName;
}

export interface EstablishedEvent {
  peer: string;
  negotiated: NegotiatedOptions;
}

export interface SessionDownEvent {
  peer: string;
  reason: DownReason;
  /**
   * Families whose routes the layer above must keep, marked stale, because the peer is
   * restarting (RFC 4724 helper). Routes of other families are gone: withdraw them.
   */
  retained: AfiSafi[];
}

export interface UpdateEvent {
  peer: string;
  /**
   * The UPDATE after RFC 7606 handling: for treat-as-withdraw, every announced prefix has been
   * moved to the withdrawn lists and the attributes removed; for attribute-discard, the bad
   * attribute is already gone.
   */
  update: UpdateMessage;
  /** The non-fatal error that was applied, if any (for logs and counters). */
  error?: BgpMessageError;
}

export interface EndOfRibEvent {
  peer: string;
  afi: number;
  safi: number;
}

export interface RouteRefreshEvent {
  peer: string;
  afi: number;
  safi: number;
  /**
   * `request`: re-send our routes of this family (RFC 2918). `begin`/`end`: the peer is
   * re-sending its routes (RFC 7313): mark them stale at begin, drop those still stale at end.
   */
  kind: 'request' | 'begin' | 'end';
}

export interface StaleRoutesEvent {
  peer: string;
  afi: number;
  safi: number;
  /**
   * `purge`: drop this peer's routes of the family that are still marked stale.
   * `long-lived`: keep them as long-lived stale (RFC 9494: add LLGR_STALE, least preferred).
   */
  action: 'purge' | 'long-lived';
  cause: 'end-of-rib' | 'restart-timer' | 'stale-timer' | 'long-lived-timer' | 'not-preserved' | 'peer-removed';
}

export interface SpeakerEvents {
  peerState: [PeerStateEvent];
  established: [EstablishedEvent];
  sessionDown: [SessionDownEvent];
  update: [UpdateEvent];
  endOfRib: [EndOfRibEvent];
  routeRefresh: [RouteRefreshEvent];
  staleRoutes: [StaleRoutesEvent];
  /** The peer's send queue fell below the low-water mark after `send` returned false. */
  drain: [string];
}
