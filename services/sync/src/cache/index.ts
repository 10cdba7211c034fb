export { Cache } from './cache.js';
export type { CacheEntry, RawChange, Change } from './cache.js';
export { KvSource } from './kv-source.js';
export type { KvSourceOptions, StreamIdentity } from './kv-source.js';
export { CachePersistence } from './persist.js';
export type { PersistedCache } from './persist.js';
export { readCompactedRevision } from './compaction.js';
export { reconcile } from './reconcile.js';
export type { Reconciliation } from './reconcile.js';
