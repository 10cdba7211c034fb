// The gRPC method with identity serializers: requests arrive as bytes (decoded by the handler,
// so garbage gets a clear INVALID_ARGUMENT instead of grpc-js's generic INTERNAL) and responses
// leave as the ready-encoded Buffers the fan-out shares between streams.
import type { ServiceDefinition } from '@grpc/grpc-js';
import { SyncServiceService } from '../../../../proto/gen/meshless/v1/sync.js';

const identity = (b: Buffer): Buffer => b;

export const RAW_SYNC_SERVICE: ServiceDefinition = {
  sync: {
    path: SyncServiceService.sync.path,
    requestStream: true,
    responseStream: true,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
    originalName: 'sync',
  },
};
