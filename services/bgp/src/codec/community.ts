// RFC 1997 communities as uint32 values, and their "asn:value" text.

import { InvalidArgumentError } from '../../../shared/errors/index.js';

/** The uint32 community `asn:value` (both 16-bit). */
export function community(asn: number, value: number): number {
  if (!Number.isInteger(asn) || asn < 0 || asn > 0xffff)
    throw new InvalidArgumentError(`community.asn: ${asn} is outside 0..65535`, { field: 'community.asn' });
  if (!Number.isInteger(value) || value < 0 || value > 0xffff)
    throw new InvalidArgumentError(`community.value: ${value} is outside 0..65535`, { field: 'community.value' });
  return ((asn << 16) | value) >>> 0;
}

/** "65000:100" for a uint32 community. */
export function formatCommunity(c: number): string {
  return `${c >>> 16}:${c & 0xffff}`;
}

/** Parses "65000:100". */
export function parseCommunity(text: string): number {
  const m = /^(\d{1,5}):(\d{1,5})$/.exec(text);
  if (!m) throw new InvalidArgumentError(`community: "${text}" is not asn:value`, { field: 'community' });
  return community(Number(m[1]), Number(m[2]));
}
