// The datastore service: the gRPC API (proto/meshless/v1/datastore.proto) over the JetStream KV
// bucket of resources, with tombstone compaction and IPAM block allocation. See DESIGN.md.
export { datastoreConfig, runDatastore } from './src/run.js';
export type { DatastoreConfig, DatastoreHandle } from './src/run.js';
// The store over the KV bucket (validation, revisions, tombstones) without the gRPC API, for tools
// that write the bucket in-process: the chaos suite.
export { ResourceStore } from './src/store/index.js';
