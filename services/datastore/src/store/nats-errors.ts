// JetStream failures the store handles itself (compare-and-set), and the bounded retry of
// transient ones. Classification lives in shared/nats (classifyNatsError, asServiceError).
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { UnavailableError } from '../../../shared/errors/index.js';
import { asServiceError, classifyNatsError } from '../../../shared/nats/index.js';

export { asServiceError };

/** True when a JetStream publish failed its expected-last-subject-sequence check (compare-and-set). */
export function isWrongLastSequence(err: unknown): boolean {
  return (
    err instanceof JetStreamApiError &&
    (err.code === JetStreamApiCodes.StreamWrongLastSequence ||
      err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}

export interface RetryBudget {
  /** Give up (rethrow the last error) once this much time has passed since the first attempt. */
  readonly totalMs: number;
  /** First pause between attempts; doubles up to `maxDelayMs`. */
  readonly firstDelayMs: number;
  readonly maxDelayMs: number;
}

/**
 * One key read or write: each attempt has a short timeout (the caller's), and a transient failure
 * (a NATS blip, a leader election) is retried with bounded backoff within the budget. A leader
 * election in a 3-node cluster takes 2-5 s, so the budget covers it instead of failing the request.
 * (Rejected: one long timeout per request, the old fixed 5 s: a request sent to a server that just
 * died waited it out whole even though the cluster answered again after a second.)
 */
export const KEY_OP_BUDGET: RetryBudget = { totalMs: 12_000, firstDelayMs: 25, maxDelayMs: 250 };

export async function withRetry<T>(attempt: () => Promise<T>, budget: RetryBudget = KEY_OP_BUDGET): Promise<T> {
  const start = Date.now();
  let delay = budget.firstDelayMs;
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      // Ours too: a stale answer refused (shared/nats read-floor.ts), a cursor that found no consumer on the leader.
      const transient = classifyNatsError(err) === 'transient' || err instanceof UnavailableError;
      if (!transient || Date.now() - start + delay > budget.totalMs) throw err;
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, budget.maxDelayMs);
  }
}
