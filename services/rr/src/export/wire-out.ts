// Outbound attributes for an iBGP or client target written straight from an attribute set's
// stored form (rib/attr-set.ts): what `encodeAttributes(outboundAttributes(...))` (rules.ts)
// produces for a 4-octet-AS member when export policy leaves the attributes unchanged, without
// decoding the set. The stored form is in ascending type order, so the attributes the reflector
// adds go in between as the walk passes their place:
//
//   NEXT_HOP (3)        IPv4 only (IPv6 carries its next hop in MP_REACH_NLRI)
//   LOCAL_PREF (5)      DEFAULT_LOCAL_PREF when the set has none (RFC 4271 §5.1.5)
//   ORIGINATOR_ID (9)   RFC 4456 §8: the source's BGP identifier, when reflecting and absent
//   CLUSTER_LIST (10)   RFC 4456 §8: our CLUSTER_ID prepended when reflecting
//
// rules.test.ts checks it against the decoded path on arbitrary sets.

import { AttrType, putU32 } from '../../../bgp/index.js';
import { DEFAULT_LOCAL_PREF } from '../rib/index.js';

const WELL_KNOWN = 0x40;
const OPTIONAL = 0x80;
const EXTENDED_LENGTH = 0x10;

export interface WireOutOptions {
  /** IPv4 next hop as uint32, or -1 for none (IPv6). */
  readonly nextHop4: number;
  readonly addLocalPref: boolean;
  /** Reflecting (source is a client or iBGP peer): ORIGINATOR_ID / CLUSTER_LIST rules apply. */
  readonly reflect: boolean;
  /** ORIGINATOR_ID to add when the set has none (the source's BGP identifier). */
  readonly originatorId: number;
  /** Our CLUSTER_ID as uint32. */
  readonly clusterId: number;
}

function u32Attr(out: Uint8Array, o: number, flags: number, type: number, v: number): number {
  out[o] = flags;
  out[o + 1] = type;
  out[o + 2] = 4;
  return putU32(out, o + 3, v);
}

/** Upper bound of the octets `writeOutbound` adds to a stored form. */
export const WIRE_OUT_EXTRA = 7 + 7 + 7 + 8;

/**
 * Writes the outbound attributes for stored form `src[start, end)` at `out[o]` (room for
 * `end - start + WIRE_OUT_EXTRA` octets); returns the end offset.
 */
export function writeOutbound(
  src: Uint8Array,
  start: number,
  end: number,
  out: Uint8Array,
  o: number,
  w: WireOutOptions,
): number {
  let nextHopDone = w.nextHop4 < 0;
  let localPrefDone = !w.addLocalPref;
  let originatorDone = !w.reflect;
  let clusterDone = !w.reflect;
  /** Writes what the reflector adds with a type below `type`. */
  const before = (type: number): void => {
    if (!nextHopDone && type > AttrType.NextHop) {
      o = u32Attr(out, o, WELL_KNOWN, AttrType.NextHop, w.nextHop4);
      nextHopDone = true;
    }
    if (!localPrefDone && type > AttrType.LocalPref) {
      o = u32Attr(out, o, WELL_KNOWN, AttrType.LocalPref, DEFAULT_LOCAL_PREF);
      localPrefDone = true;
    }
    if (!originatorDone && type > AttrType.OriginatorId) {
      o = u32Attr(out, o, OPTIONAL, AttrType.OriginatorId, w.originatorId);
      originatorDone = true;
    }
    if (!clusterDone && type > AttrType.ClusterList) {
      o = u32Attr(out, o, OPTIONAL, AttrType.ClusterList, w.clusterId);
      clusterDone = true;
    }
  };
  for (let p = start; p < end; ) {
    const hdr = src[p]! & EXTENDED_LENGTH ? 4 : 3;
    const type = src[p + 1]!;
    const len = hdr === 4 ? (src[p + 2]! << 8) | src[p + 3]! : src[p + 2]!;
    const next = p + hdr + len;
    before(type);
    if (type === AttrType.OriginatorId) originatorDone = true;
    if (type === AttrType.ClusterList && !clusterDone) {
      // Our CLUSTER_ID first, then the list as received.
      const n = len + 4;
      const flags = (src[p]! & ~EXTENDED_LENGTH) | (n > 255 ? EXTENDED_LENGTH : 0);
      out[o++] = flags;
      out[o++] = type;
      if (n > 255) out[o++] = n >> 8;
      out[o++] = n & 255;
      o = putU32(out, o, w.clusterId);
      out.set(src.subarray(p + hdr, next), o);
      o += len;
      clusterDone = true;
    } else {
      out.set(src.subarray(p, next), o);
      o += next - p;
    }
    p = next;
  }
  before(256);
  return o;
}
