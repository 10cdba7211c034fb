// The small, flat set of service errors. Every layer throws these (with `cause` when wrapping),
// and exactly one function, `toGrpcStatus`, maps them to gRPC status codes at the API edge.
// Errors are classified by class, never by message text.

export interface FieldPath {
  /** Dotted path of the offending field, e.g. `spec.cidr` or `metadata.name`. */
  readonly field?: string;
}

export class MeshlessError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The request is malformed: a missing or wrong-typed field, an invalid resource. */
export class InvalidArgumentError extends MeshlessError {
  readonly field: string | undefined;
  constructor(message: string, options?: ErrorOptions & FieldPath) {
    super(message, options);
    this.field = options?.field;
  }
}

/** The named object does not exist. */
export class NotFoundError extends MeshlessError {}

/** The object already exists (create of an existing name). */
export class AlreadyExistsError extends MeshlessError {}

/** Optimistic concurrency failed: the stored revision moved since the caller read it. */
export class ConflictError extends MeshlessError {}

/** The request is valid but the system is not in a state to serve it (e.g. pool exhausted). */
export class FailedPreconditionError extends MeshlessError {}

/** A dependency (NATS, a peer) is unreachable; the caller may retry (after `retryAfterMs` when set). */
export class UnavailableError extends MeshlessError {
  /** Suggested wait before retrying, in milliseconds (sent to gRPC clients as a retry hint). */
  readonly retryAfterMs: number | undefined;
  /** What is unavailable, for logs and metrics: `nats`, `storage`, `not-ready`, ... */
  readonly reason: string | undefined;
  constructor(message: string, options?: ErrorOptions & { retryAfterMs?: number; reason?: string }) {
    super(message, options);
    this.retryAfterMs = options?.retryAfterMs;
    this.reason = options?.reason;
  }
}

/** A bounded resource ran out (a queue, a connection limit, a message size). */
export class ResourceExhaustedError extends MeshlessError {}

/** The caller is known but not allowed to do this (its certificate's role or node). */
export class PermissionDeniedError extends MeshlessError {}
