// The one place services/rr imports the BGP protocol layer from (services/bgp's public index).
export {
  AsPathSegmentType,
  BgpSpeaker,
  canonicalAddress,
  CeaseSubcode,
  decodeMessage,
  encodeAttributes,
  formatCommunity,
  Origin,
  packUpdates,
  packWithdrawals,
  parsePrefix,
  prefixToString,
  WellKnownCommunity,
} from '../../bgp/index.js';
export type {
  AddPathMode,
  AsPathSegment,
  BgpTransport,
  CodecOptions,
  LargeCommunity,
  NegotiatedOptions,
  PathAttributes,
  PeerConfig,
  Prefix,
  UpdateEvent,
  UpdateMessage,
} from '../../bgp/index.js';
