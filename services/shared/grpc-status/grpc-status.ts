import { status, Metadata, type ServiceError } from '@grpc/grpc-js';
import {
  AlreadyExistsError,
  ConflictError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  ResourceExhaustedError,
  UnavailableError,
} from '../errors/index.js';

export interface GrpcStatus {
  code: status;
  details: string;
  metadata: Metadata;
}

/** Header carrying the offending field of an INVALID_ARGUMENT, for clients that want it typed. */
export const FIELD_METADATA_KEY = 'meshless-field';
/** Header of an UNAVAILABLE status: milliseconds the client should wait before retrying. */
export const RETRY_AFTER_METADATA_KEY = 'meshless-retry-after-ms';

/** The one place where service errors become gRPC statuses. Unknown errors are INTERNAL. */
export function toGrpcStatus(err: unknown): GrpcStatus {
  const metadata = new Metadata();
  const details = err instanceof Error ? err.message : String(err);
  let code: status = status.INTERNAL;
  if (err instanceof InvalidArgumentError) {
    code = status.INVALID_ARGUMENT;
    if (err.field) metadata.set(FIELD_METADATA_KEY, err.field);
  } else if (err instanceof NotFoundError) code = status.NOT_FOUND;
  else if (err instanceof AlreadyExistsError) code = status.ALREADY_EXISTS;
  else if (err instanceof ConflictError) code = status.ABORTED;
  else if (err instanceof FailedPreconditionError) code = status.FAILED_PRECONDITION;
  else if (err instanceof UnavailableError) {
    code = status.UNAVAILABLE;
    if (err.retryAfterMs !== undefined) metadata.set(RETRY_AFTER_METADATA_KEY, String(err.retryAfterMs));
  } else if (err instanceof ResourceExhaustedError) code = status.RESOURCE_EXHAUSTED;
  else if (err instanceof PermissionDeniedError) code = status.PERMISSION_DENIED;
  return { code, details, metadata };
}

/** The inverse, for clients: a gRPC error back into the matching service error class. */
export function fromGrpcError(err: unknown): Error {
  const e = err as Partial<ServiceError>;
  if (typeof e?.code !== 'number') return err instanceof Error ? err : new Error(String(err));
  const message = e.details || e.message || 'unknown error';
  const options = { cause: err };
  switch (e.code) {
    case status.INVALID_ARGUMENT: {
      const field = e.metadata?.get(FIELD_METADATA_KEY)[0];
      return new InvalidArgumentError(message, { ...options, field: field === undefined ? undefined : String(field) });
    }
    case status.NOT_FOUND:
      return new NotFoundError(message, options);
    case status.ALREADY_EXISTS:
      return new AlreadyExistsError(message, options);
    case status.ABORTED:
      return new ConflictError(message, options);
    case status.FAILED_PRECONDITION:
      return new FailedPreconditionError(message, options);
    case status.UNAVAILABLE: {
      const after = Number(e.metadata?.get(RETRY_AFTER_METADATA_KEY)[0]);
      return new UnavailableError(message, {
        ...options,
        retryAfterMs: Number.isFinite(after) && after >= 0 ? after : undefined,
      });
    }
    case status.RESOURCE_EXHAUSTED:
      return new ResourceExhaustedError(message, options);
    case status.PERMISSION_DENIED:
      return new PermissionDeniedError(message, options);
    default:
      return new Error(message, options);
  }
}
