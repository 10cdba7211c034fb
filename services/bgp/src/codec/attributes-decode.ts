// Path attribute decoding (RFC 4271 §4.3, §5) with RFC 7606 revised error handling: every
// attribute is parsed even after an error, each error is classified, and the strongest one is
// kept (session-reset > afisafi-disable > treat-as-withdraw > attribute-discard). Malformed
// attributes whose handling is attribute-discard are dropped; the rest of the UPDATE stands.

import { copyBytes } from './bytes.js';
import { ipv4ToString, ipv6ToString } from './address.js';
import { ATTR_NAMES, EXPECTED_FLAGS, attrName } from './attribute-names.js';
import {
  Afi,
  AsPathSegmentType,
  AttrFlag,
  AttrType,
  ErrorCode,
  Safi,
  UpdateMessageSubcode,
  type AfiCode,
  type AsPathSegmentTypeCode,
  type OriginCode,
} from './constants.js';
import { BgpMessageError, strongerError, type ErrorHandling } from './errors.js';
import { addPathFor } from './negotiate.js';
import { decodePrefixes } from './nlri.js';
import type { Aggregator, AsPathSegment, CodecOptions, LargeCommunity, MpReach, MpUnreach, Prefix, UnknownAttribute } from './types.js';

/** Everything the attribute section held, before the UPDATE-level checks. */
export interface DecodedAttributes {
  origin?: OriginCode;
  asPath?: AsPathSegment[];
  nextHop?: string;
  med?: number;
  localPref?: number;
  atomicAggregate: boolean;
  aggregator?: Aggregator;
  communities?: number[];
  extendedCommunities?: Uint8Array[];
  largeCommunities?: LargeCommunity[];
  originatorId?: string;
  clusterList?: string[];
  unknown: UnknownAttribute[];
  as4Path?: AsPathSegment[];
  as4Aggregator?: Aggregator;
  mpReach?: MpReach;
  mpUnreach?: MpUnreach;
  /** ORIGIN / AS_PATH / NEXT_HOP appeared (even if malformed): "missing" means absent. */
  sawOrigin: boolean;
  sawAsPath: boolean;
  sawNextHop: boolean;
  error?: BgpMessageError;
}

/** Per-decode "seen" marks without allocating: a slot equals `epoch` when the type was seen. */
const seen = new Uint32Array(256);
let epoch = 0;

/** RFC 7606 §7: how a malformed instance of each attribute is handled. */
const MALFORMED_HANDLING: Readonly<Record<number, ErrorHandling>> = {
  [AttrType.Origin]: 'treat-as-withdraw', // §7.1
  [AttrType.AsPath]: 'treat-as-withdraw', // §7.2
  [AttrType.NextHop]: 'treat-as-withdraw', // §7.3
  [AttrType.MultiExitDisc]: 'treat-as-withdraw', // §7.4
  [AttrType.LocalPref]: 'treat-as-withdraw', // §7.5
  [AttrType.AtomicAggregate]: 'attribute-discard', // §7.6
  [AttrType.Aggregator]: 'attribute-discard', // §7.7
  [AttrType.Communities]: 'treat-as-withdraw', // §7.8
  [AttrType.OriginatorId]: 'treat-as-withdraw', // §7.9
  [AttrType.ClusterList]: 'treat-as-withdraw', // §7.10
  [AttrType.MpReachNlri]: 'afisafi-disable', // §7.11
  [AttrType.MpUnreachNlri]: 'afisafi-disable', // §7.11
  [AttrType.ExtendedCommunities]: 'treat-as-withdraw', // §7.14
  [AttrType.As4Path]: 'attribute-discard', // RFC 6793 §6
  [AttrType.As4Aggregator]: 'attribute-discard', // RFC 6793 §6
  [AttrType.LargeCommunities]: 'treat-as-withdraw', // RFC 8092 §6
};

function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

/** Decodes AS_PATH / AS4_PATH segments; returns a description of the first error instead. */
export function decodeAsPath(v: Uint8Array, asnSize: 2 | 4, name: string): AsPathSegment[] | string {
  const segs: AsPathSegment[] = [];
  let o = 0;
  while (o < v.length) {
    const n = segs.length + 1;
    if (v.length - o < 2) return `${name} segment ${n} header needs 2 octets but ${v.length - o} remain`;
    const type = v[o]!;
    const count = v[o + 1]!;
    // RFC 4271 §4.3 / RFC 5065 §3: segment types 1..4 only.
    if (type < AsPathSegmentType.AsSet || type > AsPathSegmentType.AsConfedSet) return `${name} segment ${n} has unknown type ${type}`;
    // RFC 7606 §7.2: a segment with zero ASNs is malformed.
    if (count === 0) return `${name} segment ${n} declares 0 ASNs`;
    const bytes = count * asnSize;
    if (o + 2 + bytes > v.length)
      return `${name} segment ${n} declares ${count} ASNs (${bytes} octets) but ${v.length - o - 2} octets remain`;
    const asns = new Array<number>(count);
    let p = o + 2;
    if (asnSize === 4) for (let i = 0; i < count; i++, p += 4) asns[i] = u32(v, p);
    else for (let i = 0; i < count; i++, p += 2) asns[i] = (v[p]! << 8) | v[p + 1]!;
    segs.push({ type: type as AsPathSegmentTypeCode, asns });
    o = p;
  }
  return segs;
}

function isSupportedFamily(afi: number, safi: number): boolean {
  return (afi === Afi.Ipv4 || afi === Afi.Ipv6) && (safi === Safi.Unicast || safi === Safi.Multicast);
}

/** RFC 4760 §3 / RFC 2545 §3 / RFC 8950: next hop of `len` octets for `afi`, or undefined. */
function decodeMpNextHop(v: Uint8Array, o: number, len: number, afi: number): { nextHop: string; linkLocalNextHop?: string } | undefined {
  if (len === 4 && afi === Afi.Ipv4) return { nextHop: ipv4ToString(v, o) };
  if (len === 16) return { nextHop: ipv6ToString(v, o) };
  if (len === 32) return { nextHop: ipv6ToString(v, o), linkLocalNextHop: ipv6ToString(v, o + 16) };
  return undefined;
}

/**
 * Decodes the attributes in `buf[start..end)` (the Total Path Attribute Length span). Never
 * throws: errors are collected in `result.error`.
 */
export function decodeAttributes(buf: Uint8Array, start: number, end: number, opts: CodecOptions): DecodedAttributes {
  const r: DecodedAttributes = { atomicAggregate: false, unknown: [], sawOrigin: false, sawAsPath: false, sawNextHop: false };
  epoch = (epoch + 1) >>> 0;
  if (epoch === 0) {
    seen.fill(0);
    epoch = 1;
  }
  const asnSize = opts.fourOctetAs ? 4 : 2;
  const fail = (message: string, subcode: number, handling: ErrorHandling, data?: Uint8Array, afi?: number, safi?: number): void => {
    const init = {
      code: ErrorCode.UpdateMessage,
      subcode,
      handling,
      ...(data ? { data } : {}),
      ...(afi !== undefined ? { afi, safi: safi ?? 0 } : {}),
    };
    r.error = strongerError(r.error, new BgpMessageError(message, init));
  };
  let pos = start;
  while (pos < end) {
    const flags = buf[pos]!;
    const hdr = flags & AttrFlag.ExtendedLength ? 4 : 3;
    // RFC 7606 §4: fewer octets than an attribute header, or an overrun → treat-as-withdraw.
    if (end - pos < hdr) {
      fail(
        `path attributes: ${end - pos} octets left at offset ${pos - start}, too few for a ${hdr}-octet attribute header`,
        UpdateMessageSubcode.MalformedAttributeList,
        'treat-as-withdraw',
        buf.subarray(pos, end),
      );
      break;
    }
    const type = buf[pos + 1]!;
    const len = hdr === 4 ? (buf[pos + 2]! << 8) | buf[pos + 3]! : buf[pos + 2]!;
    const vStart = pos + hdr;
    const next = vStart + len;
    if (next > end) {
      fail(
        `${attrName(type)}: attribute length ${len} overruns the ${end - vStart} octets left in the path attributes`,
        UpdateMessageSubcode.AttributeLengthError,
        'treat-as-withdraw',
        buf.subarray(pos, end),
      );
      break;
    }
    const attr = buf.subarray(pos, next);
    const v = buf.subarray(vStart, next);
    pos = next;
    const name = ATTR_NAMES[type];
    if (seen[type] === epoch) {
      // RFC 7606 §3 g: a repeated MP_REACH/MP_UNREACH resets the session; other repeats are discarded.
      if (type === AttrType.MpReachNlri || type === AttrType.MpUnreachNlri) {
        fail(`${name}: appears more than once`, UpdateMessageSubcode.MalformedAttributeList, 'session-reset', attr);
      } else {
        fail(
          `${attrName(type)}: appears more than once; later copies discarded`,
          UpdateMessageSubcode.MalformedAttributeList,
          'attribute-discard',
          attr,
        );
      }
      continue;
    }
    seen[type] = epoch;
    const expected = EXPECTED_FLAGS[type];
    if (expected === undefined) {
      // RFC 4271 §6.3: an unrecognised well-known attribute resets the session.
      if (!(flags & AttrFlag.Optional)) {
        fail(
          `attribute type ${type}: unrecognised well-known attribute (flags 0x${flags.toString(16)})`,
          UpdateMessageSubcode.UnrecognizedWellKnownAttribute,
          'session-reset',
          attr,
        );
      } else if (flags & AttrFlag.Transitive) {
        // RFC 4271 §5: kept for propagation with the Partial bit set.
        r.unknown.push({ flags: (flags & 0xe0) | AttrFlag.Partial, type, value: copyBytes(v) });
      }
      continue;
    }
    const handling = MALFORMED_HANDLING[type]!;
    // RFC 7606 §3 c: Optional/Transitive bits in conflict → malformed, per-attribute handling.
    if ((flags & (AttrFlag.Optional | AttrFlag.Transitive)) !== expected) {
      let afi: number | undefined;
      if (type === AttrType.MpReachNlri || type === AttrType.MpUnreachNlri) {
        if (len < 3) {
          fail(
            `${name}: flags 0x${flags.toString(16)} conflict and the AFI/SAFI is unreadable`,
            UpdateMessageSubcode.AttributeFlagsError,
            'session-reset',
            attr,
          );
          continue;
        }
        afi = (v[0]! << 8) | v[1]!;
      }
      fail(
        `${name}: flags 0x${flags.toString(16)} conflict with the expected 0x${expected.toString(16)} (optional/transitive bits)`,
        UpdateMessageSubcode.AttributeFlagsError,
        handling,
        attr,
        afi,
        afi !== undefined ? v[2] : undefined,
      );
      if (type === AttrType.NextHop) r.sawNextHop = true;
      if (type === AttrType.Origin) r.sawOrigin = true;
      if (type === AttrType.AsPath) r.sawAsPath = true;
      continue;
    }
    const lengthError = (want: string): void => {
      fail(`${name}: length ${len}, expected ${want}`, UpdateMessageSubcode.AttributeLengthError, handling, attr);
    };
    switch (type) {
      case AttrType.Origin:
        r.sawOrigin = true;
        if (len !== 1) lengthError('1');
        else if (v[0]! > 2)
          fail(
            `ORIGIN: value ${v[0]} is not IGP (0), EGP (1) or INCOMPLETE (2)`,
            UpdateMessageSubcode.InvalidOriginAttribute,
            handling,
            attr,
          );
        else r.origin = v[0] as OriginCode;
        break;
      case AttrType.AsPath: {
        r.sawAsPath = true;
        const segs = decodeAsPath(v, asnSize, 'AS_PATH');
        if (typeof segs === 'string') fail(segs, UpdateMessageSubcode.MalformedAsPath, handling);
        else r.asPath = segs;
        break;
      }
      case AttrType.NextHop:
        r.sawNextHop = true;
        if (len !== 4) lengthError('4');
        // RFC 4271 §6.3: a next hop that cannot be a host address (0/8 unspecified, multicast, broadcast).
        else if (v[0] === 0 || (v[0]! >= 224 && v[0]! < 240) || (v[0] === 255 && v[1] === 255 && v[2] === 255 && v[3] === 255)) {
          fail(`NEXT_HOP: ${ipv4ToString(v)} is not a valid host address`, UpdateMessageSubcode.InvalidNextHopAttribute, handling, attr);
        } else r.nextHop = ipv4ToString(v);
        break;
      case AttrType.MultiExitDisc:
        if (len !== 4) lengthError('4');
        else r.med = u32(v, 0);
        break;
      case AttrType.LocalPref:
        if (len !== 4) lengthError('4');
        else r.localPref = u32(v, 0);
        break;
      case AttrType.AtomicAggregate:
        if (len !== 0) lengthError('0');
        else r.atomicAggregate = true;
        break;
      case AttrType.Aggregator:
        if (len !== 2 + asnSize + 2) lengthError(`${asnSize + 4} with ${asnSize}-octet AS numbers`);
        else r.aggregator = { asn: asnSize === 4 ? u32(v, 0) : (v[0]! << 8) | v[1]!, address: ipv4ToString(v, asnSize) };
        break;
      case AttrType.Communities:
        if (len === 0 || len % 4 !== 0) lengthError('a positive multiple of 4');
        else {
          const cs = new Array<number>(len / 4);
          for (let i = 0; i < cs.length; i++) cs[i] = u32(v, 4 * i);
          r.communities = cs;
        }
        break;
      case AttrType.OriginatorId:
        if (len !== 4) lengthError('4');
        else r.originatorId = ipv4ToString(v);
        break;
      case AttrType.ClusterList:
        if (len === 0 || len % 4 !== 0) lengthError('a positive multiple of 4');
        else {
          const ids = new Array<string>(len / 4);
          for (let i = 0; i < ids.length; i++) ids[i] = ipv4ToString(v, 4 * i);
          r.clusterList = ids;
        }
        break;
      case AttrType.ExtendedCommunities:
        if (len === 0 || len % 8 !== 0) lengthError('a positive multiple of 8');
        else {
          const ecs = new Array<Uint8Array>(len / 8);
          for (let i = 0; i < ecs.length; i++) ecs[i] = copyBytes(v.subarray(8 * i, 8 * i + 8));
          r.extendedCommunities = ecs;
        }
        break;
      case AttrType.LargeCommunities:
        if (len === 0 || len % 12 !== 0) lengthError('a positive multiple of 12');
        else {
          const ls = new Array<LargeCommunity>(len / 12);
          for (let i = 0; i < ls.length; i++)
            ls[i] = { globalAdmin: u32(v, 12 * i), localData1: u32(v, 12 * i + 4), localData2: u32(v, 12 * i + 8) };
          r.largeCommunities = ls;
        }
        break;
      case AttrType.As4Path: {
        // RFC 6793 §4.1: a NEW speaker discards AS4_PATH received from another NEW speaker.
        if (opts.fourOctetAs) break;
        const segs = decodeAsPath(v, 4, 'AS4_PATH');
        if (typeof segs === 'string') fail(segs, UpdateMessageSubcode.OptionalAttributeError, handling, attr);
        // RFC 6793 §6: confederation segments in AS4_PATH make it malformed.
        else if (segs.some((s) => s.type === AsPathSegmentType.AsConfedSequence || s.type === AsPathSegmentType.AsConfedSet)) {
          fail('AS4_PATH: contains a confederation segment', UpdateMessageSubcode.OptionalAttributeError, handling, attr);
        } else r.as4Path = segs;
        break;
      }
      case AttrType.As4Aggregator:
        if (opts.fourOctetAs) break;
        if (len !== 8) lengthError('8');
        else r.as4Aggregator = { asn: u32(v, 0), address: ipv4ToString(v, 4) };
        break;
      case AttrType.MpReachNlri:
        decodeMpReach(v, attr, opts, r, fail);
        break;
      case AttrType.MpUnreachNlri:
        decodeMpUnreach(v, attr, opts, r, fail);
        break;
    }
  }
  // Canonical order (ascending type, as the encoder writes them), whatever the wire order was.
  if (r.unknown.length > 1) r.unknown.sort((x, y) => x.type - y.type);
  return r;
}

type Fail = (message: string, subcode: number, handling: ErrorHandling, data?: Uint8Array, afi?: number, safi?: number) => void;

function decodeMpReach(v: Uint8Array, attr: Uint8Array, opts: CodecOptions, r: DecodedAttributes, fail: Fail): void {
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

function decodeMpUnreach(v: Uint8Array, attr: Uint8Array, opts: CodecOptions, r: DecodedAttributes, fail: Fail): void {
  const sub = UpdateMessageSubcode.OptionalAttributeError;
  if (v.length < 3) {
    fail(`MP_UNREACH_NLRI: length ${v.length} is too short for AFI and SAFI`, sub, 'session-reset', attr);
    return;
  }
  const afi = (v[0]! << 8) | v[1]!;
  const safi = v[2]!;
  if (!isSupportedFamily(afi, safi)) {
    fail(`MP_UNREACH_NLRI: AFI ${afi} SAFI ${safi} is not supported; attribute ignored`, sub, 'attribute-discard', attr);
    return;
  }
  const withdrawn: Prefix[] = [];
  const err = decodePrefixes(v, 3, v.length, afi === Afi.Ipv4 ? 4 : 6, addPathFor(opts, afi, safi, 'receive'), withdrawn);
  if (err !== undefined) {
    fail(`MP_UNREACH_NLRI (AFI ${afi} SAFI ${safi}) withdrawn: ${err}`, sub, 'afisafi-disable', attr, afi, safi);
    return;
  }
  r.mpUnreach = { afi: afi as AfiCode, safi, withdrawn };
}
