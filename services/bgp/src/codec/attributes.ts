// The path attributes the codec interprets, one descriptor each (as BIRD's `bgp_attr_table` in
// proto/bgp/attrs.c): type code, name, the Optional/Transitive flags it must carry, its RFC 7606
// handling when malformed, how its value decodes and how it encodes. The decoding loop
// (attributes-decode.ts) and the encoding loop (attributes-encode.ts) know no attribute by name:
// adding an attribute is one row here (and its field in PathAttributes, types.ts).
//
// Rows are in ascending type order, which is the order the encoder writes them (RFC 4271 §5 leaves
// the order free; ascending is what BIRD and GoBGP send). MP_REACH_NLRI / MP_UNREACH_NLRI have no
// encoder here: they belong to the UPDATE (update.ts writes them first, RFC 7606 §5.1).

import { ipv4ToString, parseIpv4 } from './address.js';
import { as4PathSegments, needsAs4Path } from './as4.js';
import { asPathLength, checkAsPath, decodeAsPath, writeAsPath } from './as-path.js';
import { copyBytes, putU32, u32 } from './bytes.js';
import { AS_TRANS, AsPathSegmentType, AttrFlag, AttrType, UpdateMessageSubcode, type OriginCode } from './constants.js';
import type { BgpMessageError, ErrorHandling } from './errors.js';
import { decodeMpReach, decodeMpUnreach } from './mp-attributes.js';
import type {
  Aggregator,
  AsPathSegment,
  CodecOptions,
  LargeCommunity,
  MpReach,
  MpUnreach,
  PathAttributes,
  UnknownAttribute,
} from './types.js';
import { InvalidArgumentError } from '../../../shared/errors/index.js';

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
  /**
   * The section is in the form the encoder writes with 4-octet ASNs (ascending types, no repeats,
   * canonical flag octets, no empty lists, nothing the decoder drops or rewrites): its octets
   * without NEXT_HOP / MP_REACH / MP_UNREACH are then exactly `encodeAttributes` of the decoded
   * attributes, so a store keyed by encoded sets may take them as they are (update.ts).
   */
  canonical: boolean;
  error?: BgpMessageError;
}

/** The well-known mandatory attributes whose mere presence the UPDATE checks (RFC 7606 §3 d). */
type Presence = 'sawOrigin' | 'sawAsPath' | 'sawNextHop';

/** What a decode hook sees: one object per attribute section, its fields set per attribute. */
export interface DecodeContext {
  readonly r: DecodedAttributes;
  readonly opts: CodecOptions;
  readonly asnSize: 2 | 4;
  /** The whole attribute (header and value): the NOTIFICATION data of most errors. */
  attr: Uint8Array;
  /** The descriptor being decoded. */
  desc: AttributeDescriptor;
  /** Records an error; the strongest of the section wins (RFC 7606 §2). */
  fail(message: string, subcode: number, handling: ErrorHandling, data?: Uint8Array, afi?: number, safi?: number): void;
}

/** What an encode hook sees. */
export interface EncodeContext {
  readonly asnSize: 2 | 4;
}

export interface AttributeDescriptor {
  readonly type: number;
  /** RFC name, as in error messages. */
  readonly name: string;
  /** The Optional and Transitive bits the attribute must carry (RFC 4271 §5). */
  readonly flags: number;
  /** RFC 7606 §7 (or the attribute's own RFC): what a malformed instance costs. */
  readonly malformed: ErrorHandling;
  /** Marked as present once seen, even when malformed. */
  readonly presence?: Presence;
  /**
   * MP_REACH/MP_UNREACH: the value starts with AFI/SAFI, which an error names (RFC 7606 §7.11),
   * and a repeat resets the session (§3 g) instead of being discarded.
   */
  readonly multiprotocol?: boolean;
  /** Parses the value into `c.r`, or reports through `c.fail`. */
  decode(v: Uint8Array, c: DecodeContext): void;
  /** Encoding, except for the attributes the UPDATE itself writes (MP_*). */
  readonly encode?: {
    /** Throws InvalidArgumentError naming the field when `a` cannot be encoded. */
    check?(a: PathAttributes, c: EncodeContext): void;
    /** Octets of the value for `a` (after `check`), or -1 when the attribute is not sent. */
    length(a: PathAttributes, c: EncodeContext): number;
    /** Writes the value at `o`; returns the end offset. */
    write(out: Uint8Array, o: number, a: PathAttributes, c: EncodeContext): number;
  };
}

const WELL_KNOWN = AttrFlag.Transitive;
const OPTIONAL_TRANSITIVE = AttrFlag.Optional | AttrFlag.Transitive;
const OPTIONAL = AttrFlag.Optional;

// --- value helpers ------------------------------------------------------------------------------

function putIpv4(out: Uint8Array, o: number, text: string, field: string): number {
  parseIpv4(text, `attributes.${field}`, out, o);
  return o + 4;
}

function bad(field: string, why: string): never {
  throw new InvalidArgumentError(`attributes.${field}: ${why}`, { field: `attributes.${field}` });
}

function checkU32(field: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) bad(field, `${v} is not a 32-bit unsigned integer`);
}

/** Length error with the attribute's own handling. */
function lengthError(v: Uint8Array, c: DecodeContext, want: string): void {
  c.fail(
    `${c.desc.name}: length ${v.length}, expected ${want}`,
    UpdateMessageSubcode.AttributeLengthError,
    c.desc.malformed,
    c.attr,
  );
}

/** Decodes a list of fixed-size items (communities and the like): RFC 7606 §7.8/7.10/7.14, RFC 8092 §6. */
function decodeList<T>(
  v: Uint8Array,
  c: DecodeContext,
  size: number,
  item: (v: Uint8Array, o: number) => T,
): T[] | undefined {
  if (v.length === 0 || v.length % size !== 0) {
    lengthError(v, c, `a positive multiple of ${size}`);
    return undefined;
  }
  const out = new Array<T>(v.length / size);
  for (let i = 0; i < out.length; i++) out[i] = item(v, size * i);
  return out;
}

/** A fixed-length attribute whose value is one uint32 (MED, LOCAL_PREF). */
function u32Attribute(
  type: number,
  name: string,
  field: 'med' | 'localPref',
  malformed: ErrorHandling,
  flags: number,
): AttributeDescriptor {
  return {
    type,
    name,
    flags,
    malformed,
    decode(v, c) {
      if (v.length !== 4) lengthError(v, c, '4');
      else c.r[field] = u32(v, 0);
    },
    encode: {
      check: (a) => {
        if (a[field] !== undefined) checkU32(field, a[field]);
      },
      length: (a) => (a[field] !== undefined ? 4 : -1),
      write: (out, o, a) => putU32(out, o, a[field]!),
    },
  };
}

/** RFC 6793 §4.2.2: towards a 2-octet peer, an aggregator with a 4-octet ASN also goes as AS4_AGGREGATOR. */
function needsAs4Aggregator(a: PathAttributes, c: EncodeContext): boolean {
  return c.asnSize === 2 && a.aggregator !== undefined && a.aggregator.asn > 0xffff;
}

// --- the table ----------------------------------------------------------------------------------

export const ATTRIBUTES: readonly AttributeDescriptor[] = [
  {
    type: AttrType.Origin,
    name: 'ORIGIN',
    flags: WELL_KNOWN,
    malformed: 'treat-as-withdraw', // RFC 7606 §7.1
    presence: 'sawOrigin',
    decode(v, c) {
      if (v.length !== 1) lengthError(v, c, '1');
      else if (v[0]! > 2)
        c.fail(
          `ORIGIN: value ${v[0]} is not IGP (0), EGP (1) or INCOMPLETE (2)`,
          UpdateMessageSubcode.InvalidOriginAttribute,
          c.desc.malformed,
          c.attr,
        );
      else c.r.origin = v[0] as OriginCode;
    },
    encode: {
      check: (a) => {
        if (a.origin !== 0 && a.origin !== 1 && a.origin !== 2) bad('origin', `${String(a.origin)} is not 0, 1 or 2`);
      },
      length: () => 1,
      write: (out, o, a) => {
        out[o] = a.origin;
        return o + 1;
      },
    },
  },
  {
    type: AttrType.AsPath,
    name: 'AS_PATH',
    flags: WELL_KNOWN,
    malformed: 'treat-as-withdraw', // RFC 7606 §7.2
    presence: 'sawAsPath',
    decode(v, c) {
      const segs = decodeAsPath(v, c.asnSize, 'AS_PATH');
      if (typeof segs === 'string') c.fail(segs, UpdateMessageSubcode.MalformedAsPath, c.desc.malformed);
      else c.r.asPath = segs;
    },
    encode: {
      check: (a) => checkAsPath(a.asPath, 'asPath'),
      length: (a, c) => asPathLength(a.asPath, c.asnSize),
      write: (out, o, a, c) => writeAsPath(out, o, a.asPath, c.asnSize),
    },
  },
  {
    type: AttrType.NextHop,
    name: 'NEXT_HOP',
    flags: WELL_KNOWN,
    malformed: 'treat-as-withdraw', // RFC 7606 §7.3
    presence: 'sawNextHop',
    decode(v, c) {
      if (v.length !== 4) lengthError(v, c, '4');
      // RFC 4271 §6.3: a next hop that cannot be a host address (0/8 unspecified, multicast, broadcast).
      else if (
        v[0] === 0 ||
        (v[0]! >= 224 && v[0]! < 240) ||
        (v[0] === 255 && v[1] === 255 && v[2] === 255 && v[3] === 255)
      ) {
        c.fail(
          `NEXT_HOP: ${ipv4ToString(v)} is not a valid host address`,
          UpdateMessageSubcode.InvalidNextHopAttribute,
          c.desc.malformed,
          c.attr,
        );
      } else c.r.nextHop = ipv4ToString(v);
    },
    encode: {
      length: (a) => (a.nextHop !== undefined ? 4 : -1),
      write: (out, o, a) => putIpv4(out, o, a.nextHop!, 'nextHop'),
    },
  },
  u32Attribute(AttrType.MultiExitDisc, 'MULTI_EXIT_DISC', 'med', 'treat-as-withdraw', OPTIONAL), // RFC 7606 §7.4
  u32Attribute(AttrType.LocalPref, 'LOCAL_PREF', 'localPref', 'treat-as-withdraw', WELL_KNOWN), // RFC 7606 §7.5
  {
    type: AttrType.AtomicAggregate,
    name: 'ATOMIC_AGGREGATE',
    flags: WELL_KNOWN,
    malformed: 'attribute-discard', // RFC 7606 §7.6
    decode(v, c) {
      if (v.length !== 0) lengthError(v, c, '0');
      else c.r.atomicAggregate = true;
    },
    encode: {
      length: (a) => (a.atomicAggregate ? 0 : -1),
      write: (_out, o) => o,
    },
  },
  {
    type: AttrType.Aggregator,
    name: 'AGGREGATOR',
    flags: OPTIONAL_TRANSITIVE,
    malformed: 'attribute-discard', // RFC 7606 §7.7
    decode(v, c) {
      const n = c.asnSize;
      if (v.length !== 2 + n + 2) lengthError(v, c, `${n + 4} with ${n}-octet AS numbers`);
      else c.r.aggregator = { asn: n === 4 ? u32(v, 0) : (v[0]! << 8) | v[1]!, address: ipv4ToString(v, n) };
    },
    encode: {
      check: (a) => {
        if (a.aggregator !== undefined) checkU32('aggregator.asn', a.aggregator.asn);
      },
      length: (a, c) => (a.aggregator !== undefined ? c.asnSize + 4 : -1),
      write: (out, o, a, c) => {
        const { asn, address } = a.aggregator!;
        if (c.asnSize === 4) o = putU32(out, o, asn);
        else {
          const a2 = asn > 0xffff ? AS_TRANS : asn;
          out[o++] = a2 >> 8;
          out[o++] = a2 & 255;
        }
        return putIpv4(out, o, address, 'aggregator.address');
      },
    },
  },
  {
    type: AttrType.Communities,
    name: 'COMMUNITIES',
    flags: OPTIONAL_TRANSITIVE,
    malformed: 'treat-as-withdraw', // RFC 7606 §7.8
    decode(v, c) {
      const cs = decodeList(v, c, 4, u32);
      if (cs) c.r.communities = cs;
    },
    encode: {
      check: (a) => {
        for (const x of a.communities ?? []) checkU32('communities', x);
      },
      length: (a) => (a.communities !== undefined && a.communities.length > 0 ? 4 * a.communities.length : -1),
      write: (out, o, a) => {
        for (const x of a.communities!) o = putU32(out, o, x);
        return o;
      },
    },
  },
  {
    type: AttrType.OriginatorId,
    name: 'ORIGINATOR_ID',
    flags: OPTIONAL,
    malformed: 'treat-as-withdraw', // RFC 7606 §7.9
    decode(v, c) {
      if (v.length !== 4) lengthError(v, c, '4');
      else c.r.originatorId = ipv4ToString(v);
    },
    encode: {
      length: (a) => (a.originatorId !== undefined ? 4 : -1),
      write: (out, o, a) => putIpv4(out, o, a.originatorId!, 'originatorId'),
    },
  },
  {
    type: AttrType.ClusterList,
    name: 'CLUSTER_LIST',
    flags: OPTIONAL,
    malformed: 'treat-as-withdraw', // RFC 7606 §7.10
    decode(v, c) {
      const ids = decodeList(v, c, 4, ipv4ToString);
      if (ids) c.r.clusterList = ids;
    },
    encode: {
      length: (a) => (a.clusterList !== undefined && a.clusterList.length > 0 ? 4 * a.clusterList.length : -1),
      write: (out, o, a) => {
        for (const id of a.clusterList!) o = putIpv4(out, o, id, 'clusterList');
        return o;
      },
    },
  },
  {
    type: AttrType.MpReachNlri,
    name: 'MP_REACH_NLRI',
    flags: OPTIONAL,
    malformed: 'afisafi-disable', // RFC 7606 §7.11
    multiprotocol: true,
    decode: decodeMpReach,
  },
  {
    type: AttrType.MpUnreachNlri,
    name: 'MP_UNREACH_NLRI',
    flags: OPTIONAL,
    malformed: 'afisafi-disable', // RFC 7606 §7.11
    multiprotocol: true,
    decode: decodeMpUnreach,
  },
  {
    type: AttrType.ExtendedCommunities,
    name: 'EXTENDED_COMMUNITIES',
    flags: OPTIONAL_TRANSITIVE,
    malformed: 'treat-as-withdraw', // RFC 7606 §7.14
    decode(v, c) {
      const ecs = decodeList(v, c, 8, (b, o) => copyBytes(b.subarray(o, o + 8)));
      if (ecs) c.r.extendedCommunities = ecs;
    },
    encode: {
      check: (a) =>
        a.extendedCommunities?.forEach((e, i) => {
          if (e.length !== 8) bad(`extendedCommunities[${i}]`, `${e.length} octets, expected 8`);
        }),
      length: (a) =>
        a.extendedCommunities !== undefined && a.extendedCommunities.length > 0 ? 8 * a.extendedCommunities.length : -1,
      write: (out, o, a) => {
        for (const e of a.extendedCommunities!) {
          out.set(e, o);
          o += 8;
        }
        return o;
      },
    },
  },
  {
    type: AttrType.As4Path,
    name: 'AS4_PATH',
    flags: OPTIONAL_TRANSITIVE,
    malformed: 'attribute-discard', // RFC 6793 §6
    decode(v, c) {
      // RFC 6793 §4.1: a NEW speaker discards AS4_PATH received from another NEW speaker.
      if (c.opts.fourOctetAs) return;
      const segs = decodeAsPath(v, 4, 'AS4_PATH');
      if (typeof segs === 'string') c.fail(segs, UpdateMessageSubcode.OptionalAttributeError, c.desc.malformed, c.attr);
      // RFC 6793 §6: confederation segments in AS4_PATH make it malformed.
      else if (
        segs.some((s) => s.type === AsPathSegmentType.AsConfedSequence || s.type === AsPathSegmentType.AsConfedSet)
      ) {
        c.fail(
          'AS4_PATH: contains a confederation segment',
          UpdateMessageSubcode.OptionalAttributeError,
          c.desc.malformed,
          c.attr,
        );
      } else c.r.as4Path = segs;
    },
    // Derived from AS_PATH towards a 2-octet peer when some ASN needs 4 octets (RFC 6793 §4.2.2);
    // AS_PATH's check covers its segments.
    encode: {
      length: (a, c) => (c.asnSize === 2 && needsAs4Path(a.asPath) ? asPathLength(as4PathSegments(a.asPath), 4) : -1),
      write: (out, o, a) => writeAsPath(out, o, as4PathSegments(a.asPath), 4),
    },
  },
  {
    type: AttrType.As4Aggregator,
    name: 'AS4_AGGREGATOR',
    flags: OPTIONAL_TRANSITIVE,
    malformed: 'attribute-discard', // RFC 6793 §6
    decode(v, c) {
      if (c.opts.fourOctetAs) return;
      if (v.length !== 8) lengthError(v, c, '8');
      else c.r.as4Aggregator = { asn: u32(v, 0), address: ipv4ToString(v, 4) };
    },
    encode: {
      length: (a, c) => (needsAs4Aggregator(a, c) ? 8 : -1),
      write: (out, o, a) =>
        putIpv4(out, putU32(out, o, a.aggregator!.asn), a.aggregator!.address, 'aggregator.address'),
    },
  },
  {
    type: AttrType.LargeCommunities,
    name: 'LARGE_COMMUNITY',
    flags: OPTIONAL_TRANSITIVE,
    malformed: 'treat-as-withdraw', // RFC 8092 §6
    decode(v, c) {
      const ls = decodeList(v, c, 12, (b, o) => ({
        globalAdmin: u32(b, o),
        localData1: u32(b, o + 4),
        localData2: u32(b, o + 8),
      }));
      if (ls) c.r.largeCommunities = ls;
    },
    encode: {
      check: (a) =>
        a.largeCommunities?.forEach((l, i) => {
          checkU32(`largeCommunities[${i}].globalAdmin`, l.globalAdmin);
          checkU32(`largeCommunities[${i}].localData1`, l.localData1);
          checkU32(`largeCommunities[${i}].localData2`, l.localData2);
        }),
      length: (a) =>
        a.largeCommunities !== undefined && a.largeCommunities.length > 0 ? 12 * a.largeCommunities.length : -1,
      write: (out, o, a) => {
        for (const l of a.largeCommunities!)
          o = putU32(out, putU32(out, putU32(out, o, l.globalAdmin), l.localData1), l.localData2);
        return o;
      },
    },
  },
];

/** Descriptors by type code (undefined: not interpreted by the codec). */
const BY_TYPE: readonly (AttributeDescriptor | undefined)[] = (() => {
  const t = new Array<AttributeDescriptor | undefined>(256).fill(undefined);
  let last = -1;
  for (const d of ATTRIBUTES) {
    if (d.type <= last) throw new Error(`attribute table: ${d.name} (${d.type}) is out of ascending type order`);
    last = d.type;
    t[d.type] = d;
  }
  return t;
})();

/** The attribute with this type code, if the codec interprets it. */
export function attributeDescriptor(type: number): AttributeDescriptor | undefined {
  return BY_TYPE[type];
}

export function attrName(type: number): string {
  return BY_TYPE[type]?.name ?? `attribute type ${type}`;
}

/** The flags octet for an attribute value of `length` octets (RFC 4271 §4.3 Extended Length). */
export function attrFlags(base: number, length: number): number {
  return length > 255 ? base | AttrFlag.ExtendedLength : base & ~AttrFlag.ExtendedLength;
}
