// Path attribute encoding: the length is computed first, then everything is written in place into
// one buffer (no intermediate arrays). Attributes go out in ascending type order (RFC 4271 §5),
// unknown optional transitive ones interleaved by type with the Partial bit set (RFC 4271 §5).
// Towards a 2-octet peer the AS path and aggregator take the RFC 6793 §4.2.2 form.

import { InvalidArgumentError } from '../../../shared/errors/index.js';
import { parseIpv4 } from './address.js';
import { EXPECTED_FLAGS, attrFlags } from './attribute-names.js';
import { as4PathSegments, needsAs4Path } from './as4.js';
import { AS_TRANS, AsPathSegmentType, AttrFlag, AttrType } from './constants.js';
import type { AsPathSegment, CodecOptions, PathAttributes, UnknownAttribute } from './types.js';

const MAX_SEGMENT_ASNS = 255;

function bad(field: string, why: string): never {
  throw new InvalidArgumentError(`attributes.${field}: ${why}`, { field: `attributes.${field}` });
}

function checkU32(field: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) bad(field, `${v} is not a 32-bit unsigned integer`);
}

function header(valueLength: number): number {
  return valueLength > 255 ? 4 : 3;
}

/** Value length of an AS path; segments longer than 255 ASNs are split (RFC 4271 §4.3). */
export function asPathValueLength(path: readonly AsPathSegment[], asnSize: 2 | 4, field: string): number {
  let n = 0;
  for (let i = 0; i < path.length; i++) {
    const s = path[i]!;
    if (s.type < AsPathSegmentType.AsSet || s.type > AsPathSegmentType.AsConfedSet)
      bad(`${field}[${i}].type`, `${s.type} is not a segment type 1..4`);
    if (s.asns.length === 0) bad(`${field}[${i}].asns`, 'a segment needs at least one ASN (RFC 7606 §7.2)');
    if (s.type === AsPathSegmentType.AsSet || s.type === AsPathSegmentType.AsConfedSet) {
      if (s.asns.length > MAX_SEGMENT_ASNS) bad(`${field}[${i}].asns`, `a set holds at most ${MAX_SEGMENT_ASNS} ASNs`);
    }
    for (const a of s.asns) checkU32(`${field}[${i}].asns`, a);
    n += 2 * Math.ceil(s.asns.length / MAX_SEGMENT_ASNS) + asnSize * s.asns.length;
  }
  return n;
}

function writeAsPathValue(out: Uint8Array, o: number, path: readonly AsPathSegment[], asnSize: 2 | 4): number {
  for (const s of path) {
    for (let from = 0; from < s.asns.length; from += MAX_SEGMENT_ASNS) {
      const to = Math.min(s.asns.length, from + MAX_SEGMENT_ASNS);
      out[o++] = s.type;
      out[o++] = to - from;
      for (let i = from; i < to; i++) {
        const a = s.asns[i]!;
        if (asnSize === 4) {
          out[o++] = a >>> 24;
          out[o++] = (a >>> 16) & 255;
          out[o++] = (a >>> 8) & 255;
          out[o++] = a & 255;
        } else {
          const a2 = a > 0xffff ? AS_TRANS : a;
          out[o++] = a2 >> 8;
          out[o++] = a2 & 255;
        }
      }
    }
  }
  return o;
}

function unknownSorted(u: readonly UnknownAttribute[]): readonly UnknownAttribute[] {
  for (let i = 1; i < u.length; i++) if (u[i - 1]!.type > u[i]!.type) return [...u].sort((a, b) => a.type - b.type);
  return u;
}

function checkUnknown(u: readonly UnknownAttribute[]): void {
  const seen = new Set<number>();
  u.forEach((a, i) => {
    if (!Number.isInteger(a.type) || a.type < 0 || a.type > 255) bad(`unknown[${i}].type`, `${a.type} is not an octet`);
    if (EXPECTED_FLAGS[a.type] !== undefined) bad(`unknown[${i}].type`, `${a.type} is a known attribute; set its field instead`);
    if (a.type === AttrType.MpReachNlri || a.type === AttrType.MpUnreachNlri) bad(`unknown[${i}].type`, `${a.type} is MP_REACH/MP_UNREACH`);
    if ((a.flags & (AttrFlag.Optional | AttrFlag.Transitive)) !== (AttrFlag.Optional | AttrFlag.Transitive)) {
      bad(`unknown[${i}].flags`, `0x${a.flags.toString(16)} is not optional transitive (only those are propagated, RFC 4271 §5)`);
    }
    if (a.value.length > 0xffff) bad(`unknown[${i}].value`, `${a.value.length} octets exceed 65535`);
    if (seen.has(a.type)) bad(`unknown[${i}].type`, `${a.type} appears twice`);
    seen.add(a.type);
  });
}

/** Octets `writeAttributes` will write for `a` (validating it). */
export function attributesLength(a: PathAttributes, opts: CodecOptions): number {
  const asnSize = opts.fourOctetAs ? 4 : 2;
  let n = 0;
  const add = (valueLength: number): void => {
    if (valueLength > 0xffff) bad('length', `an attribute value of ${valueLength} octets exceeds 65535`);
    n += header(valueLength) + valueLength;
  };
  if (a.origin !== 0 && a.origin !== 1 && a.origin !== 2) bad('origin', `${String(a.origin)} is not 0, 1 or 2`);
  add(1);
  add(asPathValueLength(a.asPath, asnSize, 'asPath'));
  if (a.nextHop !== undefined) add(4);
  if (a.med !== undefined) {
    checkU32('med', a.med);
    add(4);
  }
  if (a.localPref !== undefined) {
    checkU32('localPref', a.localPref);
    add(4);
  }
  if (a.atomicAggregate) add(0);
  if (a.aggregator !== undefined) {
    checkU32('aggregator.asn', a.aggregator.asn);
    add(asnSize + 4);
    if (asnSize === 2 && a.aggregator.asn > 0xffff) add(8);
  }
  if (a.communities !== undefined && a.communities.length > 0) {
    for (const c of a.communities) checkU32('communities', c);
    add(4 * a.communities.length);
  }
  if (a.originatorId !== undefined) add(4);
  if (a.clusterList !== undefined && a.clusterList.length > 0) add(4 * a.clusterList.length);
  if (a.extendedCommunities !== undefined && a.extendedCommunities.length > 0) {
    a.extendedCommunities.forEach((e, i) => {
      if (e.length !== 8) bad(`extendedCommunities[${i}]`, `${e.length} octets, expected 8`);
    });
    add(8 * a.extendedCommunities.length);
  }
  if (asnSize === 2 && needsAs4Path(a.asPath)) add(asPathValueLength(as4PathSegments(a.asPath), 4, 'asPath'));
  if (a.largeCommunities !== undefined && a.largeCommunities.length > 0) {
    a.largeCommunities.forEach((l, i) => {
      checkU32(`largeCommunities[${i}].globalAdmin`, l.globalAdmin);
      checkU32(`largeCommunities[${i}].localData1`, l.localData1);
      checkU32(`largeCommunities[${i}].localData2`, l.localData2);
    });
    add(12 * a.largeCommunities.length);
  }
  checkUnknown(a.unknown);
  for (const u of a.unknown) add(u.value.length);
  return n;
}

/** Writes the attributes at `off` (after `attributesLength` validated them); returns the end offset. */
export function writeAttributes(out: Uint8Array, off: number, a: PathAttributes, opts: CodecOptions): number {
  const asnSize = opts.fourOctetAs ? 4 : 2;
  const unknown = unknownSorted(a.unknown);
  let ui = 0;
  let o = off;
  const flushUnknown = (beforeType: number): void => {
    while (ui < unknown.length && unknown[ui]!.type < beforeType) {
      const u = unknown[ui++]!;
      o = head(((u.flags & 0xe0) | AttrFlag.Partial) & ~AttrFlag.ExtendedLength, u.type, u.value.length);
      out.set(u.value, o);
      o += u.value.length;
    }
  };
  const head = (base: number, type: number, len: number): number => {
    flushUnknown(type);
    out[o++] = attrFlags(base, len);
    out[o++] = type;
    if (len > 255) out[o++] = len >> 8;
    out[o++] = len & 255;
    return o;
  };
  const u32 = (v: number): void => {
    out[o++] = v >>> 24;
    out[o++] = (v >>> 16) & 255;
    out[o++] = (v >>> 8) & 255;
    out[o++] = v & 255;
  };
  const ipv4 = (text: string, field: string): void => {
    parseIpv4(text, `attributes.${field}`, out, o);
    o += 4;
  };
  const wk = EXPECTED_FLAGS;
  o = head(wk[AttrType.Origin]!, AttrType.Origin, 1);
  out[o++] = a.origin;
  o = head(wk[AttrType.AsPath]!, AttrType.AsPath, asPathValueLength(a.asPath, asnSize, 'asPath'));
  o = writeAsPathValue(out, o, a.asPath, asnSize);
  if (a.nextHop !== undefined) {
    o = head(wk[AttrType.NextHop]!, AttrType.NextHop, 4);
    ipv4(a.nextHop, 'nextHop');
  }
  if (a.med !== undefined) {
    o = head(wk[AttrType.MultiExitDisc]!, AttrType.MultiExitDisc, 4);
    u32(a.med);
  }
  if (a.localPref !== undefined) {
    o = head(wk[AttrType.LocalPref]!, AttrType.LocalPref, 4);
    u32(a.localPref);
  }
  if (a.atomicAggregate) o = head(wk[AttrType.AtomicAggregate]!, AttrType.AtomicAggregate, 0);
  if (a.aggregator !== undefined) {
    o = head(wk[AttrType.Aggregator]!, AttrType.Aggregator, asnSize + 4);
    if (asnSize === 4) u32(a.aggregator.asn);
    else {
      const a2 = a.aggregator.asn > 0xffff ? AS_TRANS : a.aggregator.asn;
      out[o++] = a2 >> 8;
      out[o++] = a2 & 255;
    }
    ipv4(a.aggregator.address, 'aggregator.address');
  }
  if (a.communities !== undefined && a.communities.length > 0) {
    o = head(wk[AttrType.Communities]!, AttrType.Communities, 4 * a.communities.length);
    for (const c of a.communities) u32(c);
  }
  if (a.originatorId !== undefined) {
    o = head(wk[AttrType.OriginatorId]!, AttrType.OriginatorId, 4);
    ipv4(a.originatorId, 'originatorId');
  }
  if (a.clusterList !== undefined && a.clusterList.length > 0) {
    o = head(wk[AttrType.ClusterList]!, AttrType.ClusterList, 4 * a.clusterList.length);
    for (const id of a.clusterList) ipv4(id, 'clusterList');
  }
  if (a.extendedCommunities !== undefined && a.extendedCommunities.length > 0) {
    o = head(wk[AttrType.ExtendedCommunities]!, AttrType.ExtendedCommunities, 8 * a.extendedCommunities.length);
    for (const e of a.extendedCommunities) {
      out.set(e, o);
      o += 8;
    }
  }
  if (asnSize === 2 && needsAs4Path(a.asPath)) {
    const as4 = as4PathSegments(a.asPath);
    o = head(wk[AttrType.As4Path]!, AttrType.As4Path, asPathValueLength(as4, 4, 'asPath'));
    o = writeAsPathValue(out, o, as4, 4);
  }
  if (asnSize === 2 && a.aggregator !== undefined && a.aggregator.asn > 0xffff) {
    o = head(wk[AttrType.As4Aggregator]!, AttrType.As4Aggregator, 8);
    u32(a.aggregator.asn);
    ipv4(a.aggregator.address, 'aggregator.address');
  }
  if (a.largeCommunities !== undefined && a.largeCommunities.length > 0) {
    o = head(wk[AttrType.LargeCommunities]!, AttrType.LargeCommunities, 12 * a.largeCommunities.length);
    for (const l of a.largeCommunities) {
      u32(l.globalAdmin);
      u32(l.localData1);
      u32(l.localData2);
    }
  }
  flushUnknown(256);
  return o;
}
