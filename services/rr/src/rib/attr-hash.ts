// Hash and equality of (path attributes, next hop) for the intern table, computed from the
// decoded fields without building anything: no key string, no array of parts. Equality is exactly
// "attrKey(a) === attrKey(b)" (attr-set.ts): an absent list equals an empty one, an absent MED or
// LOCAL_PREF differs from 0, lists compare in wire order. attr-set.test.ts checks both against
// attrKey on arbitrary sets.
//
// Rejected: the canonical key string as the Map key (what the table did). At 100,000 attribute
// sets, building it (an array of ~30 parts, number-to-text conversions, a join) was the top
// function of the import profile after the garbage collector, and the kept string was ~150 octets
// per set, the largest single item of an AttrSet.

import type { PathAttributes } from '../../../bgp/index.js';

const M1 = 0xcc9e2d51;
const M2 = 0x1b873593;

/** One murmur3 round: folds 32-bit `k` into hash `h`. */
function mix(h: number, k: number): number {
  k = Math.imul(k, M1);
  k = (k << 15) | (k >>> 17);
  h ^= Math.imul(k, M2);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function mixText(h: number, s: string): number {
  h = mix(h, s.length);
  for (let i = 0; i < s.length; i++) h = mix(h, s.charCodeAt(i));
  return h;
}

function mixBytes(h: number, b: Uint8Array): number {
  h = mix(h, b.length);
  for (let i = 0; i < b.length; i++) h = mix(h, b[i]!);
  return h;
}

/** A 32-bit hash; equal sets (attrsEqual) hash equal. */
export function attrHash(a: PathAttributes, nextHop: string, linkLocal: string | undefined): number {
  let h = mix(0x9747b28c, a.origin);
  h = mix(h, a.asPath.length);
  for (const seg of a.asPath) {
    h = mix(h, seg.type);
    h = mix(h, seg.asns.length);
    for (const asn of seg.asns) h = mix(h, asn);
  }
  h = mixText(h, nextHop);
  h = mixText(h, linkLocal ?? '');
  h = mix(h, a.med === undefined ? -1 : a.med);
  h = mix(h, a.localPref === undefined ? -1 : a.localPref);
  h = mix(h, a.atomicAggregate ? 1 : 0);
  if (a.aggregator) h = mixText(mix(h, a.aggregator.asn), a.aggregator.address);
  const c = a.communities;
  if (c) for (let i = 0; i < c.length; i++) h = mix(h, c[i]!);
  const l = a.largeCommunities;
  if (l) for (const x of l) h = mix(mix(mix(h, x.globalAdmin), x.localData1), x.localData2);
  const e = a.extendedCommunities;
  if (e) for (const x of e) h = mixBytes(h, x);
  if (a.originatorId) h = mixText(h, a.originatorId);
  const cl = a.clusterList;
  if (cl) for (const x of cl) h = mixText(h, x);
  for (const u of a.unknown) h = mixBytes(mix(mix(h, u.flags), u.type), u.value);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h;
}

function numbersEqual(x: readonly number[] | undefined, y: readonly number[] | undefined): boolean {
  const n = x ? x.length : 0;
  if (n !== (y ? y.length : 0)) return false;
  for (let i = 0; i < n; i++) if (x![i] !== y![i]) return false;
  return true;
}

function textsEqual(x: readonly string[] | undefined, y: readonly string[] | undefined): boolean {
  const n = x ? x.length : 0;
  if (n !== (y ? y.length : 0)) return false;
  for (let i = 0; i < n; i++) if (x![i] !== y![i]) return false;
  return true;
}

function bytesEqual(x: Uint8Array, y: Uint8Array): boolean {
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** Whether two attribute sets (next hops compared by the caller) have the same content. */
export function attrsEqual(a: PathAttributes, b: PathAttributes): boolean {
  if (a === b) return true;
  if (
    a.origin !== b.origin ||
    a.med !== b.med ||
    a.localPref !== b.localPref ||
    !a.atomicAggregate !== !b.atomicAggregate
  )
    return false;
  if ((a.originatorId ?? '') !== (b.originatorId ?? '')) return false;
  if (a.asPath.length !== b.asPath.length) return false;
  for (let i = 0; i < a.asPath.length; i++) {
    const x = a.asPath[i]!;
    const y = b.asPath[i]!;
    if (x.type !== y.type || !numbersEqual(x.asns, y.asns)) return false;
  }
  const ag = a.aggregator;
  const bg = b.aggregator;
  if (ag ? !bg || ag.asn !== bg.asn || ag.address !== bg.address : bg) return false;
  if (!numbersEqual(a.communities, b.communities)) return false;
  const al = a.largeCommunities ?? [];
  const bl = b.largeCommunities ?? [];
  if (al.length !== bl.length) return false;
  for (let i = 0; i < al.length; i++) {
    const x = al[i]!;
    const y = bl[i]!;
    if (x.globalAdmin !== y.globalAdmin || x.localData1 !== y.localData1 || x.localData2 !== y.localData2) return false;
  }
  const ae = a.extendedCommunities ?? [];
  const be = b.extendedCommunities ?? [];
  if (ae.length !== be.length) return false;
  for (let i = 0; i < ae.length; i++) if (!bytesEqual(ae[i]!, be[i]!)) return false;
  if (!textsEqual(a.clusterList, b.clusterList)) return false;
  if (a.unknown.length !== b.unknown.length) return false;
  for (let i = 0; i < a.unknown.length; i++) {
    const x = a.unknown[i]!;
    const y = b.unknown[i]!;
    if (x.flags !== y.flags || x.type !== y.type || !bytesEqual(x.value, y.value)) return false;
  }
  return true;
}
