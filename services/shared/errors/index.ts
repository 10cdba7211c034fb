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
