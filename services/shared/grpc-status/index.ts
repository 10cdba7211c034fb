// Service errors (services/shared/errors) to gRPC statuses and back, in one place. Kept apart from
// the error classes so that code which only throws or tests them (the CLI's commands, the
// resource model) does not load grpc-js.
export { toGrpcStatus, fromGrpcError, FIELD_METADATA_KEY, RETRY_AFTER_METADATA_KEY } from './grpc-status.js';
export type { GrpcStatus } from './grpc-status.js';
