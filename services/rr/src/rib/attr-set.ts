// Interned path-attribute sets (BIRD's rta_lookup, hash-consed and refcounted). Every route in
// the RIB points at one AttrSet by id; N routes (from any number of peers) with identical
// attributes and next hop cost one AttrSet. The best-path inputs are derived once here, at intern
// time, so selection never walks an AS_PATH or a CLUSTER_LIST.
//
// Sets are found by a 32-bit hash of their content in an open-addressing table of ids (8 octets
// per set at most half load), compared field by field (attr-hash.ts): no key string per set.
//
// Rejected alternative: keying by the received attribute bytes. Cheaper per UPDATE, but two peers
// (or one peer with and without 4-octet AS) encode identical sets differently, and we would still
// need the decoded form for policy; the decoded UPDATE gives one PathAttributes per message, so a
// hash computed once per UPDATE costs nothing per prefix.

import { ipv4ToUint32 } from '../../../shared/address/index.js';
import { AsPathSegmentType, WellKnownCommunity, type PathAttributes } from '../../../bgp/index.js';
import { attrHash, attrsEqual } from './attr-hash.js';
import { NONE } from './dest-table.js';

/** RFC 4271 §9.1.1: what an iBGP route without LOCAL_PREF is ranked with (BIRD's default too). */
export const DEFAULT_LOCAL_PREF = 100;

/** RFC 9494 §4.3: LLGR_STALE well-known community. */
export const LLGR_STALE: number = WellKnownCommunity.LlgrStale;
/** RFC 9494 §4.4: NO_LLGR well-known community. */
export const NO_LLGR: number = WellKnownCommunity.NoLlgr;

/**
 * One interned attribute set. Immutable except `refs`. Invariant: while `refs > 0` it is the only
 * AttrSet with this content (attributes and next hops) and `table.get(id) === this`.
 */
export interface AttrSet {
  readonly id: number;
  /** Unique over the table's lifetime (ids are reused): lets caches indexed by id detect reuse. */
  readonly serial: number;
  /** Hash of the content (attr-hash.ts). */
  readonly hash: number;
  /** As received or built; a NEXT_HOP in it is not authoritative (see `nextHop`). */
  readonly attrs: PathAttributes;
  /** IPv4 or IPv6 next hop text; '' for a locally originated route that uses "self". */
  readonly nextHop: string;
  readonly linkLocalNextHop: string | undefined;
  /** LOCAL_PREF, or DEFAULT_LOCAL_PREF when absent. */
  readonly localPref: number;
  /** RFC 4271 §9.1.2.2 a: AS_SET counts 1, confederation segments 0. */
  readonly asPathLength: number;
  /** First AS of the leftmost AS_SEQUENCE (RFC 4271 §9.1.2.2 c), 0 when none (local / iBGP-originated). */
  readonly neighborAs: number;
  /** MED, 0 when absent (RFC 4271 §9.1.2.2 c: a missing MED is the lowest value). */
  readonly med: number;
  /** ORIGINATOR_ID as uint32, 0 when absent. */
  readonly originatorId: number;
  readonly clusterListLength: number;
  /** Carries LLGR_STALE (RFC 9494 §4.3: least preferred). */
  readonly llgrStale: boolean;
  refs: number;
}

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

function asPathLength(a: PathAttributes): number {
  let n = 0;
  for (const seg of a.asPath) {
    if (seg.type === AsPathSegmentType.AsSequence) n += seg.asns.length;
    else if (seg.type === AsPathSegmentType.AsSet) n += 1;
  }
  return n;
}

function neighborAs(a: PathAttributes): number {
  for (const seg of a.asPath) {
    if (seg.type === AsPathSegmentType.AsSequence && seg.asns.length > 0) return seg.asns[0]!;
    if (seg.type === AsPathSegmentType.AsSet) return 0;
  }
  return 0;
}

/**
 * The intern table. `intern` returns the existing set for equal content (refs + 1) or a new one;
 * `release` drops a reference and frees the set at zero. Ids are reused after free.
 */
export class AttrTable {
  /** Set ids by hash, NONE for an empty slot; capacity a power of two, load <= 1/2. */
  private slots = new Int32Array(1024).fill(NONE);
  private count = 0;
  private readonly byId: (AttrSet | undefined)[] = [];
  private readonly freeIds: number[] = [];
  private serials = 0;

  get size(): number {
    return this.count;
  }

  get(id: number): AttrSet {
    return this.byId[id]!;
  }

  /**
   * Finds or creates the set; the caller owns one new reference. `attrs.nextHop` is ignored (the
   * next hop is `nextHop`): it takes no part in equality and is kept as received in `attrs` (a
   * received UPDATE's attributes object is stored as it is, not copied without NEXT_HOP: ~100
   * octets per set). Readers take the next hop from `nextHop`; outboundAttributes sets NEXT_HOP
   * (IPv4) or drops it (IPv6) for every export.
   */
  intern(attrs: PathAttributes, nextHop: string, linkLocal?: string): AttrSet {
    const hash = attrHash(attrs, nextHop, linkLocal);
    const slots = this.slots;
    const mask = slots.length - 1;
    let i = hash & mask;
    for (let id = slots[i]!; id !== NONE; id = slots[(i = (i + 1) & mask)]!) {
      const s = this.byId[id]!;
      if (s.hash === hash && s.nextHop === nextHop && s.linkLocalNextHop === linkLocal && attrsEqual(s.attrs, attrs)) {
        s.refs++;
        return s;
      }
    }
    const id = this.freeIds.pop() ?? this.byId.length;
    const set: AttrSet = {
      id,
      serial: ++this.serials,
      hash,
      attrs,
      nextHop,
      linkLocalNextHop: linkLocal,
      localPref: attrs.localPref ?? DEFAULT_LOCAL_PREF,
      asPathLength: asPathLength(attrs),
      neighborAs: neighborAs(attrs),
      med: attrs.med ?? 0,
      originatorId: attrs.originatorId ? ipv4ToUint32(attrs.originatorId) : 0,
      clusterListLength: attrs.clusterList?.length ?? 0,
      llgrStale: attrs.communities?.includes(LLGR_STALE) ?? false,
      refs: 1,
    };
    this.byId[id] = set;
    if ((this.count + 1) * 2 > slots.length) this.rehash(slots.length * 2);
    this.insert(id, hash);
    this.count++;
    return set;
  }

  /** Another reference to a set the caller already holds. */
  retain(set: AttrSet): void {
    set.refs++;
  }

  release(set: AttrSet): void {
    if (--set.refs > 0) return;
    this.remove(set);
    this.count--;
    this.byId[set.id] = undefined;
    this.freeIds.push(set.id);
  }

  /** Every live set (admin and persistence). */
  *entries(): IterableIterator<AttrSet> {
    for (const s of this.byId) if (s) yield s;
  }

  private insert(id: number, hash: number): void {
    const slots = this.slots;
    const mask = slots.length - 1;
    let i = hash & mask;
    while (slots[i] !== NONE) i = (i + 1) & mask;
    slots[i] = id;
  }

  /** Linear-probing delete without tombstones: later entries of the run shift back. */
  private remove(set: AttrSet): void {
    const slots = this.slots;
    const mask = slots.length - 1;
    let i = set.hash & mask;
    while (slots[i] !== set.id) i = (i + 1) & mask;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const e = slots[j]!;
      if (e === NONE) break;
      const home = this.byId[e]!.hash & mask;
      // Move e into the hole at i unless its home lies cyclically in (i, j].
      if (i <= j ? home <= i || home > j : home <= i && home > j) {
        slots[i] = e;
        i = j;
      }
    }
    slots[i] = NONE;
  }

  private rehash(size: number): void {
    const old = this.slots;
    this.slots = new Int32Array(size).fill(NONE);
    for (let i = 0; i < old.length; i++) if (old[i] !== NONE) this.insert(old[i]!, this.byId[old[i]!]!.hash);
  }
}
