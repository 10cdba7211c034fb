// Path attribute decoding (RFC 4271 §4.3, §5) with RFC 7606 revised error handling: every
// attribute is parsed even after an error, each error is classified, and the strongest one is
// kept (session-reset > afisafi-disable > treat-as-withdraw > attribute-discard). Malformed
// attributes whose handling is attribute-discard are dropped; the rest of the UPDATE stands.
// This is the loop over the section (header, repeats, flags, unknown attributes); each known
// attribute's value is decoded by its row in attributes.ts.

import { copyBytes } from './bytes.js';
import { attrFlags, attrName, attributeDescriptor, type DecodeContext, type DecodedAttributes } from './attributes.js';
import { AttrFlag, AttrType, ErrorCode, UpdateMessageSubcode } from './constants.js';
import { BgpMessageError, strongerError, type ErrorHandling } from './errors.js';
import type { CodecOptions } from './types.js';

export type { DecodedAttributes } from './attributes.js';

/** Per-decode "seen" marks without allocating: a slot equals `epoch` when the type was seen. */
const seen = new Uint32Array(256);
let epoch = 0;

/**
 * Decodes the attributes in `buf[start..end)` (the Total Path Attribute Length span). Never
 * throws: errors are collected in `result.error`.
 */
export function decodeAttributes(buf: Uint8Array, start: number, end: number, opts: CodecOptions): DecodedAttributes {
  const r: DecodedAttributes = {
    atomicAggregate: false,
    unknown: [],
    sawOrigin: false,
    sawAsPath: false,
    sawNextHop: false,
    canonical: opts.fourOctetAs,
  };
  let lastType = -1;
  epoch = (epoch + 1) >>> 0;
  if (epoch === 0) {
    seen.fill(0);
    epoch = 1;
  }
  const fail = (
    message: string,
    subcode: number,
    handling: ErrorHandling,
    data?: Uint8Array,
    afi?: number,
    safi?: number,
  ): void => {
    const init = {
      code: ErrorCode.UpdateMessage,
      subcode,
      handling,
      ...(data ? { data } : {}),
      ...(afi !== undefined ? { afi, safi: safi ?? 0 } : {}),
    };
    r.error = strongerError(r.error, new BgpMessageError(message, init));
  };
  let c: DecodeContext | undefined;
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
    const desc = attributeDescriptor(type);
    if (r.canonical && type !== AttrType.NextHop && !desc?.multiprotocol) {
      // What `writeAttributes` would not write the same way (see DecodedAttributes.canonical);
      // NEXT_HOP and MP_* are not part of the stored form, so their place does not matter.
      const base = desc === undefined ? (flags & 0xe0) | AttrFlag.Partial : desc.flags;
      if (
        type <= lastType ||
        flags !== attrFlags(base, len) ||
        (len === 0 && type !== AttrType.AtomicAggregate && type !== AttrType.AsPath) ||
        type === AttrType.As4Path ||
        type === AttrType.As4Aggregator ||
        (desc === undefined && (flags & 0xc0) !== 0xc0)
      )
        r.canonical = false;
      lastType = type;
    }
    if (seen[type] === epoch) {
      // RFC 7606 §3 g: a repeated MP_REACH/MP_UNREACH resets the session; other repeats are discarded.
      if (desc?.multiprotocol) {
        fail(
          `${desc.name}: appears more than once`,
          UpdateMessageSubcode.MalformedAttributeList,
          'session-reset',
          attr,
        );
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
    if (desc === undefined) {
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
    if (desc.presence) r[desc.presence] = true;
    // RFC 7606 §3 c: Optional/Transitive bits in conflict → malformed, per-attribute handling.
    if ((flags & (AttrFlag.Optional | AttrFlag.Transitive)) !== desc.flags) {
      let afi: number | undefined;
      if (desc.multiprotocol) {
        if (len < 3) {
          fail(
            `${desc.name}: flags 0x${flags.toString(16)} conflict and the AFI/SAFI is unreadable`,
            UpdateMessageSubcode.AttributeFlagsError,
            'session-reset',
            attr,
          );
          continue;
        }
        afi = (v[0]! << 8) | v[1]!;
      }
      fail(
        `${desc.name}: flags 0x${flags.toString(16)} conflict with the expected 0x${desc.flags.toString(16)} (optional/transitive bits)`,
        UpdateMessageSubcode.AttributeFlagsError,
        desc.malformed,
        attr,
        afi,
        afi !== undefined ? v[2] : undefined,
      );
      continue;
    }
    c ??= { r, opts, asnSize: opts.fourOctetAs ? 4 : 2, attr, desc, fail };
    c.attr = attr;
    c.desc = desc;
    desc.decode(v, c);
  }
  // Canonical order (ascending type, as the encoder writes them), whatever the wire order was.
  if (r.unknown.length > 1) r.unknown.sort((x, y) => x.type - y.type);
  if (r.error) r.canonical = false;
  return r;
}
