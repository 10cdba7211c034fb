// Domain types of the BGP codec: what the FSM, session and RIB see. They are not wire structs:
// addresses are strings, the AS path is always 4-octet, MP_REACH/MP_UNREACH are folded into the
// UPDATE's own reach/unreach sections, and lengths/flags that the encoder derives are absent.

import type { AfiCode, AsPathSegmentTypeCode, MessageType, OriginCode } from './constants.js';

/**
 * An IP prefix as carried in NLRI. Invariants: `bytes.length === ceil(length / 8)` (the wire
 * form: only the significant octets), bits past `length` are zero, `length <= 32` for afi 4 and
 * `<= 128` for afi 6. `pathId` is the RFC 7911 path identifier; 0 when ADD-PATH is not in use for
 * the family. Build with `makePrefix`/`parsePrefix`; hash with `prefixKey`.
 */
export interface Prefix {
  readonly afi: 4 | 6;
  readonly length: number;
  readonly bytes: Uint8Array;
  readonly pathId: number;
}

/** An (AFI, SAFI) pair with wire AFI numbers (1 = IPv4, 2 = IPv6). */
export interface AfiSafi {
  readonly afi: number;
  readonly safi: number;
}

/** One AS_PATH segment; `asns` are 4-octet AS numbers, 1..255 of them on the wire per segment. */
export interface AsPathSegment {
  readonly type: AsPathSegmentTypeCode;
  readonly asns: readonly number[];
}

/** AGGREGATOR (RFC 4271 §5.1.7), 4-octet AS after RFC 6793 reconciliation. */
export interface Aggregator {
  readonly asn: number;
  /** IPv4 dotted quad. */
  readonly address: string;
}

/** RFC 8092 §3. */
export interface LargeCommunity {
  readonly globalAdmin: number;
  readonly localData1: number;
  readonly localData2: number;
}

/**
 * A path attribute the codec does not interpret. Only optional transitive ones are kept (RFC 4271
 * §5: unrecognised optional non-transitive attributes are quietly ignored); `flags` has the
 * Partial bit set (RFC 4271 §5: it must be set when propagated) and never ExtendedLength (the
 * encoder derives it). `value` is kept byte for byte.
 */
export interface UnknownAttribute {
  readonly flags: number;
  readonly type: number;
  readonly value: Uint8Array;
}

/**
 * The path attributes of an UPDATE that announces routes. NEXT_HOP is the classic IPv4 next hop
 * (absent when the UPDATE announces only through MP_REACH_NLRI, RFC 4760 §3).
 */
export interface PathAttributes {
  readonly origin: OriginCode;
  readonly asPath: readonly AsPathSegment[];
  /** IPv4 dotted quad. */
  readonly nextHop?: string;
  readonly med?: number;
  readonly localPref?: number;
  readonly atomicAggregate: boolean;
  readonly aggregator?: Aggregator;
  /** RFC 1997 communities as uint32 (asn << 16 | value), in wire order. */
  readonly communities?: readonly number[];
  /** RFC 4360 extended communities, 8 octets each, in wire order. */
  readonly extendedCommunities?: readonly Uint8Array[];
  readonly largeCommunities?: readonly LargeCommunity[];
  /** RFC 4456 ORIGINATOR_ID, IPv4 dotted quad. */
  readonly originatorId?: string;
  /** RFC 4456 CLUSTER_LIST, IPv4 dotted quads, nearest cluster first. */
  readonly clusterList?: readonly string[];
  readonly unknown: readonly UnknownAttribute[];
}

/** MP_REACH_NLRI (RFC 4760 §3) folded into the UPDATE. */
export interface MpReach {
  readonly afi: AfiCode;
  readonly safi: number;
  /** IPv4 or IPv6 address text (RFC 4760 §3; for IPv6 the global address, RFC 2545 §3). */
  readonly nextHop: string;
  /** RFC 2545 §3: the link-local IPv6 next hop when the next hop field is 32 octets. */
  readonly linkLocalNextHop?: string;
  readonly nlri: readonly Prefix[];
}

/** MP_UNREACH_NLRI (RFC 4760 §4) folded into the UPDATE. */
export interface MpUnreach {
  readonly afi: AfiCode;
  readonly safi: number;
  readonly withdrawn: readonly Prefix[];
}

/** RFC 4271 §4.2. `myAs` is the 2-octet wire field (AS_TRANS for 4-octet ASNs; see `openAsn`). */
export interface OpenMessage {
  readonly type: typeof MessageType.Open;
  readonly version: number;
  readonly myAs: number;
  readonly holdTime: number;
  /** IPv4 dotted quad (RFC 6286: any non-zero 32-bit value). */
  readonly bgpId: string;
  readonly capabilities: readonly Capability[];
}

export interface GracefulRestartFamily extends AfiSafi {
  readonly forwardingState: boolean;
}
export interface LongLivedGracefulRestartFamily extends AfiSafi {
  readonly forwardingState: boolean;
  /** RFC 9494 §3: 24-bit long-lived stale time in seconds. */
  readonly staleTime: number;
}
export interface AddPathFamily extends AfiSafi {
  /** RFC 7911 §4: 1 receive, 2 send, 3 both. */
  readonly sendReceive: number;
}

/** RFC 5492 capabilities as typed values; anything else is kept as `Unknown`. */
export type Capability =
  | { readonly kind: 'MultiProtocol'; readonly afi: number; readonly safi: number }
  | { readonly kind: 'RouteRefresh' }
  | { readonly kind: 'EnhancedRouteRefresh' }
  | { readonly kind: 'FourOctetAs'; readonly asn: number }
  | {
      readonly kind: 'GracefulRestart';
      /** 4-bit Restart Flags (GracefulRestartFlag). */
      readonly restartFlags: number;
      /** 12-bit restart time in seconds. */
      readonly restartTime: number;
      readonly afis: readonly GracefulRestartFamily[];
    }
  | { readonly kind: 'LongLivedGracefulRestart'; readonly afis: readonly LongLivedGracefulRestartFamily[] }
  | { readonly kind: 'AddPath'; readonly afis: readonly AddPathFamily[] }
  | { readonly kind: 'ExtendedMessage' }
  | { readonly kind: 'Fqdn'; readonly hostname: string; readonly domain: string }
  | { readonly kind: 'Unknown'; readonly code: number; readonly value: Uint8Array };

export type CapabilityKind = Capability['kind'];

/**
 * RFC 4271 §4.3. `withdrawn`/`nlri` are the classic IPv4 unicast fields. `attributes` is present
 * exactly when the UPDATE announces routes (classic NLRI or MP_REACH_NLRI); attributes of a pure
 * withdrawal are validated and dropped. At most one MP_REACH and one MP_UNREACH (RFC 7606 §3 g).
 */
export interface UpdateMessage {
  readonly type: typeof MessageType.Update;
  readonly withdrawn: readonly Prefix[];
  readonly attributes?: PathAttributes;
  readonly nlri: readonly Prefix[];
  readonly mpReach?: MpReach;
  readonly mpUnreach?: MpUnreach;
  /**
   * Set (not enumerable) by decodeUpdate when the received attributes were in canonical form:
   * they without NEXT_HOP and MP_*, equal to `encodeStoredForm(attributes)`. Lets a RIB that
   * keeps attribute sets encoded take the received octets instead of encoding the decoded ones.
   */
  readonly attributesWire?: Uint8Array;
  /**
   * The IPv4 withdrawn routes field left in wire form, set (and `withdrawn` left empty) only when
   * the caller asked decodeUpdate for it: a RIB that finds destinations by their wire octets
   * withdraws without a Prefix object per prefix. Never set with no prefixes in it.
   */
  readonly withdrawnWire?: WirePrefixes;
}

/**
 * A validated prefix list in wire form (RFC 4271 §4.3; RFC 7911 §3 with `addPath`): `count`
 * entries in `bytes[start..end)`. Bits past a prefix's length may be set (as received).
 */
export interface WirePrefixes {
  readonly bytes: Uint8Array;
  readonly start: number;
  readonly end: number;
  readonly count: number;
  readonly afi: 4 | 6;
  readonly addPath: boolean;
}

/** RFC 4271 §4.5. */
export interface NotificationMessage {
  readonly type: typeof MessageType.Notification;
  readonly code: number;
  readonly subcode: number;
  readonly data: Uint8Array;
}

/** RFC 4271 §4.4. */
export interface KeepaliveMessage {
  readonly type: typeof MessageType.Keepalive;
}

/** RFC 2918 §3 / RFC 7313 §3. `subtype` other than 0..2 must be ignored by the receiver. */
export interface RouteRefreshMessage {
  readonly type: typeof MessageType.RouteRefresh;
  readonly afi: number;
  readonly safi: number;
  readonly subtype: number;
}

export type BgpMessage = OpenMessage | UpdateMessage | NotificationMessage | KeepaliveMessage | RouteRefreshMessage;

/** ADD-PATH state of one family for this session (RFC 7911 §5). */
export interface AddPathOption extends AfiSafi {
  /** NLRI we receive carry a path identifier (we advertised receive, the peer send). */
  readonly receive: boolean;
  /** NLRI we send must carry a path identifier (we advertised send, the peer receive). */
  readonly send: boolean;
}

/** What the codec needs to know about the session; the session builds it with `negotiate`. */
export interface CodecOptions {
  /** RFC 6793: both sides advertised the 4-octet AS capability. */
  readonly fourOctetAs: boolean;
  /** RFC 8654: both sides advertised extended messages (65535 instead of 4096). */
  readonly extendedMessage: boolean;
  readonly addPath: readonly AddPathOption[];
}

/** The outcome of the OPEN exchange (RFC 4271 §4.2, RFC 5492). */
export interface NegotiatedOptions extends CodecOptions {
  /** RFC 4271 §4.2: the smaller of both hold times; 0 (no keepalives) or >= 3 seconds. */
  readonly holdTime: number;
  /** RFC 4271 §10: one third of the hold time (0 when the hold time is 0). */
  readonly keepaliveTime: number;
  /** The peer's AS (4-octet capability value when present, else the OPEN field). */
  readonly peerAs: number;
  readonly peerBgpId: string;
  /** Families both sides advertised (IPv4 unicast when neither sent MultiProtocol, RFC 4760 §8). */
  readonly families: readonly AfiSafi[];
  readonly routeRefresh: boolean;
  readonly enhancedRouteRefresh: boolean;
  /** The peer's graceful restart capability (RFC 4724), if it sent one. */
  readonly peerGracefulRestart?: Extract<Capability, { kind: 'GracefulRestart' }>;
  /** The peer's long-lived graceful restart capability (RFC 9494), if it sent one. */
  readonly peerLongLivedGracefulRestart?: Extract<Capability, { kind: 'LongLivedGracefulRestart' }>;
  /** The largest message either side may send: 4096, or 65535 with extended messages. */
  readonly maxMessageLength: number;
}

/** An UPDATE whose attributes were encoded once with `encodeAttributes` (shared, immutable). */
export interface PreEncodedUpdate {
  readonly attributesBytes: Uint8Array;
  readonly withdrawn?: readonly Prefix[];
  readonly nlri?: readonly Prefix[];
  readonly mpReach?: MpReach;
  readonly mpUnreach?: MpUnreach;
}

/** The IPv6 (or other MP) next hop `packUpdates` puts into each MP_REACH_NLRI it builds. */
export interface MpNextHop {
  readonly nextHop: string;
  readonly linkLocalNextHop?: string;
  /** Defaults to unicast. */
  readonly safi?: number;
}

/** One complete message from `FrameReader`: views into the received bytes (or one copy). */
export interface Frame {
  readonly type: number;
  /** The whole message, header included. */
  readonly message: Uint8Array;
  /** The message after the 19-octet header. */
  readonly body: Uint8Array;
}
