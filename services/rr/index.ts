// The route reflector service: one shared RIB with interned attribute sets, best path per
// RFC 4271 + RFC 4456, reflection through update groups, Calico BGPFilter policy, IPAM block
// origination from the datastore, LMDB warm restart, a gRPC admin API. See README.md / DESIGN.md.
export { startStandalone } from './src/run/standalone.js';
export { RR_NODE_FLAGS } from './src/run/node-flags.js';
export type { RrHandle, StandaloneOptions } from './src/run/standalone.js';
export {
  loadStandaloneConfig,
  parseStandaloneConfig,
  withServiceOverrides,
  DEFAULT_ADMIN_LISTEN,
} from './src/config/standalone.js';
export type { StandaloneConfig, ServiceSettings } from './src/config/standalone.js';
export { DEFAULT_GRACEFUL_RESTART } from './src/config/types.js';
export type {
  PeerSettings,
  ReflectorSettings,
  StaticRoute,
  GracefulRestartSettings,
  AddPathSetting,
  FamilyName,
} from './src/config/types.js';
export { Reflector } from './src/reflector/reflector.js';
export type { ReflectorOptions, ReflectorEvents } from './src/reflector/reflector.js';
export { parseBgpFilter } from './src/policy/filter.js';
export type { BgpFilter, FilterRule } from './src/policy/filter.js';
export { startDatastoreMode } from './src/run/datastore.js';
export type { DatastoreModeOptions, DatastoreHandle } from './src/run/datastore.js';
export { deriveConfig } from './src/datastore/derive.js';
export type { DerivedConfig } from './src/datastore/derive.js';
export type { ResourceSource } from './src/datastore/source.js';
export type { ResourceChange } from './src/datastore/model.js';
export { createRrAdminClient } from './src/api/admin-client.js';
export type { RrAdminClient } from './src/api/admin-client.js';
export { startAdminServer } from './src/api/admin-server.js';
export type { AdminServer } from './src/api/admin-server.js';
