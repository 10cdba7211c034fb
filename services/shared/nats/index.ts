export {
  RESOURCES_BUCKET,
  META_BUCKET,
  META_COMPACTED_REVISION,
  META_HEALTH_PROBE,
  Subjects,
  KIND_TOKENS,
  resourceKey,
  kindPrefix,
  parseResourceKey,
  inboxPrefix,
} from './names.js';
export type { StoredKind, ResourceKey } from './names.js';
export { connectNats } from './connect.js';
export { natsServerConfig, syncServerPermissions, datastorePermissions } from './server-config.js';
export type { NatsServerConfigOptions } from './server-config.js';
export type { NatsConnection } from './connect.js';
export {
  asServiceError,
  classifyNatsError,
  TransientJsCodes,
  StorageJsCodes,
  NATS_RETRY_AFTER_MS,
  STORAGE_RETRY_AFTER_MS,
} from './errors.js';
export type { NatsFailure } from './errors.js';
export {
  openCursor,
  scan,
  lastRevision,
  nextRevisionAfter,
  subjectPrefix,
  streamName,
  KV_OPERATION_HEADER,
} from './kv-cursor.js';
export type { RawEntry, CaughtUp, CursorOptions, KvOperation } from './kv-cursor.js';
export { ReadFloor, StaleReadError, reportRefusals } from './read-floor.js';
export type { FloorEntry } from './read-floor.js';
