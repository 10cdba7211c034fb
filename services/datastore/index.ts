// The datastore service: the gRPC API (proto/meshless/v1/datastore.proto) over the JetStream KV
// bucket of resources, with tombstone compaction and IPAM block allocation. See DESIGN.md.
export { datastoreConfig, runDatastore } from './src/run.js';
export type { DatastoreConfig, DatastoreHandle } from './src/run.js';
