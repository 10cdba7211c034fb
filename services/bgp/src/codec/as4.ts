// RFC 6793 4-octet AS numbers towards and from 2-octet ("OLD") speakers. Sending: AS_PATH with
// AS_TRANS in place of each 4-octet ASN, plus AS4_PATH (without confederation segments) when the
// path has any such ASN; likewise AGGREGATOR / AS4_AGGREGATOR. Receiving: §4.2.3 reconciliation.

import { AS_TRANS, AsPathSegmentType } from './constants.js';
import type { Aggregator, AsPathSegment } from './types.js';

function isConfed(s: AsPathSegment): boolean {
  return s.type === AsPathSegmentType.AsConfedSequence || s.type === AsPathSegmentType.AsConfedSet;
}

/** RFC 4271 §9.1.2.2 / RFC 5065 §5.3: a set counts 1, confederation segments 0. */
export function asPathCount(path: readonly AsPathSegment[]): number {
  let n = 0;
  for (const s of path) {
    if (s.type === AsPathSegmentType.AsSequence) n += s.asns.length;
    else if (s.type === AsPathSegmentType.AsSet) n += 1;
  }
  return n;
}

/** RFC 6793 §4.2.2: whether AS4_PATH must accompany the 2-octet AS_PATH. */
export function needsAs4Path(path: readonly AsPathSegment[]): boolean {
  for (const s of path) {
    if (isConfed(s)) continue;
    for (const a of s.asns) if (a > 0xffff) return true;
  }
  return false;
}

/** RFC 6793 §4.2.2: the AS4_PATH segments (the path without confederation segments). */
export function as4PathSegments(path: readonly AsPathSegment[]): AsPathSegment[] {
  return path.filter((s) => !isConfed(s));
}

/**
 * RFC 6793 §4.2.3: rebuilds the 4-octet path from a 2-octet AS_PATH and AS4_PATH. AS4_PATH is
 * ignored when it counts more ASNs than AS_PATH; otherwise the leading (count(AS_PATH) -
 * count(AS4_PATH)) ASNs of AS_PATH, with the confederation segments that lead or sit among them,
 * are followed by AS4_PATH (a trailing AS_SEQUENCE joined with a leading one).
 */
export function reconcileAsPath(asPath: readonly AsPathSegment[], as4Path: readonly AsPathSegment[]): AsPathSegment[] {
  const total4 = asPathCount(as4Path);
  let keep = asPathCount(asPath) - total4;
  if (keep < 0) return asPath.slice();
  const out: AsPathSegment[] = [];
  let joinable = false;
  for (const s of asPath) {
    if (isConfed(s)) {
      if (keep === 0 && out.some((o) => !isConfed(o))) break;
      out.push(s);
      joinable = false;
      continue;
    }
    if (keep === 0) break;
    if (s.type === AsPathSegmentType.AsSet) {
      out.push(s);
      keep -= 1;
      joinable = false;
    } else {
      const take = Math.min(keep, s.asns.length);
      out.push(take === s.asns.length ? s : { type: s.type, asns: s.asns.slice(0, take) });
      keep -= take;
      joinable = true;
    }
  }
  for (let i = 0; i < as4Path.length; i++) {
    const s = as4Path[i]!;
    const last = out[out.length - 1];
    if (
      i === 0 &&
      joinable &&
      last &&
      s.type === AsPathSegmentType.AsSequence &&
      last.asns.length + s.asns.length <= 255
    ) {
      out[out.length - 1] = { type: AsPathSegmentType.AsSequence, asns: [...last.asns, ...s.asns] };
    } else out.push(s);
  }
  return out;
}

/** RFC 6793 §4.2.3: AS4_AGGREGATOR replaces AGGREGATOR only when AGGREGATOR carries AS_TRANS. */
export function reconcileAggregator(
  aggregator: Aggregator | undefined,
  as4: Aggregator | undefined,
): { aggregator: Aggregator | undefined; useAs4Path: boolean } {
  if (as4 === undefined) return { aggregator, useAs4Path: true };
  if (aggregator === undefined) return { aggregator: undefined, useAs4Path: true };
  // RFC 6793 §4.2.3: AGGREGATOR not AS_TRANS → ignore AS4_AGGREGATOR and AS4_PATH.
  if (aggregator.asn !== AS_TRANS) return { aggregator, useAs4Path: false };
  return { aggregator: as4, useAs4Path: true };
}
