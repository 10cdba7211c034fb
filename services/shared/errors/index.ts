export {
  MeshlessError,
  InvalidArgumentError,
  NotFoundError,
  AlreadyExistsError,
  ConflictError,
  FailedPreconditionError,
  UnavailableError,
  ResourceExhaustedError,
} from './errors.js';
export type { FieldPath } from './errors.js';
