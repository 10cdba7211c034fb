export {
  connectSecured,
  connectSecuredDescriptor,
  descriptorOf,
  gtsmMinTtl,
  GTSM_TTL,
  isSecured,
  prepareListener,
  secureAccepted,
  setListenerKey,
  socketSecurityUnavailable,
} from './sockets.js';
export type { SecureConnectOptions, SocketSecurity } from './sockets.js';
export { sockoptAddon } from './addon.js';
export type { SockoptAddon } from './addon.js';
