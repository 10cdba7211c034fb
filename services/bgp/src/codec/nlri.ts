// NLRI prefix lists (RFC 4271 §4.3, RFC 4760 §5, RFC 7911 §3): [path id (4)] length (1) prefix
// (ceil(length/8)). The hot path of UPDATE decoding: one validating pass that counts, one slab for
// all prefix octets of the field, then one Prefix object (a view into the slab) per entry.

import { InvalidArgumentError } from '../../../shared/errors/index.js';
import type { Prefix, WirePrefixes } from './types.js';

/**
 * Appends the prefixes of `buf[start..end)` to `out`. Returns undefined on success, else a
 * description of the first syntax error (nothing is appended then). Bits past each prefix length
 * are cleared so equal prefixes have equal bytes.
 */
export function decodePrefixes(
  buf: Uint8Array,
  start: number,
  end: number,
  afi: 4 | 6,
  addPath: boolean,
  out: Prefix[],
): string | undefined {
  const counted = countPrefixes(buf, start, end, afi, addPath);
  if (typeof counted === 'string') return counted;
  const { count, total } = counted;
  if (count === 0) return undefined;
  const slab = new Uint8Array(total);
  let p = start;
  let o = 0;
  for (let i = 0; i < count; i++) {
    let pathId = 0;
    if (addPath) {
      pathId = ((buf[p]! << 24) | (buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!) >>> 0;
      p += 4;
    }
    const len = buf[p++]!;
    const n = (len + 7) >> 3;
    for (let k = 0; k < n; k++) slab[o + k] = buf[p + k]!;
    if (len & 7) slab[o + n - 1]! &= 0xff << (8 - (len & 7));
    out.push({ afi, length: len, bytes: slab.subarray(o, o + n), pathId });
    o += n;
    p += n;
  }
  return undefined;
}

/** The prefixes of a wire-form list as Prefix objects (for consumers that need them). */
export function wirePrefixesToPrefixes(w: WirePrefixes): Prefix[] {
  const out: Prefix[] = [];
  decodePrefixes(w.bytes, w.start, w.end, w.afi, w.addPath, out);
  return out;
}

/**
 * Validates `buf[start..end)` as a prefix list: the number of prefixes and of their network
 * octets, or a description of the first syntax error.
 */
export function countPrefixes(
  buf: Uint8Array,
  start: number,
  end: number,
  afi: 4 | 6,
  addPath: boolean,
): { count: number; total: number } | string {
  const maxBits = afi === 4 ? 32 : 128;
  let p = start;
  let total = 0;
  let count = 0;
  while (p < end) {
    if (addPath) {
      if (end - p < 5) return `prefix ${count + 1}: path identifier and length need 5 octets but ${end - p} remain`;
      p += 4;
    }
    const len = buf[p]!;
    // RFC 4271 §6.3 / RFC 4760 §5: a prefix length beyond the address size is malformed.
    if (len > maxBits) return `prefix ${count + 1}: length ${len} exceeds ${maxBits}`;
    const n = (len + 7) >> 3;
    if (p + 1 + n > end) return `prefix ${count + 1}: /${len} needs ${n} octets but ${end - p - 1} remain`;
    total += n;
    count++;
    p += 1 + n;
  }
  return { count, total };
}

/** Encoded size of one prefix; throws InvalidArgumentError for an inconsistent Prefix. */
export function prefixLength(p: Prefix, afi: 4 | 6, addPath: boolean, field: string): number {
  const n = (p.length + 7) >> 3;
  if (
    p.afi !== afi ||
    p.bytes.length !== n ||
    p.length > (afi === 4 ? 32 : 128) ||
    p.length < 0 ||
    (addPath && p.pathId >>> 0 !== p.pathId)
  ) {
    throw new InvalidArgumentError(
      `${field}: prefix afi ${p.afi} /${p.length} with ${p.bytes.length} octets (path id ${p.pathId}) is not a valid IPv${afi} prefix (expected ${n} octets)`,
      { field },
    );
  }
  return (addPath ? 5 : 1) + n;
}

/** Encoded size of a prefix list (validating each). */
export function prefixesLength(ps: readonly Prefix[], afi: 4 | 6, addPath: boolean, field: string): number {
  let n = 0;
  for (let i = 0; i < ps.length; i++) n += prefixLength(ps[i]!, afi, addPath, field);
  return n;
}

/** Writes prefixes `ps[from..to)` at `off` (already validated by `prefixesLength`); returns the new offset. */
export function writePrefixes(
  out: Uint8Array,
  off: number,
  ps: readonly Prefix[],
  addPath: boolean,
  from = 0,
  to = ps.length,
): number {
  let o = off;
  for (let i = from; i < to; i++) {
    const p = ps[i]!;
    if (addPath) {
      const id = p.pathId;
      out[o] = id >>> 24;
      out[o + 1] = (id >>> 16) & 255;
      out[o + 2] = (id >>> 8) & 255;
      out[o + 3] = id & 255;
      o += 4;
    }
    out[o++] = p.length;
    const b = p.bytes;
    for (let k = 0; k < b.length; k++) out[o + k] = b[k]!;
    o += b.length;
  }
  return o;
}
