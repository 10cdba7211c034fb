// The one classification of NATS and JetStream failures, by error class and JetStream API code
// (never by message text), into the service errors every API maps to gRPC statuses.
//
// Transient (the caller may retry, UNAVAILABLE with a retry hint): the connection is closed,
// draining or reconnecting; a request timed out; nobody answered (no responders: JetStream is
// electing a leader or the server serving the API died); the meta or stream group has no leader
// or quorum; the stream is offline. Storage (also UNAVAILABLE, but named as such so that logs and
// metrics say "disk full" instead of "timeout"): JetStream ran out of store or failed to write.
// Everything else passes through (INTERNAL at the edge).
import { JetStreamApiError, JetStreamError } from '@nats-io/jetstream';
// The public entry point exports neither class; they are what JetStream requests throw.
import { jserrors, JetStreamStatusError } from '@nats-io/jetstream/internal';
import {
  ClosedConnectionError,
  ConnectionError,
  DrainingConnectionError,
  NoRespondersError,
  RequestError,
  TimeoutError,
} from '@nats-io/transport-node';
import { MeshlessError, UnavailableError } from '../errors/index.js';

/** JetStream API error codes (nats-server server/errors.json) that a retry may clear. */
export const TransientJsCodes = {
  ClusterIncomplete: 10004,
  ClusterNoPeers: 10005,
  ClusterNotAssigned: 10007,
  /** JetStream system temporarily unavailable: the meta group has no leader. */
  ClusterNotAvail: 10008,
  ClusterNotLeader: 10009,
  ClusterPeerNotMember: 10040,
  StreamOffline: 10118,
} as const;

/** JetStream API error codes that mean the store is full or failing. */
export const StorageJsCodes = {
  AccountResourcesExceeded: 10002,
  InsufficientResources: 10023,
  MemoryResourcesExceeded: 10028,
  StorageResourcesExceeded: 10047,
  StreamStoreFailed: 10077,
} as const;

const TRANSIENT = new Set<number>(Object.values(TransientJsCodes));
const STORAGE = new Set<number>(Object.values(StorageJsCodes));

/** HTTP-style status JetStream puts on an API error or a status message: 503 = try again. */
const STATUS_UNAVAILABLE = 503;
const STATUS_TIMEOUT = 408;

export type NatsFailure = 'transient' | 'storage';

/** What kind of NATS failure `err` is (following `cause`), or undefined for anything else. */
export function classifyNatsError(err: unknown): NatsFailure | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    if (e instanceof JetStreamApiError) {
      if (STORAGE.has(e.code)) return 'storage';
      if (TRANSIENT.has(e.code) || e.status === STATUS_UNAVAILABLE) return 'transient';
      return undefined;
    }
    if (e instanceof JetStreamStatusError)
      return e.code === STATUS_UNAVAILABLE || e.code === STATUS_TIMEOUT ? 'transient' : undefined;
    if (
      e instanceof TimeoutError ||
      e instanceof NoRespondersError ||
      e instanceof RequestError ||
      e instanceof ClosedConnectionError ||
      e instanceof DrainingConnectionError ||
      e instanceof ConnectionError ||
      // nats.js reports "no responders" on the JetStream API as JetStream not being enabled: in a
      // cluster that is the window where no server answers the API (an election, a restart).
      e instanceof jserrors.JetStreamNotEnabled
    ) {
      return 'transient';
    }
    if (e instanceof JetStreamError) return undefined;
  }
  return undefined;
}

/** How long a client should wait before retrying a transient failure (the gRPC retry hint). */
export const NATS_RETRY_AFTER_MS = 250;
export const STORAGE_RETRY_AFTER_MS = 2000;

/**
 * NATS being unreachable, electing, slow or out of storage becomes UnavailableError (with a retry
 * hint, and `storage` set for a full or failing store); service errors and anything else pass
 * through unchanged.
 */
export function asServiceError(err: unknown, what: string): unknown {
  if (err instanceof MeshlessError) return err;
  const kind = classifyNatsError(err);
  if (kind === 'storage') {
    return new UnavailableError(`${what}: NATS JetStream storage is full or failing (${(err as Error).message})`, {
      cause: err,
      retryAfterMs: STORAGE_RETRY_AFTER_MS,
      reason: 'storage',
    });
  }
  if (kind === 'transient') {
    return new UnavailableError(`${what}: NATS is unavailable (${(err as Error).message})`, {
      cause: err,
      retryAfterMs: NATS_RETRY_AFTER_MS,
      reason: 'nats',
    });
  }
  return err;
}
