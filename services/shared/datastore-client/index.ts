// Typed client of the datastore's gRPC API (proto/meshless/v1/datastore.proto).
export { createDatastoreClient } from './client.js';
export type {
  DatastoreClient,
  ResourceObject,
  WatchEvent,
  WatchOptions,
  IpamShow,
  ClientOptions,
  IpamAddress,
  AutoAssignOptions,
} from './client.js';
