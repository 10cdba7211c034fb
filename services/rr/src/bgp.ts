// The one place services/rr imports the BGP protocol layer from (services/bgp's public API).
export {
  AddPathSendReceive,
  Afi,
  AsPathSegmentType,
  CeaseSubcode,
  ErrorCode,
  GracefulRestartFlag,
  Origin,
  Safi,
  WellKnownCommunity,
  decodeMessage,
  encodeAttributes,
  endOfRib,
  formatCommunity,
  makePrefix,
  packUpdates,
  packWithdrawals,
  parsePrefix,
  prefixToString,
} from '../../bgp/index.js';
export type {
  AfiSafi,
  AsPathSegment,
  CodecOptions,
  LargeCommunity,
  MpNextHop,
  NegotiatedOptions,
  PathAttributes,
  Prefix,
  UpdateMessage,
} from '../../bgp/index.js';
export { BgpSpeaker, canonicalAddress, netTransport } from '../../bgp/index.js';
export type {
  AddPathMode,
  BgpTransport,
  PeerConfig,
  PeerStatus,
  SessionDownEvent,
  StaleRoutesEvent,
  RouteRefreshEvent,
  EndOfRibEvent,
  EstablishedEvent,
  UpdateEvent,
} from '../../bgp/index.js';
export { SESSION_STATE_CODE } from '../../bgp/index.js';
export type { SessionStateName } from '../../bgp/index.js';
