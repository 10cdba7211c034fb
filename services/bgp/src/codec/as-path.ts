// AS_PATH and AS4_PATH values (RFC 4271 §4.3, RFC 6793): segments of 2- or 4-octet ASNs.

import { InvalidArgumentError } from '../../../shared/errors/index.js';
import { AS_TRANS, AsPathSegmentType, type AsPathSegmentTypeCode } from './constants.js';
import type { AsPathSegment } from './types.js';
import { u32 } from './bytes.js';

/** RFC 4271 §4.3: a segment's count is one octet; longer segments are split. */
const MAX_SEGMENT_ASNS = 255;

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
    if (type < AsPathSegmentType.AsSet || type > AsPathSegmentType.AsConfedSet)
      return `${name} segment ${n} has unknown type ${type}`;
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

function bad(field: string, why: string): never {
  throw new InvalidArgumentError(`attributes.${field}: ${why}`, { field: `attributes.${field}` });
}

/** Throws InvalidArgumentError naming the segment when `path` cannot be encoded. */
export function checkAsPath(path: readonly AsPathSegment[], field: string): void {
  for (let i = 0; i < path.length; i++) {
    const s = path[i]!;
    if (s.type < AsPathSegmentType.AsSet || s.type > AsPathSegmentType.AsConfedSet)
      bad(`${field}[${i}].type`, `${s.type} is not a segment type 1..4`);
    if (s.asns.length === 0) bad(`${field}[${i}].asns`, 'a segment needs at least one ASN (RFC 7606 §7.2)');
    if (s.type === AsPathSegmentType.AsSet || s.type === AsPathSegmentType.AsConfedSet) {
      if (s.asns.length > MAX_SEGMENT_ASNS) bad(`${field}[${i}].asns`, `a set holds at most ${MAX_SEGMENT_ASNS} ASNs`);
    }
    for (const a of s.asns) {
      if (!Number.isInteger(a) || a < 0 || a > 0xffffffff)
        bad(`${field}[${i}].asns`, `${a} is not a 32-bit unsigned integer`);
    }
  }
}

/** Value length of a (checked) AS path; segments longer than 255 ASNs are split. */
export function asPathLength(path: readonly AsPathSegment[], asnSize: 2 | 4): number {
  let n = 0;
  for (const s of path) n += 2 * Math.ceil(s.asns.length / MAX_SEGMENT_ASNS) + asnSize * s.asns.length;
  return n;
}

/** Writes the value; 4-octet ASNs become AS_TRANS towards a 2-octet peer (RFC 6793 §4.2.2). */
export function writeAsPath(out: Uint8Array, o: number, path: readonly AsPathSegment[], asnSize: 2 | 4): number {
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
