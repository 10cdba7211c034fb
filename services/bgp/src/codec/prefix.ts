// Prefix: the compact, hashable NLRI value. `bytes` holds only the significant octets (the wire
// form), so a decoded IPv4 /24 costs 3 octets plus the object; `prefixKey` is the hash key.

import { copyBytes } from './bytes.js';
import { InvalidArgumentError } from '../../../shared/errors/index.js';
import { ipv4ToString, ipv6ToString, parseIpv4, parseIpv6 } from './address.js';
import type { Prefix } from './types.js';

/** Builds a prefix, checking the length and zeroing bits past it; `bytes` may be the full address. */
export function makePrefix(afi: 4 | 6, bytes: Uint8Array, length: number, pathId = 0): Prefix {
  const max = afi === 4 ? 32 : 128;
  if (afi !== 4 && afi !== 6)
    throw new InvalidArgumentError(`prefix.afi: ${String(afi)} is not 4 or 6`, { field: 'prefix.afi' });
  if (!Number.isInteger(length) || length < 0 || length > max) {
    throw new InvalidArgumentError(`prefix.length: ${length} is outside 0..${max}`, { field: 'prefix.length' });
  }
  if (!Number.isInteger(pathId) || pathId < 0 || pathId > 0xffffffff) {
    throw new InvalidArgumentError(`prefix.pathId: ${pathId} is not a 32-bit unsigned integer`, {
      field: 'prefix.pathId',
    });
  }
  const n = (length + 7) >> 3;
  if (bytes.length < n) {
    throw new InvalidArgumentError(`prefix.bytes: ${bytes.length} octets cannot hold a /${length}`, {
      field: 'prefix.bytes',
    });
  }
  const out = copyBytes(bytes.subarray(0, n));
  if (length & 7) out[n - 1]! &= (0xff00 >> (length & 7)) & 0xff;
  return { afi, length, bytes: out, pathId };
}

/** Parses "10.0.0.0/24" or "2001:db8::/32"; host bits must be zero. */
export function parsePrefix(text: string, pathId = 0): Prefix {
  const slash = text.indexOf('/');
  const field = 'prefix';
  if (slash < 0) throw new InvalidArgumentError(`${field}: "${text}" has no "/length"`, { field });
  const addr = text.slice(0, slash);
  const lenText = text.slice(slash + 1);
  const afi: 4 | 6 = addr.includes(':') ? 6 : 4;
  const bytes = afi === 4 ? parseIpv4(addr, field) : parseIpv6(addr, field);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(lenText))
    throw new InvalidArgumentError(`${field}: "${text}" has a bad length`, { field });
  const p = makePrefix(afi, bytes, Number(lenText), pathId);
  for (let i = 0; i < bytes.length; i++) {
    if ((p.bytes[i] ?? 0) !== bytes[i]) {
      throw new InvalidArgumentError(`${field}: "${text}" has host bits set past /${p.length}`, { field });
    }
  }
  return p;
}

/** The full 4- or 16-octet network address of a prefix. */
export function prefixAddress(p: Prefix): Uint8Array {
  const out = new Uint8Array(p.afi === 4 ? 4 : 16);
  out.set(p.bytes);
  return out;
}

/** "10.0.0.0/24", "2001:db8::/32" (RFC 5952); the path identifier is not part of it. */
export function prefixToString(p: Prefix): string {
  if (p.afi === 4) {
    const b = p.bytes;
    return `${b[0] ?? 0}.${b[1] ?? 0}.${b[2] ?? 0}.${b[3] ?? 0}/${p.length}`;
  }
  return `${ipv6ToString(prefixAddress(p))}/${p.length}`;
}

/** A string key unique per (afi, network, length): use it for Map/Set membership. */
export function prefixKey(p: Prefix): string {
  return prefixToString(p);
}

/** True when both denote the same NLRI (family, network, length and path identifier). */
export function prefixEquals(a: Prefix, b: Prefix): boolean {
  if (a.afi !== b.afi || a.length !== b.length || a.pathId !== b.pathId) return false;
  for (let i = 0; i < a.bytes.length; i++) if (a.bytes[i] !== b.bytes[i]) return false;
  return true;
}
