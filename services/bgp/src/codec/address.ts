// IPv4/IPv6 address text <-> octets. Used for next hops, BGP identifiers and prefixes; strict:
// no leading zeros in IPv4 octets, no zone ids, RFC 5952 canonical text on output.

import { formatIpv6 } from '../../../shared/address/index.js';
import { InvalidArgumentError } from '../../../shared/errors/index.js';

/** Reads 4 octets at `off` as a dotted quad. */
export function ipv4ToString(b: Uint8Array, off = 0): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

/** Parses a dotted quad into `out` at `off` (default: a new 4-octet array). */
export function parseIpv4(text: string, field: string, out: Uint8Array = new Uint8Array(4), off = 0): Uint8Array {
  const parts = text.split('.');
  if (parts.length !== 4) throw new InvalidArgumentError(`${field}: "${text}" is not an IPv4 address`, { field });
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255) {
      throw new InvalidArgumentError(`${field}: "${text}" is not an IPv4 address (octet ${i + 1})`, { field });
    }
    out[off + i] = Number(p);
  }
  return out;
}

/** Reads a 32-bit value as a dotted quad. */
export function uint32ToIpv4(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

/** Reads 16 octets at `off` as RFC 5952 text (shared/address: one formatter for the codec and the resources). */
export function ipv6ToString(b: Uint8Array, off = 0): string {
  return formatIpv6(b, off);
}

/** Parses IPv6 text (with optional "::" and trailing dotted quad) into `out` at `off`. */
export function parseIpv6(text: string, field: string, out: Uint8Array = new Uint8Array(16), off = 0): Uint8Array {
  const fail = (why: string): never => {
    throw new InvalidArgumentError(`${field}: "${text}" is not an IPv6 address (${why})`, { field });
  };
  const halves = text.split('::');
  if (halves.length > 2) fail('more than one "::"');
  const groups = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  const words: number[] = [];
  const parseGroups = (gs: string[], isLast: boolean): number[] => {
    const ws: number[] = [];
    gs.forEach((g, i) => {
      if (isLast && i === gs.length - 1 && g.includes('.')) {
        const v4 = parseIpv4(g, field);
        ws.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
        return;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) fail(`group "${g}"`);
      ws.push(parseInt(g, 16));
    });
    return ws;
  };
  const hw = parseGroups(head, halves.length === 1);
  const tw = parseGroups(tail, true);
  if (halves.length === 1) {
    if (hw.length !== 8) fail(`${hw.length} groups, expected 8`);
    words.push(...hw);
  } else {
    if (hw.length + tw.length > 7) fail('too many groups around "::"');
    words.push(...hw, ...new Array<number>(8 - hw.length - tw.length).fill(0), ...tw);
  }
  for (let i = 0; i < 8; i++) {
    out[off + 2 * i] = words[i]! >> 8;
    out[off + 2 * i + 1] = words[i]! & 255;
  }
  return out;
}
