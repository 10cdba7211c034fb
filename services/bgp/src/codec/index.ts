// BGP-4 codec (RFC 4271 and extensions): wire format only, no state. Message sequence of a
// session, for orientation (the FSM in ../fsm drives it; the codec only encodes and decodes):
//
//   OPEN ──> <── OPEN        capabilities exchanged; negotiate(local, remote) → NegotiatedOptions
//   KEEPALIVE <──>           session Established; keepalives every holdTime/3
//   UPDATE* <──>             routes; End-of-RIB per family (RFC 4724) closes the initial table
//   ROUTE-REFRESH ──>        re-send request (RFC 2918), BoRR/EoRR markers (RFC 7313)
//   NOTIFICATION ──> close   on any session-level BgpMessageError or administrative stop
//
// Upgrade rule: nothing beyond RFC 4271 is sent unless both OPENs advertised it; CodecOptions
// carry what was negotiated into every encode and decode call.

export {
  AFI_FLAG_FORWARDING_STATE,
  AS_TRANS,
  AddPathSendReceive,
  Afi,
  AsPathSegmentType,
  AttrFlag,
  AttrType,
  BGP_VERSION,
  CapabilityCode,
  CeaseSubcode,
  ErrorCode,
  FsmErrorSubcode,
  GracefulRestartFlag,
  HEADER_LENGTH,
  MAX_EXTENDED_MESSAGE_LENGTH,
  MAX_MESSAGE_LENGTH,
  MAX_SHUTDOWN_COMMUNICATION_LENGTH,
  MessageHeaderSubcode,
  MessageType,
  OpenMessageSubcode,
  OptionalParameterType,
  Origin,
  RouteRefreshErrorSubcode,
  RouteRefreshSubtype,
  Safi,
  UNSPECIFIC_SUBCODE,
  UpdateMessageSubcode,
  WellKnownCommunity,
} from './constants.js';
export type { AfiCode, AsPathSegmentTypeCode, MessageTypeCode, OriginCode } from './constants.js';
export type {
  AddPathFamily,
  AddPathOption,
  AfiSafi,
  Aggregator,
  AsPathSegment,
  BgpMessage,
  Capability,
  CapabilityKind,
  CodecOptions,
  Frame,
  GracefulRestartFamily,
  KeepaliveMessage,
  LargeCommunity,
  LongLivedGracefulRestartFamily,
  MpNextHop,
  MpReach,
  MpUnreach,
  NegotiatedOptions,
  NotificationMessage,
  OpenMessage,
  PathAttributes,
  Prefix,
  PreEncodedUpdate,
  RouteRefreshMessage,
  UnknownAttribute,
  UpdateMessage,
  WirePrefixes,
} from './types.js';
export { putU32, u32 } from './bytes.js';
export { BgpMessageError, isSessionLevel, strongerError } from './errors.js';
export type { BgpMessageErrorInit, ErrorHandling } from './errors.js';
export { FrameReader, checkHeader, messageTypeName } from './header.js';
export type { FrameReaderOptions } from './header.js';
export { makePrefix, parsePrefix, prefixAddress, prefixEquals, prefixKey, prefixToString } from './prefix.js';
export { community, formatCommunity, parseCommunity } from './community.js';
export { decodeOpen, myAsField, openAsn } from './open.js';
export { BASELINE_CODEC_OPTIONS, addPathFor, maxMessageLength, negotiate } from './negotiate.js';
export {
  attributesFromWire,
  decodeUpdate,
  encodeAttributes,
  encodeStoredForm,
  encodeUpdate,
  endOfRib,
  isEndOfRib,
} from './update.js';
export type { DecodeUpdateOptions, UpdateDecodeResult } from './update.js';
export { wirePrefixesToPrefixes } from './nlri.js';
export {
  MessageBuffer,
  packUpdates,
  packUpdatesWire,
  packUpdatesWireInto,
  packWithdrawals,
  packWithdrawalsWire,
  packWithdrawalsWireInto,
  updatesWireSize,
  withdrawalsWireSize,
} from './pack.js';
export { KEEPALIVE, decodeNotification, shutdownCommunication, shutdownNotification } from './notification.js';
export { decodeRouteRefresh } from './route-refresh.js';
export { decodeMessage, encodeMessage, encodedLength } from './message.js';
export type { DecodeResult } from './message.js';
