// IP address and CIDR arithmetic for IPv4 and IPv6, on byte arrays and BigInt (no 32-bit
// shortcuts, so IPv6 pools of any size work). Used by validation, IPAM, the route reflectors and
// the agent.
//
// Canonical text: IPv4 dotted quad without leading zeros; IPv6 per RFC 5952 (lower case, no
// leading zeros, the longest run of two or more zero groups written as "::", IPv4-mapped
// addresses as ::ffff:a.b.c.d). A CIDR's canonical text has its host bits cleared.

import { formatIpv6 } from '../address/index.js';
import { ResourceError } from './errors.js';

export type IpFamily = 4 | 6;

export interface IpAddress {
  family: IpFamily;
  /** 4 bytes (IPv4) or 16 bytes (IPv6), network order. Treat as immutable. */
  bytes: Uint8Array;
}

export interface Cidr {
  family: IpFamily;
  /** The network address (host bits cleared): 4 or 16 bytes. Treat as immutable. */
  address: Uint8Array;
  prefixLength: number;
  /** Canonical text, e.g. "10.1.0.0/16", "fd00:10::/48". */
  text: string;
  /** True when the input text was already canonical (no host bits, canonical address text). */
  canonical: boolean;
}

/** An address with a prefix length whose host bits are meaningful, e.g. a node's "10.0.0.5/24". */
export interface InterfaceAddress {
  ip: IpAddress;
  prefixLength: number;
  /** Canonical text of the address and prefix, e.g. "10.0.0.5/24". */
  text: string;
  /** The network the address is on. */
  network: Cidr;
}

// ---------------------------------------------------------------- parsing

/** Parses IPv4 or IPv6 text; the reason text when invalid. */
export function tryParseIp(text: string): IpAddress | string {
  if (typeof text !== 'string') return 'not a string';
  if (text.includes(':')) {
    const bytes = parseIpv6(text);
    return bytes ? { family: 6, bytes } : `'${clip(text)}' is not a valid IP address`;
  }
  const bytes = parseIpv4(text);
  return bytes ? { family: 4, bytes } : `'${clip(text)}' is not a valid IP address`;
}

/** Parses IPv4 or IPv6 text; throws ResourceError when invalid. */
export function parseIp(text: string): IpAddress {
  const r = tryParseIp(text);
  if (typeof r === 'string') throw new ResourceError(r);
  return r;
}

/**
 * Parses "address/prefix" (or a bare address, as /32 or /128, when `allowBareIp`), clearing the
 * host bits. The reason text when invalid.
 */
export function tryParseCidr(text: string, options: { allowBareIp?: boolean } = {}): Cidr | string {
  if (typeof text !== 'string') return 'not a string';
  const slash = text.indexOf('/');
  if (slash < 0) {
    if (!options.allowBareIp) return `'${clip(text)}' is not a CIDR (expected address/prefix-length)`;
    const ip = tryParseIp(text);
    if (typeof ip === 'string') return ip;
    const cidr = makeCidr(ip, ip.family === 4 ? 32 : 128);
    cidr.canonical = false;
    return cidr;
  }
  const ip = tryParseIp(text.slice(0, slash));
  if (typeof ip === 'string') return `'${clip(text)}' is not a valid CIDR: ${ip}`;
  const prefixText = text.slice(slash + 1);
  const max = ip.family === 4 ? 32 : 128;
  if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText) || Number(prefixText) > max) {
    return `'${clip(text)}' is not a valid CIDR: prefix length must be 0-${max}`;
  }
  const cidr = makeCidr(ip, Number(prefixText));
  cidr.canonical = cidr.text === text;
  return cidr;
}

/** Parses a CIDR, clearing host bits (see `Cidr.canonical`); throws ResourceError when invalid. */
export function parseCidr(text: string, options: { allowBareIp?: boolean } = {}): Cidr {
  const r = tryParseCidr(text, options);
  if (typeof r === 'string') throw new ResourceError(r);
  return r;
}

/** Parses "address/prefix" keeping the address (host bits allowed). */
export function tryParseInterfaceAddress(text: string): InterfaceAddress | string {
  if (typeof text !== 'string') return 'not a string';
  const cidr = tryParseCidr(text);
  if (typeof cidr === 'string') return cidr;
  const ip = parseIp(text.slice(0, text.indexOf('/')));
  return { ip, prefixLength: cidr.prefixLength, text: `${ipToString(ip)}/${cidr.prefixLength}`, network: cidr };
}

function makeCidr(ip: IpAddress, prefixLength: number): Cidr {
  const address = maskBytes(ip.bytes, prefixLength);
  const text = `${ipToString({ family: ip.family, bytes: address })}/${prefixLength}`;
  return { family: ip.family, address, prefixLength, text, canonical: true };
}

function parseIpv4(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    // Leading zeros are rejected (ambiguous octal in some parsers; Go rejects them too).
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

function parseIpv6(text: string): Uint8Array | undefined {
  if (text.length > 45 || text.length < 2) return undefined;
  let head = text;
  let tail4: Uint8Array | undefined;
  const lastColon = text.lastIndexOf(':');
  if (text.indexOf('.', lastColon) > 0) {
    tail4 = parseIpv4(text.slice(lastColon + 1));
    if (!tail4) return undefined;
    head = text.slice(0, lastColon + 1) + '0:0';
  }
  const dbl = head.indexOf('::');
  if (dbl >= 0 && head.indexOf('::', dbl + 1) >= 0) return undefined;
  const groupsOf = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  let groups: number[];
  if (dbl >= 0) {
    const left = groupsOf(head.slice(0, dbl));
    const right = groupsOf(head.slice(dbl + 2));
    if (!left || !right || left.length + right.length > 7) return undefined;
    groups = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  } else {
    const all = groupsOf(head);
    if (!all || all.length !== 8) return undefined;
    groups = all;
  }
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[i * 2] = groups[i]! >> 8;
    out[i * 2 + 1] = groups[i]! & 0xff;
  }
  if (tail4) out.set(tail4, 12);
  return out;
}

// ---------------------------------------------------------------- formatting

/** Canonical text of an address (RFC 5952 for IPv6: shared/address, the one formatter). */
export function ipToString(ip: IpAddress): string {
  const b = ip.bytes;
  if (ip.family === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  return formatIpv6(b);
}

export function formatCidr(cidr: Pick<Cidr, 'family' | 'address' | 'prefixLength'>): string {
  return `${ipToString({ family: cidr.family, bytes: cidr.address })}/${cidr.prefixLength}`;
}

// ---------------------------------------------------------------- arithmetic

export function familyBits(family: IpFamily): number {
  return family === 4 ? 32 : 128;
}

export function bytesToBigInt(bytes: Uint8Array): bigint {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

export function bigIntToBytes(value: bigint, length: 4 | 16): Uint8Array {
  const out = new Uint8Array(length);
  let v = value;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

export function ipToBigInt(ip: IpAddress): bigint {
  return bytesToBigInt(ip.bytes);
}

export function bigIntToIp(value: bigint, family: IpFamily): IpAddress {
  const max = (1n << BigInt(familyBits(family))) - 1n;
  if (value < 0n || value > max) throw new RangeError(`${value} is outside the IPv${family} address space`);
  return { family, bytes: bigIntToBytes(value, family === 4 ? 4 : 16) };
}

function maskBytes(bytes: Uint8Array, prefixLength: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    const bits = Math.max(0, Math.min(8, prefixLength - i * 8));
    out[i] = bytes[i]! & ((0xff00 >> bits) & 0xff);
  }
  return out;
}

function asCidr(c: Cidr | string): Cidr {
  return typeof c === 'string' ? parseCidr(c, { allowBareIp: true }) : c;
}

/** Number of addresses in a CIDR (2^(bits - prefix)). */
export function cidrSize(cidr: Cidr | string): bigint {
  const c = asCidr(cidr);
  return 1n << BigInt(familyBits(c.family) - c.prefixLength);
}

function prefixEqual(a: Uint8Array, b: Uint8Array, bits: number): boolean {
  const full = bits >> 3;
  for (let i = 0; i < full; i++) if (a[i] !== b[i]) return false;
  const rest = bits & 7;
  if (rest === 0) return true;
  const mask = (0xff00 >> rest) & 0xff;
  return (a[full]! & mask) === (b[full]! & mask);
}

/** True when `outer` contains all of `inner` (a CIDR or an address). Different families never. */
export function cidrContains(outer: Cidr | string, inner: Cidr | IpAddress | string): boolean {
  const o = asCidr(outer);
  if (typeof inner !== 'string' && 'bytes' in inner) {
    return inner.family === o.family && prefixEqual(o.address, inner.bytes, o.prefixLength);
  }
  const i = asCidr(inner);
  return i.family === o.family && i.prefixLength >= o.prefixLength && prefixEqual(o.address, i.address, o.prefixLength);
}

/** True when the two CIDRs share any address. */
export function cidrsOverlap(a: Cidr | string, b: Cidr | string): boolean {
  const x = asCidr(a);
  const y = asCidr(b);
  if (x.family !== y.family) return false;
  return prefixEqual(x.address, y.address, Math.min(x.prefixLength, y.prefixLength));
}

/** Number of blocks of `blockSize` (a prefix length) in a pool. */
export function blockCount(pool: Cidr | string, blockSize: number): bigint {
  const p = asCidr(pool);
  checkBlockSize(p, blockSize);
  return 1n << BigInt(blockSize - p.prefixLength);
}

/** The `index`-th (0-based) block of `blockSize` in a pool. */
export function blockAt(pool: Cidr | string, blockSize: number, index: number | bigint): Cidr {
  const p = asCidr(pool);
  checkBlockSize(p, blockSize);
  const i = BigInt(index);
  const count = 1n << BigInt(blockSize - p.prefixLength);
  if (i < 0n || i >= count)
    throw new RangeError(`block index ${i} is outside ${p.text} (${count} blocks of /${blockSize})`);
  const bits = familyBits(p.family);
  const base = bytesToBigInt(p.address) + (i << BigInt(bits - blockSize));
  const address = bigIntToBytes(base, p.family === 4 ? 4 : 16);
  const c: Cidr = { family: p.family, address, prefixLength: blockSize, text: '', canonical: true };
  c.text = formatCidr(c);
  return c;
}

/** The index of `block` within `pool` for blocks of its prefix length, or undefined when outside. */
export function blockIndex(pool: Cidr | string, block: Cidr | string): bigint | undefined {
  const p = asCidr(pool);
  const b = asCidr(block);
  if (!cidrContains(p, b)) return undefined;
  const bits = familyBits(p.family);
  return (bytesToBigInt(b.address) - bytesToBigInt(p.address)) >> BigInt(bits - b.prefixLength);
}

/** The `ordinal`-th address (0-based) of a CIDR. */
export function addressAt(cidr: Cidr | string, ordinal: number | bigint): IpAddress {
  const c = asCidr(cidr);
  const o = BigInt(ordinal);
  if (o < 0n || o >= cidrSize(c)) throw new RangeError(`ordinal ${o} is outside ${c.text}`);
  return bigIntToIp(bytesToBigInt(c.address) + o, c.family);
}

/** The ordinal of `ip` within `cidr`, or undefined when outside. */
export function addressOrdinal(cidr: Cidr | string, ip: IpAddress | string): bigint | undefined {
  const c = asCidr(cidr);
  const a = typeof ip === 'string' ? parseIp(ip) : ip;
  if (!cidrContains(c, a)) return undefined;
  return bytesToBigInt(a.bytes) - bytesToBigInt(c.address);
}

function checkBlockSize(pool: Cidr, blockSize: number): void {
  const bits = familyBits(pool.family);
  if (!Number.isInteger(blockSize) || blockSize < pool.prefixLength || blockSize > bits) {
    throw new RangeError(`block size /${blockSize} does not fit in ${pool.text}`);
  }
}

function clip(text: string): string {
  return text.length > 64 ? `${text.slice(0, 61)}...` : text;
}
