// Path attribute encoding: the length is computed first, then everything is written in place into
// one buffer (no intermediate arrays). Attributes go out in ascending type order (the order of the
// table in attributes.ts), unknown optional transitive ones interleaved by type with the Partial
// bit set (RFC 4271 §5). Towards a 2-octet peer the AS path and aggregator take the RFC 6793
// §4.2.2 form (the AS4_* rows).

import { InvalidArgumentError } from '../../../shared/errors/index.js';
import { ATTRIBUTES, attrFlags, attributeDescriptor, type EncodeContext } from './attributes.js';
import { AttrFlag, AttrType } from './constants.js';
import type { CodecOptions, PathAttributes, UnknownAttribute } from './types.js';

const FOUR_OCTET: EncodeContext = { asnSize: 4 };
const TWO_OCTET: EncodeContext = { asnSize: 2 };

function bad(field: string, why: string): never {
  throw new InvalidArgumentError(`attributes.${field}: ${why}`, { field: `attributes.${field}` });
}

function header(valueLength: number): number {
  return valueLength > 255 ? 4 : 3;
}

function unknownSorted(u: readonly UnknownAttribute[]): readonly UnknownAttribute[] {
  for (let i = 1; i < u.length; i++) if (u[i - 1]!.type > u[i]!.type) return [...u].sort((a, b) => a.type - b.type);
  return u;
}

function checkUnknown(u: readonly UnknownAttribute[]): void {
  const seen = new Set<number>();
  u.forEach((a, i) => {
    if (!Number.isInteger(a.type) || a.type < 0 || a.type > 255) bad(`unknown[${i}].type`, `${a.type} is not an octet`);
    if (attributeDescriptor(a.type) !== undefined)
      bad(`unknown[${i}].type`, `${a.type} is a known attribute; set its field instead`);
    if (a.type === AttrType.MpReachNlri || a.type === AttrType.MpUnreachNlri)
      bad(`unknown[${i}].type`, `${a.type} is MP_REACH/MP_UNREACH`);
    if ((a.flags & (AttrFlag.Optional | AttrFlag.Transitive)) !== (AttrFlag.Optional | AttrFlag.Transitive)) {
      bad(
        `unknown[${i}].flags`,
        `0x${a.flags.toString(16)} is not optional transitive (only those are propagated, RFC 4271 §5)`,
      );
    }
    if (a.value.length > 0xffff) bad(`unknown[${i}].value`, `${a.value.length} octets exceed 65535`);
    if (seen.has(a.type)) bad(`unknown[${i}].type`, `${a.type} appears twice`);
    seen.add(a.type);
  });
}

/** Octets `writeAttributes` will write for `a` (validating it). */
export function attributesLength(a: PathAttributes, opts: CodecOptions): number {
  const c = opts.fourOctetAs ? FOUR_OCTET : TWO_OCTET;
  let n = 0;
  for (const d of ATTRIBUTES) {
    const e = d.encode;
    if (!e) continue;
    e.check?.(a, c);
    const valueLength = e.length(a, c);
    if (valueLength < 0) continue;
    if (valueLength > 0xffff) bad('length', `an attribute value of ${valueLength} octets exceeds 65535`);
    n += header(valueLength) + valueLength;
  }
  checkUnknown(a.unknown);
  for (const u of a.unknown) n += header(u.value.length) + u.value.length;
  return n;
}

/** Writes the attributes at `off` (after `attributesLength` validated them); returns the end offset. */
export function writeAttributes(out: Uint8Array, off: number, a: PathAttributes, opts: CodecOptions): number {
  const c = opts.fourOctetAs ? FOUR_OCTET : TWO_OCTET;
  const unknown = unknownSorted(a.unknown);
  let ui = 0;
  let o = off;
  const head = (base: number, type: number, len: number): void => {
    out[o++] = attrFlags(base, len);
    out[o++] = type;
    if (len > 255) out[o++] = len >> 8;
    out[o++] = len & 255;
  };
  const flushUnknown = (beforeType: number): void => {
    while (ui < unknown.length && unknown[ui]!.type < beforeType) {
      const u = unknown[ui++]!;
      head(((u.flags & 0xe0) | AttrFlag.Partial) & ~AttrFlag.ExtendedLength, u.type, u.value.length);
      out.set(u.value, o);
      o += u.value.length;
    }
  };
  for (const d of ATTRIBUTES) {
    const e = d.encode;
    if (!e) continue;
    const len = e.length(a, c);
    if (len < 0) continue;
    flushUnknown(d.type);
    head(d.flags, d.type, len);
    o = e.write(out, o, a, c);
  }
  flushUnknown(256);
  return o;
}
