// MP_REACH_NLRI and MP_UNREACH_NLRI values (RFC 4760 §3, §4): the decode hooks of their rows in
// attributes.ts. Their errors name the family (RFC 7606 §7.11: AFI/SAFI disable), or reset the
// session when the family cannot be read.

import { ipv4ToString, ipv6ToString } from './address.js';
import type { DecodeContext } from './attributes.js';
import { Afi, Safi, UpdateMessageSubcode, type AfiCode } from './constants.js';
import { addPathFor } from './negotiate.js';
import { decodePrefixes } from './nlri.js';
import type { Prefix } from './types.js';

function isSupportedFamily(afi: number, safi: number): boolean {
  return (afi === Afi.Ipv4 || afi === Afi.Ipv6) && (safi === Safi.Unicast || safi === Safi.Multicast);
}

/** RFC 4760 §3 / RFC 2545 §3 / RFC 8950: next hop of `len` octets for `afi`, or undefined. */
function decodeMpNextHop(
  v: Uint8Array,
  o: number,
  len: number,
  afi: number,
): { nextHop: string; linkLocalNextHop?: string } | undefined {
  if (len === 4 && afi === Afi.Ipv4) return { nextHop: ipv4ToString(v, o) };
  if (len === 16) return { nextHop: ipv6ToString(v, o) };
  if (len === 32) return { nextHop: ipv6ToString(v, o), linkLocalNextHop: ipv6ToString(v, o + 16) };
  return undefined;
}

export function decodeMpReach(v: Uint8Array, c: DecodeContext): void {
  const { attr, opts, r } = c;
  const fail = c.fail;
  const sub = UpdateMessageSubcode.OptionalAttributeError;
  // RFC 7606 §7.11: malformed MP_REACH → AFI/SAFI disable, or session reset when the family is unknowable.
  if (v.length < 3) {
    fail(`MP_REACH_NLRI: length ${v.length} is too short for AFI and SAFI`, sub, 'session-reset', attr);
    return;
  }
  const afi = (v[0]! << 8) | v[1]!;
  const safi = v[2]!;
  // RFC 4760 §7 (and BIRD/GoBGP practice): a family we do not handle is ignored.
  if (!isSupportedFamily(afi, safi)) {
    fail(`MP_REACH_NLRI: AFI ${afi} SAFI ${safi} is not supported; attribute ignored`, sub, 'attribute-discard', attr);
    return;
  }
  const nhLen = v[3];
  if (nhLen === undefined || 4 + nhLen + 1 > v.length) {
    fail(
      `MP_REACH_NLRI: next hop length ${nhLen ?? 'missing'} and the reserved octet overrun the ${v.length}-octet attribute`,
      sub,
      'afisafi-disable',
      attr,
      afi,
      safi,
    );
    return;
  }
  const nh = decodeMpNextHop(v, 4, nhLen, afi);
  if (nh === undefined) {
    fail(`MP_REACH_NLRI: next hop length ${nhLen} is invalid for AFI ${afi}`, sub, 'afisafi-disable', attr, afi, safi);
    return;
  }
  const nlri: Prefix[] = [];
  const pfxAfi = afi === Afi.Ipv4 ? 4 : 6;
  const err = decodePrefixes(v, 4 + nhLen + 1, v.length, pfxAfi, addPathFor(opts, afi, safi, 'receive'), nlri);
  if (err !== undefined) {
    fail(`MP_REACH_NLRI (AFI ${afi} SAFI ${safi}) NLRI: ${err}`, sub, 'afisafi-disable', attr, afi, safi);
    return;
  }
  r.mpReach = { afi: afi as AfiCode, safi, ...nh, nlri };
}

export function decodeMpUnreach(v: Uint8Array, c: DecodeContext): void {
  const { attr, opts, r } = c;
  const fail = c.fail;
  const sub = UpdateMessageSubcode.OptionalAttributeError;
  if (v.length < 3) {
    fail(`MP_UNREACH_NLRI: length ${v.length} is too short for AFI and SAFI`, sub, 'session-reset', attr);
    return;
  }
  const afi = (v[0]! << 8) | v[1]!;
  const safi = v[2]!;
  if (!isSupportedFamily(afi, safi)) {
    fail(
      `MP_UNREACH_NLRI: AFI ${afi} SAFI ${safi} is not supported; attribute ignored`,
      sub,
      'attribute-discard',
      attr,
    );
    return;
  }
  const withdrawn: Prefix[] = [];
  const err = decodePrefixes(
    v,
    3,
    v.length,
    afi === Afi.Ipv4 ? 4 : 6,
    addPathFor(opts, afi, safi, 'receive'),
    withdrawn,
  );
  if (err !== undefined) {
    fail(`MP_UNREACH_NLRI (AFI ${afi} SAFI ${safi}) withdrawn: ${err}`, sub, 'afisafi-disable', attr, afi, safi);
    return;
  }
  r.mpUnreach = { afi: afi as AfiCode, safi, withdrawn };
}
