// UPDATE (RFC 4271 §4.3): withdrawn routes length (2), withdrawn routes, total path attribute
// length (2), path attributes, NLRI. MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4760) are folded into
// the message's `mpReach` / `mpUnreach` and written first among the attributes (RFC 7606 §5.1).
//
// Decoding returns `{ update, error }` for attribute-discard and treat-as-withdraw errors (with
// treat-as-withdraw every prefix in `nlri` and `mpReach.nlri` must be handled as withdrawn) and
// throws BgpMessageError for afisafi-disable and session-reset ones.

import { InvalidArgumentError } from '../../../shared/errors/index.js';
import { parseIpv4, parseIpv6 } from './address.js';
import { attrFlags, attributeDescriptor } from './attributes.js';
import { attributesLength, writeAttributes } from './attributes-encode.js';
import { decodeAttributes, type DecodedAttributes } from './attributes-decode.js';
import { reconcileAggregator, reconcileAsPath } from './as4.js';
import {
  Afi,
  AttrType,
  ErrorCode,
  HEADER_LENGTH,
  MessageType,
  Origin,
  Safi,
  UpdateMessageSubcode,
} from './constants.js';
import { BgpMessageError, isSessionLevel, sessionError, strongerError } from './errors.js';
import { writeHeader } from './header.js';
import { addPathFor, maxMessageLength } from './negotiate.js';
import { countPrefixes, decodePrefixes, prefixesLength, writePrefixes } from './nlri.js';
import type {
  AfiSafi,
  CodecOptions,
  MpReach,
  MpUnreach,
  PathAttributes,
  PreEncodedUpdate,
  Prefix,
  UpdateMessage,
  WirePrefixes,
} from './types.js';

export interface UpdateDecodeResult {
  readonly update: UpdateMessage;
  /** The strongest attribute-discard or treat-as-withdraw error, if any (RFC 7606 §2). */
  readonly error?: BgpMessageError;
}

const EMPTY_PREFIXES: readonly Prefix[] = Object.freeze([]);

/** How the caller wants an UPDATE decoded. */
export interface DecodeUpdateOptions {
  /**
   * Leave the IPv4 withdrawn routes field in wire form (`withdrawnWire`, a copy of the field)
   * instead of a Prefix object per entry; it is validated all the same.
   */
  readonly wireWithdrawn?: boolean;
}

/** Decodes an UPDATE body (the message after its 19-octet header). */
export function decodeUpdate(body: Uint8Array, opts: CodecOptions, how: DecodeUpdateOptions = {}): UpdateDecodeResult {
  const n = body.length;
  const MAL = UpdateMessageSubcode.MalformedAttributeList;
  if (n < 4) throw sessionError(`UPDATE: body is ${n} octets, at least 4 needed`, ErrorCode.UpdateMessage, MAL);
  const wl = (body[0]! << 8) | body[1]!;
  // RFC 4271 §6.3 / RFC 7606 §5.3: field lengths that overrun the message reset the session.
  if (4 + wl > n)
    throw sessionError(
      `UPDATE: withdrawn routes length ${wl} exceeds the ${n - 4} octets available`,
      ErrorCode.UpdateMessage,
      MAL,
    );
  const al = (body[2 + wl]! << 8) | body[3 + wl]!;
  if (4 + wl + al > n) {
    throw sessionError(
      `UPDATE: total path attribute length ${al} exceeds the ${n - 4 - wl} octets after the withdrawn routes`,
      ErrorCode.UpdateMessage,
      MAL,
    );
  }
  const ipv4AddPath = addPathFor(opts, Afi.Ipv4, Safi.Unicast, 'receive');
  const withdrawn: Prefix[] = [];
  let withdrawnWire: WirePrefixes | undefined;
  let err: string | undefined;
  if (how.wireWithdrawn) {
    const c = countPrefixes(body, 2, 2 + wl, 4, ipv4AddPath);
    if (typeof c === 'string') err = c;
    // A copy (one per UPDATE): the body may be a Buffer view into a socket chunk.
    else if (c.count > 0)
      withdrawnWire = {
        bytes: new Uint8Array(body.subarray(2, 2 + wl)),
        start: 0,
        end: wl,
        count: c.count,
        afi: 4,
        addPath: ipv4AddPath,
      };
  } else err = decodePrefixes(body, 2, 2 + wl, 4, ipv4AddPath, withdrawn);
  // RFC 7606 §5.3: an unparseable withdrawn routes or NLRI field resets the session.
  if (err !== undefined)
    throw sessionError(
      `UPDATE withdrawn routes: ${err}`,
      ErrorCode.UpdateMessage,
      UpdateMessageSubcode.InvalidNetworkField,
    );
  const a = decodeAttributes(body, 4 + wl, 4 + wl + al, opts);
  if (a.error && isSessionLevel(a.error.handling)) throw a.error;
  const nlri: Prefix[] = [];
  err = decodePrefixes(body, 4 + wl + al, n, 4, ipv4AddPath, nlri);
  if (err !== undefined)
    throw sessionError(`UPDATE NLRI: ${err}`, ErrorCode.UpdateMessage, UpdateMessageSubcode.InvalidNetworkField);

  let error = a.error;
  let attributes: PathAttributes | undefined;
  if (nlri.length > 0 || a.mpReach !== undefined) {
    const missing = (type: number, name: string): void => {
      // RFC 7606 §3 d: a missing well-known mandatory attribute → treat-as-withdraw, data = type.
      error = strongerError(
        error,
        new BgpMessageError(`UPDATE: ${name} is missing but the UPDATE announces routes`, {
          code: ErrorCode.UpdateMessage,
          subcode: UpdateMessageSubcode.MissingWellKnownAttribute,
          handling: 'treat-as-withdraw',
          data: new Uint8Array([type]),
        }),
      );
    };
    if (!a.sawOrigin) missing(AttrType.Origin, 'ORIGIN');
    if (!a.sawAsPath) missing(AttrType.AsPath, 'AS_PATH');
    // RFC 4760 §3: NEXT_HOP is mandatory only with classic NLRI.
    if (nlri.length > 0 && !a.sawNextHop) missing(AttrType.NextHop, 'NEXT_HOP');
    attributes = assemble(a, opts);
  }
  const update: { -readonly [K in keyof UpdateMessage]: UpdateMessage[K] } = {
    type: MessageType.Update,
    withdrawn,
    nlri,
  };
  if (withdrawnWire !== undefined) update.withdrawnWire = withdrawnWire;
  if (attributes !== undefined) {
    update.attributes = attributes;
    // Not enumerable: a structural comparison (or a copy) of the message ignores it, and a copy
    // without it only costs its consumer an encode.
    if (a.canonical && error === undefined)
      Object.defineProperty(update, 'attributesWire', { value: storedForm(body, 4 + wl, 4 + wl + al) });
  }
  if (a.mpReach !== undefined) update.mpReach = a.mpReach;
  if (a.mpUnreach !== undefined) update.mpUnreach = a.mpUnreach;
  return error === undefined ? { update } : { update, error };
}

/** The decoded section as PathAttributes (after the UPDATE-level checks). */
function assemble(a: DecodedAttributes, opts: CodecOptions): PathAttributes {
  let asPath = a.asPath ?? [];
  let aggregator = a.aggregator;
  if (!opts.fourOctetAs && (a.as4Path !== undefined || a.as4Aggregator !== undefined)) {
    const r = reconcileAggregator(a.aggregator, a.as4Aggregator);
    aggregator = r.aggregator;
    if (r.useAs4Path && a.as4Path !== undefined && a.asPath !== undefined)
      asPath = reconcileAsPath(a.asPath, a.as4Path);
  }
  const attrs: { -readonly [K in keyof PathAttributes]: PathAttributes[K] } = {
    origin: a.origin ?? Origin.Incomplete,
    asPath,
    atomicAggregate: a.atomicAggregate,
    unknown: a.unknown,
  };
  if (a.nextHop !== undefined) attrs.nextHop = a.nextHop;
  if (a.med !== undefined) attrs.med = a.med;
  if (a.localPref !== undefined) attrs.localPref = a.localPref;
  if (aggregator !== undefined) attrs.aggregator = aggregator;
  if (a.communities !== undefined) attrs.communities = a.communities;
  if (a.extendedCommunities !== undefined) attrs.extendedCommunities = a.extendedCommunities;
  if (a.largeCommunities !== undefined) attrs.largeCommunities = a.largeCommunities;
  if (a.originatorId !== undefined) attrs.originatorId = a.originatorId;
  if (a.clusterList !== undefined) attrs.clusterList = a.clusterList;
  return attrs;
}

/**
 * A canonical attribute section (DecodedAttributes.canonical) without NEXT_HOP, MP_REACH_NLRI
 * and MP_UNREACH_NLRI: `encodeAttributes(attributes without nextHop, 4-octet ASNs)` byte for byte.
 */
function storedForm(body: Uint8Array, start: number, end: number): Uint8Array {
  const out = new Uint8Array(end - start);
  let o = 0;
  for (let p = start; p < end; ) {
    const hdr = body[p]! & 0x10 ? 4 : 3;
    const len = hdr === 4 ? (body[p + 2]! << 8) | body[p + 3]! : body[p + 2]!;
    const type = body[p + 1]!;
    const next = p + hdr + len;
    if (type !== AttrType.NextHop && type !== AttrType.MpReachNlri && type !== AttrType.MpUnreachNlri) {
      out.set(body.subarray(p, next), o);
      o += next - p;
    }
    p = next;
  }
  return out.subarray(0, o);
}

const STORED_FORM_OPTIONS: CodecOptions = { fourOctetAs: true, extendedMessage: true, addPath: [] };

/**
 * The attributes of a stored form (`encodeAttributes` with 4-octet ASNs, or an UPDATE's
 * `attributesWire`). Throws when the octets do not decode cleanly (they were encoded by us).
 */
export function attributesFromWire(bytes: Uint8Array): PathAttributes {
  const a = decodeAttributes(bytes, 0, bytes.length, STORED_FORM_OPTIONS);
  if (a.error) throw a.error;
  return assemble(a, STORED_FORM_OPTIONS);
}

/** `encodeAttributes` in the stored form (4-octet ASNs; NEXT_HOP left out). */
export function encodeStoredForm(a: PathAttributes): Uint8Array {
  if (a.nextHop === undefined) return encodeAttributes(a, STORED_FORM_OPTIONS);
  const { nextHop: _drop, ...rest } = a;
  return encodeAttributes(rest, STORED_FORM_OPTIONS);
}

function pfxAfi(afi: number): 4 | 6 {
  return afi === Afi.Ipv4 ? 4 : 6;
}

function checkFamily(field: string, afi: number, safi: number): void {
  if (afi !== Afi.Ipv4 && afi !== Afi.Ipv6)
    throw new InvalidArgumentError(`${field}.afi: ${afi} is not 1 (IPv4) or 2 (IPv6)`, { field: `${field}.afi` });
  if (!Number.isInteger(safi) || safi < 0 || safi > 255)
    throw new InvalidArgumentError(`${field}.safi: ${safi} is not an octet`, { field: `${field}.safi` });
}

/** Octets of the MP_REACH next hop field (RFC 4760 §3, RFC 2545 §3). */
export function mpNextHopLength(afi: number, nextHop: string, linkLocal: string | undefined, field: string): number {
  const v6 = nextHop.includes(':');
  if (afi === Afi.Ipv6 && !v6)
    throw new InvalidArgumentError(`${field}.nextHop: "${nextHop}" is not IPv6`, { field: `${field}.nextHop` });
  if (!v6 && linkLocal !== undefined)
    throw new InvalidArgumentError(`${field}.linkLocalNextHop: only with an IPv6 next hop`, {
      field: `${field}.linkLocalNextHop`,
    });
  return v6 ? (linkLocal !== undefined ? 32 : 16) : 4;
}

export function writeMpNextHop(
  out: Uint8Array,
  o: number,
  nextHop: string,
  linkLocal: string | undefined,
  field: string,
): number {
  if (!nextHop.includes(':')) {
    parseIpv4(nextHop, `${field}.nextHop`, out, o);
    return o + 4;
  }
  parseIpv6(nextHop, `${field}.nextHop`, out, o);
  if (linkLocal === undefined) return o + 16;
  parseIpv6(linkLocal, `${field}.linkLocalNextHop`, out, o + 16);
  return o + 32;
}

function mpReachValueLength(m: MpReach, opts: CodecOptions): number {
  checkFamily('mpReach', m.afi, m.safi);
  const nh = mpNextHopLength(m.afi, m.nextHop, m.linkLocalNextHop, 'mpReach');
  return 5 + nh + prefixesLength(m.nlri, pfxAfi(m.afi), addPathFor(opts, m.afi, m.safi, 'send'), 'mpReach.nlri');
}

function mpUnreachValueLength(m: MpUnreach, opts: CodecOptions): number {
  checkFamily('mpUnreach', m.afi, m.safi);
  return 3 + prefixesLength(m.withdrawn, pfxAfi(m.afi), addPathFor(opts, m.afi, m.safi, 'send'), 'mpUnreach.withdrawn');
}

/** Writes an MP attribute header (flags, type, 1- or 2-octet length); returns the value offset. */
export function writeMpHeader(out: Uint8Array, o: number, type: number, valueLength: number): number {
  out[o++] = attrFlags(attributeDescriptor(type)!.flags, valueLength);
  out[o++] = type;
  if (valueLength > 255) out[o++] = valueLength >> 8;
  out[o++] = valueLength & 255;
  return o;
}

function attrHeader(valueLength: number): number {
  return valueLength > 255 ? 4 : 3;
}

interface UpdateLayout {
  readonly length: number;
  readonly withdrawnLength: number;
  readonly attributesLength: number;
  readonly mpReachValue: number;
  readonly mpUnreachValue: number;
  readonly ownAttributes: number;
}

function layout(u: UpdateMessage | PreEncodedUpdate, opts: CodecOptions): UpdateLayout {
  const ap4 = addPathFor(opts, Afi.Ipv4, Safi.Unicast, 'send');
  // Its octets follow the sender's ADD-PATH mode, not ours: never copied into an UPDATE we send.
  if ('withdrawnWire' in u && u.withdrawnWire !== undefined)
    throw new InvalidArgumentError('withdrawnWire: a received wire-form list cannot be re-encoded', {
      field: 'withdrawnWire',
    });
  const withdrawn = u.withdrawn ?? EMPTY_PREFIXES;
  const nlri = u.nlri ?? EMPTY_PREFIXES;
  const withdrawnLength = prefixesLength(withdrawn, 4, ap4, 'withdrawn');
  const nlriLength = prefixesLength(nlri, 4, ap4, 'nlri');
  const mpReachValue = u.mpReach ? mpReachValueLength(u.mpReach, opts) : -1;
  const mpUnreachValue = u.mpUnreach ? mpUnreachValueLength(u.mpUnreach, opts) : -1;
  let ownAttributes: number;
  if ('attributesBytes' in u) ownAttributes = u.attributesBytes.length;
  else if (u.attributes) ownAttributes = attributesLength(u.attributes, opts);
  else ownAttributes = 0;
  const announces = nlri.length > 0 || u.mpReach !== undefined;
  if (announces && !('attributesBytes' in u) && u.attributes === undefined) {
    throw new InvalidArgumentError('update.attributes: required when the UPDATE announces NLRI', {
      field: 'update.attributes',
    });
  }
  for (const v of [mpReachValue, mpUnreachValue]) {
    if (v > 0xffff)
      throw new InvalidArgumentError(`update: an MP attribute value of ${v} octets exceeds 65535`, { field: 'update' });
  }
  const attributesLen =
    ownAttributes +
    (mpReachValue >= 0 ? attrHeader(mpReachValue) + mpReachValue : 0) +
    (mpUnreachValue >= 0 ? attrHeader(mpUnreachValue) + mpUnreachValue : 0);
  const length = HEADER_LENGTH + 2 + withdrawnLength + 2 + attributesLen + nlriLength;
  const max = maxMessageLength(opts);
  if (length > max)
    throw new InvalidArgumentError(`update: ${length} octets exceed the negotiated maximum of ${max}`, {
      field: 'update',
    });
  return { length, withdrawnLength, attributesLength: attributesLen, mpReachValue, mpUnreachValue, ownAttributes };
}

export function updateLength(u: UpdateMessage | PreEncodedUpdate, opts: CodecOptions): number {
  return layout(u, opts).length;
}

export function writeUpdate(
  out: Uint8Array,
  off: number,
  u: UpdateMessage | PreEncodedUpdate,
  opts: CodecOptions,
  l: UpdateLayout = layout(u, opts),
): number {
  const ap4 = addPathFor(opts, Afi.Ipv4, Safi.Unicast, 'send');
  writeHeader(out, off, l.length, MessageType.Update);
  let o = off + HEADER_LENGTH;
  out[o++] = l.withdrawnLength >> 8;
  out[o++] = l.withdrawnLength & 255;
  o = writePrefixes(out, o, u.withdrawn ?? EMPTY_PREFIXES, ap4);
  out[o++] = l.attributesLength >> 8;
  out[o++] = l.attributesLength & 255;
  if (u.mpUnreach) {
    const m = u.mpUnreach;
    o = writeMpHeader(out, o, AttrType.MpUnreachNlri, l.mpUnreachValue);
    out[o++] = m.afi >> 8;
    out[o++] = m.afi & 255;
    out[o++] = m.safi;
    o = writePrefixes(out, o, m.withdrawn, addPathFor(opts, m.afi, m.safi, 'send'));
  }
  if (u.mpReach) {
    const m = u.mpReach;
    o = writeMpHeader(out, o, AttrType.MpReachNlri, l.mpReachValue);
    out[o++] = m.afi >> 8;
    out[o++] = m.afi & 255;
    out[o++] = m.safi;
    const nhLen = mpNextHopLength(m.afi, m.nextHop, m.linkLocalNextHop, 'mpReach');
    out[o++] = nhLen;
    o = writeMpNextHop(out, o, m.nextHop, m.linkLocalNextHop, 'mpReach');
    out[o++] = 0; // RFC 4760 §3: reserved (formerly the SNPA count)
    o = writePrefixes(out, o, m.nlri, addPathFor(opts, m.afi, m.safi, 'send'));
  }
  if ('attributesBytes' in u) {
    out.set(u.attributesBytes, o);
    o += u.attributesBytes.length;
  } else if (u.attributes) o = writeAttributes(out, o, u.attributes, opts);
  o = writePrefixes(out, o, u.nlri ?? EMPTY_PREFIXES, ap4);
  return l.length;
}

/** Encodes an UPDATE (full or with pre-encoded attributes) into one freshly allocated buffer. */
export function encodeUpdate(u: UpdateMessage | PreEncodedUpdate, opts: CodecOptions): Uint8Array {
  const l = layout(u, opts);
  const out = Buffer.allocUnsafe(l.length);
  writeUpdate(out, 0, u, opts, l);
  return out;
}

/**
 * Encodes path attributes once for reuse in many UPDATEs (`encodeUpdate({ attributesBytes })`,
 * `packUpdates`). MP_REACH/MP_UNREACH are not part of it: they are built per UPDATE.
 */
export function encodeAttributes(a: PathAttributes, opts: CodecOptions): Uint8Array {
  const len = attributesLength(a, opts);
  const out = Buffer.allocUnsafe(len);
  const end = writeAttributes(out, 0, a, opts);
  if (end !== len) throw new Error(`encodeAttributes: wrote ${end} octets, computed ${len}`);
  return out;
}

/** The End-of-RIB marker of a family (RFC 4724 §2): an empty UPDATE, or an empty MP_UNREACH. */
export function endOfRib(afi: number, safi: number): UpdateMessage {
  if (afi === Afi.Ipv4 && safi === Safi.Unicast) return { type: MessageType.Update, withdrawn: [], nlri: [] };
  checkFamily('endOfRib', afi, safi);
  return {
    type: MessageType.Update,
    withdrawn: [],
    nlri: [],
    mpUnreach: { afi: afi as MpUnreach['afi'], safi, withdrawn: [] },
  };
}

/** The family whose End-of-RIB this UPDATE is (RFC 4724 §2), or undefined. */
export function isEndOfRib(u: UpdateMessage): AfiSafi | undefined {
  if (
    u.withdrawn.length > 0 ||
    u.withdrawnWire !== undefined ||
    u.nlri.length > 0 ||
    u.attributes !== undefined ||
    u.mpReach !== undefined
  )
    return undefined;
  if (u.mpUnreach === undefined) return { afi: Afi.Ipv4, safi: Safi.Unicast };
  return u.mpUnreach.withdrawn.length === 0 ? { afi: u.mpUnreach.afi, safi: u.mpUnreach.safi } : undefined;
}
