// Timer arithmetic of the FSM: jitter (RFC 4271 §10), hold-time negotiation (RFC 4271 §4.2) and
// the idle-hold backoff after errors (RFC 4271 §8.1.1 DampPeerOscillations).

/**
 * RFC 4271 §10: ConnectRetry and Keepalive intervals are multiplied by a random factor in
 * [0.75, 1.0] so that peers do not synchronise. Returns milliseconds.
 */
export function jitter(seconds: number, random: () => number): number {
  return Math.round(seconds * 1000 * (0.75 + 0.25 * random()));
}

/** The outcome of comparing our hold time with the peer's. */
export type HoldTimeResult = { ok: true; holdTime: number; keepaliveTime: number } | { ok: false; reason: string };

/**
 * RFC 4271 §4.2: the session uses the smaller of both hold times; a peer offering 1 or 2 seconds
 * is refused (OPEN error Unacceptable Hold Time); 0 means no keepalives and no hold timer.
 * `configuredKeepalive` caps the keepalive interval (default one third of the hold time, §10);
 * a non-zero peer hold time below `minHoldTime` is refused too.
 */
export function negotiateHoldTime(
  local: number,
  peer: number,
  configuredKeepalive?: number,
  minHoldTime = 0,
): HoldTimeResult {
  if (!Number.isInteger(peer) || peer < 0 || peer > 0xffff)
    return { ok: false, reason: `hold time ${peer} is not a 16-bit value` };
  if (peer === 1 || peer === 2)
    return { ok: false, reason: `peer offered hold time ${peer} s; RFC 4271 §4.2 requires 0 or at least 3` };
  // RFC 4271 §6.2: an implementation may refuse hold times it finds too short (BIRD's `min hold time`).
  if (peer !== 0 && peer < minHoldTime)
    return { ok: false, reason: `peer offered hold time ${peer} s, below the configured minimum ${minHoldTime} s` };
  const holdTime = Math.min(local, peer);
  if (holdTime === 0) return { ok: true, holdTime: 0, keepaliveTime: 0 };
  const third = holdTime / 3;
  const keepaliveTime =
    configuredKeepalive !== undefined && configuredKeepalive > 0 ? Math.min(configuredKeepalive, third) : third;
  return { ok: true, holdTime, keepaliveTime };
}

/** Seconds of idle hold before the `errors`-th consecutive error's restart (errors >= 1). */
export function idleHoldSeconds(errors: number, min: number, max: number): number {
  if (errors <= 1) return Math.min(min, max);
  return Math.min(max, min * 2 ** Math.min(errors - 1, 30));
}
