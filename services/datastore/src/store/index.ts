export { ResourceStore, servedDocument } from './resource-store.js';
export type { ResourceDocument, StoredResource, StoreEvent, StoreOptions } from './resource-store.js';
export { Compactor } from './compactor.js';
export type { CompactionResult } from './compactor.js';
export { KvProbe } from './probe.js';
