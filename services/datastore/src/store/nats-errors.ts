// NATS and JetStream failures, classified by class and API code (never by message text), as the
// service errors the API maps to gRPC statuses.
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { ClosedConnectionError, ConnectionError, DrainingConnectionError, NoRespondersError, RequestError, TimeoutError } from '@nats-io/transport-node';
import { MeshlessError, UnavailableError } from '../../../shared/errors/index.js';

/** True when a JetStream publish failed its expected-last-subject-sequence check (compare-and-set). */
export function isWrongLastSequence(err: unknown): boolean {
  return (
    err instanceof JetStreamApiError &&
    (err.code === JetStreamApiCodes.StreamWrongLastSequence || err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}

/** NATS being unreachable or slow becomes UnavailableError; service errors pass through. */
export function asServiceError(err: unknown, what: string): unknown {
  if (err instanceof MeshlessError) return err;
  if (
    err instanceof TimeoutError ||
    err instanceof NoRespondersError ||
    err instanceof RequestError ||
    err instanceof ClosedConnectionError ||
    err instanceof DrainingConnectionError ||
    err instanceof ConnectionError
  ) {
    return new UnavailableError(`${what}: NATS is unavailable (${(err as Error).message})`, { cause: err });
  }
  return err;
}
