export {
  MeshlessError,
  InvalidArgumentError,
  NotFoundError,
  AlreadyExistsError,
  ConflictError,
  FailedPreconditionError,
  UnavailableError,
  ResourceExhaustedError,
  PermissionDeniedError,
} from './errors.js';
export type { FieldPath } from './errors.js';
export { toGrpcStatus, fromGrpcError, FIELD_METADATA_KEY } from './grpc-status.js';
export type { GrpcStatus } from './grpc-status.js';
