export {
  RESOURCES_BUCKET,
  META_BUCKET,
  META_COMPACTED_REVISION,
  Subjects,
  KIND_TOKENS,
  resourceKey,
  kindPrefix,
  parseResourceKey,
} from './names.js';
export type { StoredKind, ResourceKey } from './names.js';
export { connectNats } from './connect.js';
export { natsServerConfig, SYNC_SERVER_DENIED_PUBLISH } from './server-config.js';
export type { NatsServerConfigOptions } from './server-config.js';
export type { NatsConnection } from './connect.js';
