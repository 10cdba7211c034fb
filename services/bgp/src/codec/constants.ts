// BGP-4 wire constants, named as in their RFCs. Every number the codec reads or writes has a name
// here; the rest of the codec never uses a bare protocol number.

/** RFC 4271 §4.1: the protocol version carried in OPEN. */
export const BGP_VERSION = 4;
/** RFC 4271 §4.1: marker (16) + length (2) + type (1). */
export const HEADER_LENGTH = 19;
/** RFC 4271 §4.1: the largest message without RFC 8654 extended messages. */
export const MAX_MESSAGE_LENGTH = 4096;
/** RFC 8654 §3: the largest message once both sides advertised the extended message capability. */
export const MAX_EXTENDED_MESSAGE_LENGTH = 65535;
/** RFC 6793 §9: the 2-octet stand-in for a 4-octet AS number. */
export const AS_TRANS = 23456;
/** RFC 4271 §4.2: minimum OPEN length (header + version, my AS, hold time, BGP id, opt len). */
export const MIN_OPEN_LENGTH = 29;
/** RFC 4271 §4.3: minimum UPDATE length (header + two 2-octet length fields). */
export const MIN_UPDATE_LENGTH = 23;
/** RFC 4271 §4.5: minimum NOTIFICATION length (header + code + subcode). */
export const MIN_NOTIFICATION_LENGTH = 21;
/** RFC 2918 §3: ROUTE-REFRESH is header + AFI (2) + reserved/subtype (1) + SAFI (1). */
export const ROUTE_REFRESH_LENGTH = 23;
/** RFC 9003 §2: the longest shutdown communication, in UTF-8 octets. */
export const MAX_SHUTDOWN_COMMUNICATION_LENGTH = 255;

/** RFC 4271 §4.1 (+ RFC 2918 for ROUTE-REFRESH). */
export const MessageType = {
  Open: 1,
  Update: 2,
  Notification: 3,
  Keepalive: 4,
  RouteRefresh: 5,
} as const;
export type MessageTypeCode = (typeof MessageType)[keyof typeof MessageType];

/** RFC 4271 §4.2 / RFC 5492 §4 / RFC 9072 §2: OPEN optional parameter types. */
export const OptionalParameterType = {
  Authentication: 1,
  Capabilities: 2,
  ExtendedLength: 255,
} as const;

/** IANA "Capability Codes" (RFC 5492). */
export const CapabilityCode = {
  MultiProtocol: 1, // RFC 4760
  RouteRefresh: 2, // RFC 2918
  ExtendedNextHop: 5, // RFC 8950 (kept as Unknown)
  ExtendedMessage: 6, // RFC 8654
  Role: 9, // RFC 9234 (kept as Unknown)
  GracefulRestart: 64, // RFC 4724
  FourOctetAs: 65, // RFC 6793
  AddPath: 69, // RFC 7911
  EnhancedRouteRefresh: 70, // RFC 7313
  LongLivedGracefulRestart: 71, // RFC 9494
  Fqdn: 73, // draft-walton-bgp-hostname-capability
  SoftwareVersion: 75, // draft-abraitis-bgp-version-capability (kept as Unknown)
  RouteRefreshCisco: 128, // pre-standard RFC 2918 code, still sent by some speakers
} as const;

/** IANA "BGP Path Attributes". */
export const AttrType = {
  Origin: 1,
  AsPath: 2,
  NextHop: 3,
  MultiExitDisc: 4,
  LocalPref: 5,
  AtomicAggregate: 6,
  Aggregator: 7,
  Communities: 8, // RFC 1997
  OriginatorId: 9, // RFC 4456
  ClusterList: 10, // RFC 4456
  MpReachNlri: 14, // RFC 4760
  MpUnreachNlri: 15, // RFC 4760
  ExtendedCommunities: 16, // RFC 4360
  As4Path: 17, // RFC 6793
  As4Aggregator: 18, // RFC 6793
  LargeCommunities: 32, // RFC 8092
} as const;

/** RFC 4271 §4.3: the high bits of the attribute flags octet. */
export const AttrFlag = {
  Optional: 0x80,
  Transitive: 0x40,
  Partial: 0x20,
  ExtendedLength: 0x10,
} as const;

/** RFC 4271 §5.1.1. */
export const Origin = {
  Igp: 0,
  Egp: 1,
  Incomplete: 2,
} as const;
export type OriginCode = (typeof Origin)[keyof typeof Origin];

/** RFC 4271 §4.3 (sets, sequences) and RFC 5065 §3 (confederation segments). */
export const AsPathSegmentType = {
  AsSet: 1,
  AsSequence: 2,
  AsConfedSequence: 3,
  AsConfedSet: 4,
} as const;
export type AsPathSegmentTypeCode = (typeof AsPathSegmentType)[keyof typeof AsPathSegmentType];

/** RFC 4271 §4.5 (+ RFC 7313 for code 7). */
export const ErrorCode = {
  MessageHeader: 1,
  OpenMessage: 2,
  UpdateMessage: 3,
  HoldTimerExpired: 4,
  FiniteStateMachine: 5,
  Cease: 6,
  RouteRefreshMessage: 7,
} as const;

/** Subcode 0 of any error code: RFC 4493 / IANA "Unspecific". */
export const UNSPECIFIC_SUBCODE = 0;

/** RFC 4271 §6.1. */
export const MessageHeaderSubcode = {
  ConnectionNotSynchronized: 1,
  BadMessageLength: 2,
  BadMessageType: 3,
} as const;

/** RFC 4271 §6.2 (+ RFC 5492 for 7, RFC 9234 for 11). */
export const OpenMessageSubcode = {
  UnsupportedVersionNumber: 1,
  BadPeerAs: 2,
  BadBgpIdentifier: 3,
  UnsupportedOptionalParameter: 4,
  UnacceptableHoldTime: 6,
  UnsupportedCapability: 7,
  RoleMismatch: 11,
} as const;

/** RFC 4271 §6.3. */
export const UpdateMessageSubcode = {
  MalformedAttributeList: 1,
  UnrecognizedWellKnownAttribute: 2,
  MissingWellKnownAttribute: 3,
  AttributeFlagsError: 4,
  AttributeLengthError: 5,
  InvalidOriginAttribute: 6,
  InvalidNextHopAttribute: 8,
  OptionalAttributeError: 9,
  InvalidNetworkField: 10,
  MalformedAsPath: 11,
} as const;

/** RFC 6608 §4. */
export const FsmErrorSubcode = {
  UnexpectedMessageInOpenSent: 1,
  UnexpectedMessageInOpenConfirm: 2,
  UnexpectedMessageInEstablished: 3,
} as const;

/** RFC 4486 §4 (+ RFC 8538 for 9, RFC 9384 for 10). */
export const CeaseSubcode = {
  MaximumNumberOfPrefixesReached: 1,
  AdministrativeShutdown: 2,
  PeerDeconfigured: 3,
  AdministrativeReset: 4,
  ConnectionRejected: 5,
  OtherConfigurationChange: 6,
  ConnectionCollisionResolution: 7,
  OutOfResources: 8,
  HardReset: 9,
  BfdDown: 10,
} as const;

/** RFC 7313 §5. */
export const RouteRefreshErrorSubcode = {
  InvalidMessageLength: 1,
} as const;

/** RFC 7313 §3: the octet after the AFI in ROUTE-REFRESH. */
export const RouteRefreshSubtype = {
  Normal: 0,
  BeginningOfRouteRefresh: 1,
  EndOfRouteRefresh: 2,
} as const;

/** IANA "Address Family Numbers". */
export const Afi = {
  Ipv4: 1,
  Ipv6: 2,
} as const;
export type AfiCode = (typeof Afi)[keyof typeof Afi];

/** IANA "SAFI Values" (RFC 4760). */
export const Safi = {
  Unicast: 1,
  Multicast: 2,
} as const;

/** RFC 7911 §4: the Send/Receive field of the ADD-PATH capability. */
export const AddPathSendReceive = {
  Receive: 1,
  Send: 2,
  Both: 3,
} as const;

/** RFC 4724 §3: Restart Flags (the top 4 bits of the 16-bit flags/time field), shifted down. */
export const GracefulRestartFlag = {
  Restart: 0x8,
  Notification: 0x4, // RFC 8538
} as const;

/** RFC 4724 §3 / RFC 9494 §3: the per-AFI "Forwarding State" bit. */
export const AFI_FLAG_FORWARDING_STATE = 0x80;

/** IANA "BGP Well-known Communities" (RFC 1997, RFC 7611, RFC 7999, RFC 8326, RFC 9494). */
export const WellKnownCommunity = {
  GracefulShutdown: 0xffff0000, // RFC 8326
  AcceptOwn: 0xffff0001, // RFC 7611
  LlgrStale: 0xffff0006, // RFC 9494
  NoLlgr: 0xffff0007, // RFC 9494
  Blackhole: 0xffff029a, // RFC 7999
  NoExport: 0xffffff01, // RFC 1997
  NoAdvertise: 0xffffff02, // RFC 1997
  NoExportSubconfed: 0xffffff03, // RFC 1997
  NoPeer: 0xffffff04, // RFC 3765
} as const;
