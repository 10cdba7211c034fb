export { BgpSpeaker } from './speaker.js';
export { netTransport } from './transport.js';
export type { BgpTransport, ConnectOptions, ListenOptions } from './transport.js';
export { FAMILY } from './types.js';
export type {
  AddPathMode,
  DynamicPeerRange,
  EndOfRibEvent,
  EstablishedEvent,
  FamilyName,
  GracefulRestartConfig,
  NotificationRecord,
  LongLivedGracefulRestartConfig,
  PeerConfig,
  PeerStateEvent,
  PeerStatus,
  RouteRefreshEvent,
  SessionDownEvent,
  SpeakerConfig,
  SpeakerEvents,
  StaleRoutesEvent,
  UpdateEvent,
} from './types.js';
export { canonicalAddress } from './config.js';
export { treatAsWithdraw } from './update-handling.js';
