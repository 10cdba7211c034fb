/**
 * Exponential backoff with jitter for the n-th consecutive failure (n from 0): half of
 * min(max, initial * 2^n) plus a random part up to the other half, so agents that lost the same
 * server spread their retries instead of arriving together ("equal jitter").
 */
export function nextBackoff(
  attempt: number,
  initialMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** Reconnects per second one surviving sync server is assumed to take (see reconnectSpread). */
export const RESUMES_PER_SECOND = 5000;

/**
 * The same over a warm standby session (standby.ts): no TCP accept, no TLS or HTTP/2 set-up, so
 * no accept queue to protect and half the survivor's CPU per orphan; the spread only paces
 * streams on sessions that are already up (loadtest/RESULTS.md, "Warm standby in SyncAgent").
 */
export const WARM_RESUMES_PER_SECOND = 20_000;

/**
 * The window over which the agents that lost the same in-sync server spread their reconnects,
 * from the number of agents (the cluster's Nodes: one agent per node) and of sync servers: the
 * dead server held about agents / servers of them, and the others take them at about
 * `perSecond` each. So 10 agents come back within a few milliseconds and 10,000 over about a
 * second, instead of every cluster waiting the same fixed second. Bounded by [minMs, maxMs].
 */
export function reconnectSpread(
  agents: number,
  servers: number,
  perSecond = RESUMES_PER_SECOND,
  minMs = 20,
  maxMs = 10_000,
): number {
  const orphans = agents / Math.max(1, servers);
  const survivors = Math.max(1, servers - 1);
  return Math.round(Math.min(maxMs, Math.max(minMs, (orphans / (survivors * perSecond)) * 1000)));
}

/**
 * Where an agent goes after losing a session that was in sync: a random one of the other
 * endpoints. Every agent of a dead server loses it at the same moment and they share one
 * endpoint list, so "the next one in the list" would send all of them to the same survivor (with
 * three servers, one survivor takes every orphan while the other takes none, and
 * `reconnectSpread`, which assumes the orphans spread over all survivors, is half as wide as that
 * survivor needs). Returns `lost` only when it is the one endpoint there is; a `lost` that is not
 * in the list (a server a Reconnect named) leaves all of them to choose from.
 */
export function failoverIndex(count: number, lost: number, random: () => number = Math.random): number {
  if (count <= 1) return 0;
  if (!Number.isInteger(lost) || lost < 0 || lost >= count) return Math.min(count - 1, Math.floor(random() * count));
  const pick = Math.min(count - 2, Math.floor(random() * (count - 1)));
  return pick >= lost ? pick + 1 : pick;
}
