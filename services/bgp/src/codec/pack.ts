// Packing many prefixes that share one attribute set into as few UPDATEs as the negotiated
// message size allows (BIRD's bgp_get_bucket idea: group by attributes, fill each message). IPv4
// unicast prefixes go into the classic NLRI field; IPv6 ones into MP_REACH_NLRI, written before
// the shared attribute bytes (RFC 7606 §5.1). Each UPDATE is sized first and allocated once.

import { InvalidArgumentError } from '../../../shared/errors/index.js';
import { Afi, AttrType, HEADER_LENGTH, MessageType, Safi } from './constants.js';
import { writeHeader } from './header.js';
import { addPathFor, maxMessageLength } from './negotiate.js';
import { prefixesLength, writePrefixes } from './nlri.js';
import { mpNextHopLength, writeMpHeader, writeMpNextHop } from './update.js';
import type { CodecOptions, MpNextHop, Prefix } from './types.js';

/** UPDATE header + withdrawn routes length + total path attribute length. */
const UPDATE_FIXED = HEADER_LENGTH + 4;
/** An MP attribute header with the 2-octet length (the budget assumes the larger header). */
const MP_HEADER_MAX = 4;

function splitByFamily(prefixes: readonly Prefix[]): { v4: readonly Prefix[]; v6: readonly Prefix[] } {
  let v6count = 0;
  for (let i = 0; i < prefixes.length; i++) if (prefixes[i]!.afi !== 4) v6count++;
  // The common case, one family: no copy.
  if (v6count === 0) return { v4: prefixes, v6: [] };
  if (v6count === prefixes.length) return { v4: [], v6: prefixes };
  const v4: Prefix[] = [];
  const v6: Prefix[] = [];
  for (const p of prefixes) (p.afi === 4 ? v4 : v6).push(p);
  return { v4, v6 };
}

/** The wire form of a prefix list (validating each prefix), for the packers below. */
function toWire(ps: readonly Prefix[], afi: 4 | 6, addPath: boolean, field: string): Uint8Array {
  const out = new Uint8Array(prefixesLength(ps, afi, addPath, field));
  writePrefixes(out, 0, ps, addPath);
  return out;
}

/**
 * Greedy runs over wire-form NLRI: returns the end offset of the run starting at `from` whose
 * prefixes fit in `budget` octets. Throws when not even one prefix fits or the list is malformed.
 */
function wireRunEnd(
  nlri: Uint8Array,
  from: number,
  end: number,
  budget: number,
  afi: 4 | 6,
  addPath: boolean,
  field: string,
): number {
  const maxBits = afi === 4 ? 32 : 128;
  const limit = Math.min(end, from + budget);
  let p = from;
  for (;;) {
    const lenAt = p + (addPath ? 4 : 0);
    if (lenAt >= end) break;
    const bits = nlri[lenAt]!;
    // RFC 4271 §4.3 / RFC 4760 §5: a prefix length beyond the address size is malformed.
    if (bits > maxBits) throw new InvalidArgumentError(`${field}: prefix length ${bits} exceeds ${maxBits}`, { field });
    const next = lenAt + 1 + ((bits + 7) >> 3);
    if (next > end) throw new InvalidArgumentError(`${field}: the last prefix is truncated`, { field });
    if (next > limit) break;
    p = next;
  }
  if (p === from) {
    if (from + (addPath ? 4 : 0) >= end)
      throw new InvalidArgumentError(`${field}: the last prefix is truncated`, { field });
    throw new InvalidArgumentError(`${field}: no room for even one prefix (${budget} octets left in the message)`, {
      field,
    });
  }
  return p;
}

function u16(out: Uint8Array, o: number, v: number): number {
  out[o] = v >> 8;
  out[o + 1] = v & 255;
  return o + 2;
}

/**
 * Packs announcements of `prefixes` with the shared `attributesBytes` (from `encodeAttributes`;
 * it must contain NEXT_HOP when IPv4 prefixes are given) into UPDATEs of at most `maxSize`
 * octets (default: the negotiated maximum). IPv6 prefixes need `mpNextHop`.
 */
export function packUpdates(
  prefixes: readonly Prefix[],
  attributesBytes: Uint8Array,
  opts: CodecOptions,
  maxSize: number = maxMessageLength(opts),
  mpNextHop?: MpNextHop,
): Uint8Array[] {
  checkMaxSize(maxSize, opts);
  const out: Uint8Array[] = [];
  const { v4, v6 } = splitByFamily(prefixes);
  if (v4.length > 0) {
    const nlri = toWire(v4, 4, addPathFor(opts, Afi.Ipv4, Safi.Unicast, 'send'), 'nlri');
    for (const m of packUpdatesWire(nlri, nlri.length, 4, attributesBytes, opts, maxSize)) out.push(m);
  }
  if (v6.length > 0) {
    if (mpNextHop === undefined)
      throw new InvalidArgumentError('mpNextHop: required to announce IPv6 prefixes', { field: 'mpNextHop' });
    const nlri = toWire(v6, 6, addPathFor(opts, Afi.Ipv6, mpNextHop.safi ?? Safi.Unicast, 'send'), 'nlri');
    for (const m of packUpdatesWire(nlri, nlri.length, 6, attributesBytes, opts, maxSize, mpNextHop)) out.push(m);
  }
  return out;
}

/**
 * A growing run of whole BGP messages in one buffer. A reflector packs every UPDATE of a step
 * into one of these and hands the same buffer to every member: one write per member instead of
 * one per UPDATE, and no object per UPDATE (with many small attribute sets most UPDATEs carry one
 * or two prefixes, so per-message objects and socket writes were the cost, not the bytes).
 */
export class MessageBuffer {
  bytes: Uint8Array;
  end = 0;
  /** Messages written. */
  count = 0;

  constructor(capacity = 4096) {
    this.bytes = Buffer.allocUnsafe(capacity);
  }

  /** Room for `n` more octets; returns the buffer to write into at `end`. */
  reserve(n: number): Uint8Array {
    if (this.end + n > this.bytes.length) {
      let size = this.bytes.length * 2;
      while (size < this.end + n) size *= 2;
      const b = Buffer.allocUnsafe(size);
      b.set(this.bytes.subarray(0, this.end));
      this.bytes = b;
    }
    return this.bytes;
  }

  /** The messages written so far, as one buffer of exactly their length. */
  take(): Uint8Array {
    const slack = this.bytes.length - this.end;
    // Keep the buffer when little of it is unused; copy otherwise, so a queued buffer does not pin
    // up to twice its size.
    return slack <= this.end >> 3 ? this.bytes.subarray(0, this.end) : Buffer.from(this.bytes.subarray(0, this.end));
  }

  /** The messages as separate views (for callers that want one buffer per UPDATE). */
  split(): Uint8Array[] {
    const out: Uint8Array[] = [];
    const b = this.bytes;
    for (let o = 0; o < this.end; ) {
      const len = (b[o + 16]! << 8) | b[o + 17]!;
      out.push(b.subarray(o, o + len));
      o += len;
    }
    return out;
  }
}

/**
 * At most how many octets `packUpdatesWireInto` writes for `bytes` octets of wire-form NLRI of
 * one family with `attributesLength` octets of attributes (every UPDATE but the last is filled
 * to within one prefix of its room), so that a caller can size one buffer for a whole batch: no
 * doubling, and no copy of a half-empty buffer.
 */
export function updatesWireSize(
  bytes: number,
  afi: 4 | 6,
  attributesLength: number,
  opts: CodecOptions,
  maxSize: number = maxMessageLength(opts),
  mpNextHop?: MpNextHop,
): number {
  if (afi === 4) {
    const per = UPDATE_FIXED + attributesLength;
    return packedSize(bytes, per, maxSize - per, addPathFor(opts, Afi.Ipv4, Safi.Unicast, 'send') ? 9 : 5);
  }
  const nhLen = mpNextHop ? mpNextHopLength(Afi.Ipv6, mpNextHop.nextHop, mpNextHop.linkLocalNextHop, 'mpNextHop') : 32;
  const mpFixed = 5 + nhLen;
  const per = UPDATE_FIXED + attributesLength + MP_HEADER_MAX + mpFixed;
  const ap = addPathFor(opts, Afi.Ipv6, mpNextHop?.safi ?? Safi.Unicast, 'send');
  return packedSize(bytes, per, Math.min(maxSize - per, 0xffff - mpFixed), ap ? 21 : 17);
}

/** `updatesWireSize` for `packWithdrawalsWireInto`. */
export function withdrawalsWireSize(
  bytes: number,
  afi: 4 | 6,
  opts: CodecOptions,
  maxSize: number = maxMessageLength(opts),
  safi: number = Safi.Unicast,
): number {
  if (afi === 4) {
    const ap = addPathFor(opts, Afi.Ipv4, Safi.Unicast, 'send');
    return packedSize(bytes, UPDATE_FIXED, maxSize - UPDATE_FIXED, ap ? 9 : 5);
  }
  const per = UPDATE_FIXED + MP_HEADER_MAX + 3;
  const ap = addPathFor(opts, Afi.Ipv6, safi, 'send');
  return packedSize(bytes, per, Math.min(maxSize - per, 0xffff - 3), ap ? 21 : 17);
}

/** `bytes` of prefixes (each at most `maxPrefix`) in messages of `per` fixed octets and `room` for prefixes. */
function packedSize(bytes: number, per: number, room: number, maxPrefix: number): number {
  if (bytes === 0) return 0;
  const messages = bytes <= room ? 1 : Math.ceil(bytes / Math.max(1, room - maxPrefix + 1));
  return bytes + messages * per;
}

/**
 * `packUpdates` for NLRI already in wire form: `nlri[0..end)` holds prefixes of one family as
 * RFC 4271 §4.3 encodes them (with the RFC 7911 path identifier when ADD-PATH send is negotiated
 * for the family in `opts`). Callers that keep prefixes as numbers write them straight into one
 * buffer: no object per prefix, and each UPDATE is filled with one copy.
 */
export function packUpdatesWire(
  nlri: Uint8Array,
  end: number,
  afi: 4 | 6,
  attributesBytes: Uint8Array,
  opts: CodecOptions,
  maxSize: number = maxMessageLength(opts),
  mpNextHop?: MpNextHop,
): Uint8Array[] {
  const out = new MessageBuffer(Math.min(maxSize, UPDATE_FIXED + attributesBytes.length + end + 64));
  packUpdatesWireInto(out, nlri, 0, end, afi, attributesBytes, opts, maxSize, mpNextHop);
  return out.split();
}

/**
 * `packUpdatesWire` appending to `out`, for NLRI `nlri[from..end)`. Returns the number of
 * UPDATEs written.
 */
export function packUpdatesWireInto(
  out: MessageBuffer,
  nlri: Uint8Array,
  start: number,
  end: number,
  afi: 4 | 6,
  attributesBytes: Uint8Array,
  opts: CodecOptions,
  maxSize: number = maxMessageLength(opts),
  mpNextHop?: MpNextHop,
): number {
  checkMaxSize(maxSize, opts);
  const before = out.count;
  if (afi === 4) {
    const ap = addPathFor(opts, Afi.Ipv4, Safi.Unicast, 'send');
    const budget = maxSize - UPDATE_FIXED - attributesBytes.length;
    for (let from = start; from < end; ) {
      const to = wireRunEnd(nlri, from, end, budget, 4, ap, 'nlri');
      const length = UPDATE_FIXED + attributesBytes.length + (to - from);
      const m = out.reserve(length);
      writeHeader(m, out.end, length, MessageType.Update);
      let o = u16(m, out.end + HEADER_LENGTH, 0);
      o = u16(m, o, attributesBytes.length);
      m.set(attributesBytes, o);
      m.set(nlri.subarray(from, to), o + attributesBytes.length);
      out.end += length;
      out.count++;
      from = to;
    }
    return out.count - before;
  }
  if (end === start) return 0;
  if (mpNextHop === undefined)
    throw new InvalidArgumentError('mpNextHop: required to announce IPv6 prefixes', { field: 'mpNextHop' });
  const safi = mpNextHop.safi ?? Safi.Unicast;
  const ap = addPathFor(opts, Afi.Ipv6, safi, 'send');
  const nhLen = mpNextHopLength(Afi.Ipv6, mpNextHop.nextHop, mpNextHop.linkLocalNextHop, 'mpNextHop');
  const mpFixed = 5 + nhLen;
  const budget = Math.min(maxSize - UPDATE_FIXED - attributesBytes.length - MP_HEADER_MAX - mpFixed, 0xffff - mpFixed);
  for (let from = start; from < end; ) {
    const to = wireRunEnd(nlri, from, end, budget, 6, ap, 'nlri');
    const { m, o: at } = ipv6MpUpdate(out, AttrType.MpReachNlri, mpFixed + (to - from), attributesBytes.length, safi);
    let o = at;
    m[o++] = nhLen;
    o = writeMpNextHop(m, o, mpNextHop.nextHop, mpNextHop.linkLocalNextHop, 'mpNextHop');
    m[o++] = 0; // RFC 4760 §3: reserved
    m.set(nlri.subarray(from, to), o);
    m.set(attributesBytes, o + (to - from));
    from = to;
  }
  return out.count - before;
}

/**
 * Packs withdrawals into as few UPDATEs as fit `maxSize`: IPv4 unicast in the withdrawn routes
 * field, IPv6 in MP_UNREACH_NLRI (of `safi`, default unicast).
 */
export function packWithdrawals(
  prefixes: readonly Prefix[],
  opts: CodecOptions,
  maxSize: number = maxMessageLength(opts),
  safi: number = Safi.Unicast,
): Uint8Array[] {
  checkMaxSize(maxSize, opts);
  const out: Uint8Array[] = [];
  const { v4, v6 } = splitByFamily(prefixes);
  if (v4.length > 0) {
    const nlri = toWire(v4, 4, addPathFor(opts, Afi.Ipv4, Safi.Unicast, 'send'), 'withdrawn');
    for (const m of packWithdrawalsWire(nlri, nlri.length, 4, opts, maxSize)) out.push(m);
  }
  if (v6.length > 0) {
    const nlri = toWire(v6, 6, addPathFor(opts, Afi.Ipv6, safi, 'send'), 'withdrawn');
    for (const m of packWithdrawalsWire(nlri, nlri.length, 6, opts, maxSize, safi)) out.push(m);
  }
  return out;
}

/** `packWithdrawals` for wire-form NLRI of one family (see `packUpdatesWire`). */
export function packWithdrawalsWire(
  nlri: Uint8Array,
  end: number,
  afi: 4 | 6,
  opts: CodecOptions,
  maxSize: number = maxMessageLength(opts),
  safi: number = Safi.Unicast,
): Uint8Array[] {
  const out = new MessageBuffer(Math.min(maxSize, UPDATE_FIXED + end + 64));
  packWithdrawalsWireInto(out, nlri, end, afi, opts, maxSize, safi);
  return out.split();
}

/** `packWithdrawalsWire` appending to `out`; returns the number of UPDATEs written. */
export function packWithdrawalsWireInto(
  out: MessageBuffer,
  nlri: Uint8Array,
  end: number,
  afi: 4 | 6,
  opts: CodecOptions,
  maxSize: number = maxMessageLength(opts),
  safi: number = Safi.Unicast,
): number {
  checkMaxSize(maxSize, opts);
  const before = out.count;
  if (afi === 4) {
    const ap = addPathFor(opts, Afi.Ipv4, Safi.Unicast, 'send');
    for (let from = 0; from < end; ) {
      const to = wireRunEnd(nlri, from, end, maxSize - UPDATE_FIXED, 4, ap, 'withdrawn');
      const bytes = to - from;
      const length = UPDATE_FIXED + bytes;
      const m = out.reserve(length);
      writeHeader(m, out.end, length, MessageType.Update);
      const o = u16(m, out.end + HEADER_LENGTH, bytes);
      m.set(nlri.subarray(from, to), o);
      u16(m, o + bytes, 0);
      out.end += length;
      out.count++;
      from = to;
    }
    return out.count - before;
  }
  const ap = addPathFor(opts, Afi.Ipv6, safi, 'send');
  const budget = Math.min(maxSize - UPDATE_FIXED - MP_HEADER_MAX - 3, 0xffff - 3);
  for (let from = 0; from < end; ) {
    const to = wireRunEnd(nlri, from, end, budget, 6, ap, 'withdrawn');
    const { m, o } = ipv6MpUpdate(out, AttrType.MpUnreachNlri, 3 + (to - from), 0, safi);
    m.set(nlri.subarray(from, to), o);
    from = to;
  }
  return out.count - before;
}

/**
 * An UPDATE without withdrawn routes whose path attributes open with an IPv6 MP_REACH_NLRI or
 * MP_UNREACH_NLRI of `value` octets, followed by `trailing` octets of other attributes. The
 * header, both lengths, the attribute header, AFI and SAFI are written; `o` is where the rest of
 * the MP value goes. The message is appended to `out` (counted, `end` moved past it).
 */
function ipv6MpUpdate(
  out: MessageBuffer,
  type: number,
  value: number,
  trailing: number,
  safi: number,
): { m: Uint8Array; o: number } {
  const attrLen = (value > 255 ? 4 : 3) + value + trailing;
  const length = UPDATE_FIXED + attrLen;
  const m = out.reserve(length);
  const start = out.end;
  out.end += length;
  out.count++;
  writeHeader(m, start, length, MessageType.Update);
  let o = u16(m, start + HEADER_LENGTH, 0);
  o = u16(m, o, attrLen);
  o = writeMpHeader(m, o, type, value);
  o = u16(m, o, Afi.Ipv6);
  m[o++] = safi;
  return { m, o };
}

function checkMaxSize(maxSize: number, opts: CodecOptions): void {
  const max = maxMessageLength(opts);
  if (!Number.isInteger(maxSize) || maxSize < UPDATE_FIXED + 1 || maxSize > max) {
    throw new InvalidArgumentError(
      `maxSize: ${maxSize} is outside ${UPDATE_FIXED + 1}..${max} (the negotiated maximum)`,
      {
        field: 'maxSize',
      },
    );
  }
}
