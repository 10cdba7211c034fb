// Address text both protocol layers need, implemented once: the BGP codec (next hops, prefixes,
// identifiers off the wire) and the resource model (Calico's CIDRs and addresses) print IPv6 the
// same way, and the BGP identifier compares as the same number in the FSM and the RIB.

/**
 * RFC 5952 text of the 16 octets at `off`: lower case, no leading zeros (§4.1), the longest run of
 * two or more zero groups compressed to "::", the first on ties (§4.2), and the dotted quad kept
 * for IPv4-mapped addresses (§5, ::ffff:a.b.c.d). The deprecated IPv4-compatible form prints as
 * hex (::102:304), as RFC 5952 and the WHATWG URL serializer do.
 */
export function formatIpv6(b: Uint8Array, off = 0): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((b[off + i * 2]! << 8) | b[off + i * 2 + 1]!);
  if (
    groups[0] === 0 &&
    groups[1] === 0 &&
    groups[2] === 0 &&
    groups[3] === 0 &&
    groups[4] === 0 &&
    groups[5] === 0xffff
  ) {
    return `::ffff:${b[off + 12]}.${b[off + 13]}.${b[off + 14]}.${b[off + 15]}`;
  }
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]): string => gs.map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

/**
 * A dotted quad as the unsigned 32-bit number (a BGP identifier, RFC 4271 §4.2, compared as one
 * in collision resolution and best-path tie-breaks). One pass over the characters: the RIB calls
 * it for every attribute set with an ORIGINATOR_ID. The text is a validated address; anything
 * without exactly three dots gives 0.
 */
export function ipv4ToUint32(text: string): number {
  let v = 0;
  let part = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      v = v * 256 + part;
      part = 0;
      dots++;
    } else part = part * 10 + (c - 48);
  }
  return dots === 3 ? (v * 256 + part) >>> 0 : 0;
}
