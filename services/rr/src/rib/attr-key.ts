// The canonical text of an attribute set, for the datastore mode's change detection (the intern
// table compares encoded octets instead, attr-set.ts).

import type { PathAttributes } from '../../../bgp/index.js';

function hex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += (b[i]! < 16 ? '0' : '') + b[i]!.toString(16);
  return s;
}

/**
 * The canonical text of (attributes, next hop): equal texts ⇔ equal sets (the datastore mode's
 * change detection; the intern table hashes instead). Field order is fixed; lists keep wire order.
 * Built with one join, so the key is one flat string: appending with `+=` leaves a tree of ~35
 * V8 cons strings per key (~1 KB), kept alive by the intern table and hashed by walking the tree
 * on every lookup; at 100,000 attribute sets that was a third of the reflector's heap.
 */
export function attrKey(a: PathAttributes, nextHop: string, linkLocal: string | undefined): string {
  const k: (string | number)[] = [a.origin, '|'];
  for (const seg of a.asPath) k.push(seg.type, ':', seg.asns.join(','), ';');
  k.push(
    '|',
    nextHop,
    '|',
    linkLocal ?? '',
    '|',
    a.med ?? '',
    '|',
    a.localPref ?? '',
    '|',
    a.atomicAggregate ? 1 : 0,
    '|',
  );
  if (a.aggregator) k.push(a.aggregator.asn, '@', a.aggregator.address);
  k.push('|');
  if (a.communities) k.push(a.communities.join(','));
  k.push('|');
  if (a.largeCommunities)
    for (const l of a.largeCommunities) k.push(l.globalAdmin, ':', l.localData1, ':', l.localData2, ',');
  k.push('|');
  if (a.extendedCommunities) for (const e of a.extendedCommunities) k.push(hex(e), ',');
  k.push('|', a.originatorId ?? '', '|');
  if (a.clusterList) k.push(a.clusterList.join(','));
  k.push('|');
  for (const u of a.unknown) k.push(u.flags, ':', u.type, ':', hex(u.value), ',');
  return k.join('');
}

/** The attributes without NEXT_HOP (the same object when there is none). */
export function stripNextHop(a: PathAttributes): PathAttributes {
  if (a.nextHop === undefined) return a;
  const { nextHop: _drop, ...rest } = a;
  return rest;
}
