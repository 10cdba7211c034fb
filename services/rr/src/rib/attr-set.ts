// Interned path-attribute sets (BIRD's rta_lookup, hash-consed and refcounted), kept encoded.
// Every route in the RIB points at one set by id; N routes (from any number of peers) with
// identical attributes and next hop cost one set.
//
// A set is its stored form (the path attributes as encodeStoredForm writes them: ascending types,
// 4-octet ASNs, no NEXT_HOP or MP_*) in one byte arena, plus a row of typed arrays: hash, refs,
// serial, arena offset and length, next-hop pair, and the best-path inputs (LOCAL_PREF, AS_PATH
// length, ORIGIN, MED, neighbour AS, ORIGINATOR_ID, CLUSTER_LIST length, well-known community
// bits) read once from the octets at intern time (attr-wire.ts). About 60 octets per set plus
// its encoding (~40-60 octets), and nothing for the garbage collector to trace. The decoded form
// (`attrs`) is built on demand for policy, views and persistence of old snapshots.
//
// Equality is equality of the stored form and the next hops: encoding is canonical (one encoding
// per PathAttributes value, empty lists omitted), so it is exactly "same attributes". A received
// UPDATE whose attributes are already canonical (decodeUpdate's `attributesWire`, what BIRD and
// GoBGP send) is interned from its octets without encoding anything.
//
// Rejected: a decoded PathAttributes object per set (the AS path segment and its ASN array,
// community arrays, large-community objects: ~440 octets per set and a third of the heap at
// 100,000 sets), and an AttrSet object per set (~180 octets). `AttrSet` is now a view built on
// request (admin, persistence, tests); the hot paths read the arrays by id.

import { attributesFromWire, encodeStoredForm, type PathAttributes } from '../../../bgp/index.js';
import { WellKnownCommunity } from '../../../bgp/index.js';
import { NONE, growTypedArray as grow } from './dest-table.js';
import { SetFlag, scanStoredForm, type WireFields } from './attr-wire.js';

export { attrKey, stripNextHop } from './attr-key.js';

/** RFC 4271 §9.1.1: what an iBGP route without LOCAL_PREF is ranked with (BIRD's default too). */
export const DEFAULT_LOCAL_PREF = 100;

/** RFC 9494 §4.3: LLGR_STALE well-known community. */
export const LLGR_STALE: number = WellKnownCommunity.LlgrStale;
/** RFC 9494 §4.4: NO_LLGR well-known community. */
export const NO_LLGR: number = WellKnownCommunity.NoLlgr;

/** A read-only view of one set, valid while the set is referenced (built per request). */
export class AttrSet {
  constructor(
    private readonly t: AttrTable,
    readonly id: number,
  ) {}
  /** Unique over the table's lifetime (ids are reused): lets caches indexed by id detect reuse. */
  get serial(): number {
    return this.t.serial(this.id);
  }
  /** The decoded attributes (built from the stored form; without NEXT_HOP). */
  get attrs(): PathAttributes {
    return this.t.attrs(this.id);
  }
  /** The stored form (a view into the arena; copy it to keep it). */
  get bytes(): Uint8Array {
    return this.t.bytes(this.id);
  }
  /** IPv4 or IPv6 next hop text; '' for a locally originated route that uses "self". */
  get nextHop(): string {
    return this.t.nextHop(this.id);
  }
  get linkLocalNextHop(): string | undefined {
    return this.t.linkLocal(this.id);
  }
  get localPref(): number {
    return this.t.localPref[this.id]!;
  }
  get asPathLength(): number {
    return this.t.asPathLength[this.id]!;
  }
  get neighborAs(): number {
    return this.t.neighborAs[this.id]!;
  }
  get med(): number {
    return this.t.med[this.id]!;
  }
  get originatorId(): number {
    return this.t.originatorId[this.id]!;
  }
  get origin(): number {
    return this.t.origin[this.id]!;
  }
  get clusterListLength(): number {
    return this.t.clusterListLength[this.id]!;
  }
  get llgrStale(): boolean {
    return (this.t.flags[this.id]! & SetFlag.LlgrStale) !== 0;
  }
  get refs(): number {
    return this.t.refs[this.id]!;
  }
}

/** What readers of the RIB may ask of the sets by id (the exporter's hot path: no view object). */
export interface AttrSetReader {
  serial(id: number): number;
  /** SetFlag bits (attr-wire.ts). */
  readonly flags: Uint8Array;
  span(id: number): { arena: Uint8Array; offset: number; length: number };
  nextHop(id: number): string;
  linkLocal(id: number): string | undefined;
  attrs(id: number): PathAttributes;
  get(id: number): AttrSet;
}

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

/** Hash of (octets, next-hop pair), four octets per round. */
function hashBytes(b: Uint8Array, start: number, end: number, nh: number): number {
  let h = mix(0x9747b28c ^ nh, end - start);
  let i = start;
  for (; i + 4 <= end; i += 4) h = mix(h, b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24));
  let k = 0;
  for (let s = 0; i < end; i++, s += 8) k |= b[i]! << s;
  h = mix(h, k);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h;
}

/**
 * The intern table. `intern*` return the id of the existing set for equal content (refs + 1) or
 * of a new one; `release` drops a reference and frees the set at zero. Ids are reused after free.
 */
export class AttrTable implements AttrSetReader {
  /** Set ids by hash, NONE for an empty slot; capacity a power of two, load <= 1/2. */
  private slots = new Int32Array(1024).fill(NONE);
  private count = 0;
  private cap = 256;
  /** One past the highest id ever used. */
  private high = 0;
  private freeIds: number[] = [];
  private serials = 0;
  hash = new Int32Array(this.cap);
  /** 0 for a free id. */
  refs = new Int32Array(this.cap);
  private serialOf = new Float64Array(this.cap);
  private off = new Int32Array(this.cap);
  private len = new Int32Array(this.cap);
  /** Next-hop pair index (nextHops). */
  private nhOf = new Int32Array(this.cap);
  localPref = new Uint32Array(this.cap);
  med = new Uint32Array(this.cap);
  neighborAs = new Uint32Array(this.cap);
  originatorId = new Uint32Array(this.cap);
  asPathLength = new Uint16Array(this.cap);
  clusterListLength = new Uint16Array(this.cap);
  origin = new Uint8Array(this.cap);
  /** SetFlag bits. */
  flags = new Uint8Array(this.cap);
  /** The stored forms, back to back; `garbage` octets of it belong to freed sets. */
  private arena = new Uint8Array(64 * 1024);
  private arenaEnd = 0;
  private garbage = 0;
  /** Next-hop pairs (next hop, link-local), refcounted by the sets using them. */
  private readonly nhIndex = new Map<string, number>();
  private nhText: string[] = [];
  private nhLink: (string | undefined)[] = [];
  private nhRefs: number[] = [];
  private nhFree: number[] = [];
  private readonly scratch: WireFields = {
    origin: 0,
    asPathLength: 0,
    neighborAs: 0,
    med: 0,
    localPref: 0,
    originatorId: 0,
    clusterListLength: 0,
    flags: 0,
  };
  /** The last decoded set (policy and views ask for one set many times in a row). */
  private decodedId = NONE;
  private decodedSerial = 0;
  private decoded: PathAttributes | undefined;

  get size(): number {
    return this.count;
  }

  /** Octets of the byte arena in use (stored forms, live and not yet compacted). */
  get arenaBytes(): number {
    return this.arenaEnd;
  }

  /** A view of set `id` (not kept by the table). */
  get(id: number): AttrSet {
    return new AttrSet(this, id);
  }

  serial(id: number): number {
    return this.serialOf[id]!;
  }

  bytes(id: number): Uint8Array {
    const o = this.off[id]!;
    return this.arena.subarray(o, o + this.len[id]!);
  }

  /** The arena and the set's span in it, for readers that copy the octets out (the exporter). */
  span(id: number): { arena: Uint8Array; offset: number; length: number } {
    return { arena: this.arena, offset: this.off[id]!, length: this.len[id]! };
  }

  nextHop(id: number): string {
    return this.nhText[this.nhOf[id]!]!;
  }

  linkLocal(id: number): string | undefined {
    return this.nhLink[this.nhOf[id]!];
  }

  /** Same next hops (and so the same `nextHop` / `linkLocal`). */
  nextHopIndex(id: number): number {
    return this.nhOf[id]!;
  }

  /** The decoded attributes of set `id` (without NEXT_HOP). */
  attrs(id: number): PathAttributes {
    const serial = this.serialOf[id]!;
    if (this.decodedId === id && this.decodedSerial === serial && this.decoded) return this.decoded;
    const a = attributesFromWire(this.bytes(id));
    this.decoded = a;
    this.decodedId = id;
    this.decodedSerial = serial;
    return a;
  }

  /**
   * Finds or creates the set for decoded attributes; the caller owns one new reference.
   * `attrs.nextHop` is ignored: the next hop is `nextHop`.
   */
  intern(attrs: PathAttributes, nextHop: string, linkLocal?: string): number {
    const b = encodeStoredForm(attrs);
    return this.internWire(b, 0, b.length, nextHop, linkLocal);
  }

  /** Finds or creates the set whose stored form is `b[start, end)`; the caller owns one new reference. */
  internWire(b: Uint8Array, start: number, end: number, nextHop: string, linkLocal?: string): number {
    const nh = this.nhFind(nextHop, linkLocal);
    const hash = hashBytes(b, start, end, nh);
    const n = end - start;
    const slots = this.slots;
    const mask = slots.length - 1;
    let i = hash & mask;
    for (let id = slots[i]!; id !== NONE; id = slots[(i = (i + 1) & mask)]!) {
      if (this.hash[id] === hash && this.nhOf[id] === nh && this.len[id] === n && this.sameBytes(id, b, start)) {
        this.refs[id]!++;
        return id;
      }
    }
    const id = this.freeIds.length ? this.freeIds.pop()! : this.newId();
    this.nhRefs[nh]!++;
    this.place(id, b, start, n);
    this.hash[id] = hash;
    this.refs[id] = 1;
    this.serialOf[id] = ++this.serials;
    this.nhOf[id] = nh;
    const f = this.scratch;
    scanStoredForm(b, start, end, f);
    this.localPref[id] = f.flags & SetFlag.HasLocalPref ? f.localPref : DEFAULT_LOCAL_PREF;
    this.med[id] = f.med;
    this.neighborAs[id] = f.neighborAs;
    this.originatorId[id] = f.originatorId;
    this.asPathLength[id] = Math.min(f.asPathLength, 0xffff);
    this.clusterListLength[id] = Math.min(f.clusterListLength, 0xffff);
    this.origin[id] = f.origin;
    this.flags[id] = f.flags;
    if ((this.count + 1) * 2 > slots.length) this.rehash(slots.length * 2);
    this.insert(id, hash);
    this.count++;
    return id;
  }

  /** Another reference to a set the caller already holds. */
  retain(id: number): void {
    this.refs[id]!++;
  }

  release(id: number): void {
    if (--this.refs[id]! > 0) return;
    this.remove(id);
    this.count--;
    this.garbage += this.len[id]!;
    this.len[id] = 0;
    const nh = this.nhOf[id]!;
    if (--this.nhRefs[nh]! === 0) {
      this.nhIndex.delete(nhKey(this.nhText[nh]!, this.nhLink[nh]));
      this.nhFree.push(nh);
    }
    this.freeIds.push(id);
    if (id === this.decodedId) this.decoded = undefined;
  }

  /** Ids of every live set (admin and persistence). */
  *ids(): IterableIterator<number> {
    for (let id = 0; id < this.high; id++) if (this.refs[id]! > 0) yield id;
  }

  *entries(): IterableIterator<AttrSet> {
    for (const id of this.ids()) yield new AttrSet(this, id);
  }

  private nhFind(nextHop: string, linkLocal: string | undefined): number {
    const key = nhKey(nextHop, linkLocal);
    let i = this.nhIndex.get(key);
    if (i === undefined) {
      i = this.nhFree.length ? this.nhFree.pop()! : this.nhText.length;
      this.nhText[i] = nextHop;
      this.nhLink[i] = linkLocal;
      this.nhRefs[i] = 0;
      this.nhIndex.set(key, i);
    }
    return i;
  }

  private sameBytes(id: number, b: Uint8Array, start: number): boolean {
    const a = this.arena;
    const o = this.off[id]!;
    const n = this.len[id]!;
    for (let k = 0; k < n; k++) if (a[o + k] !== b[start + k]) return false;
    return true;
  }

  /** Copies a stored form into the arena (compacting or growing it first when full). */
  private place(id: number, b: Uint8Array, start: number, n: number): void {
    if (this.arenaEnd + n > this.arena.length) {
      if (this.garbage * 2 >= this.arenaEnd) this.compact(n);
      if (this.arenaEnd + n > this.arena.length) {
        let size = this.arena.length * 2;
        while (size < this.arenaEnd + n) size *= 2;
        this.arena = grow(this.arena, size);
      }
    }
    this.arena.set(b.subarray(start, start + n), this.arenaEnd);
    this.off[id] = this.arenaEnd;
    this.len[id] = n;
    this.arenaEnd += n;
  }

  /** Moves every live stored form to the front of a fresh arena (freed sets' octets dropped). */
  private compact(extra: number): void {
    const live = this.arenaEnd - this.garbage;
    let size = 64 * 1024;
    while (size < (live + extra) * 2) size *= 2;
    const next = new Uint8Array(size);
    let o = 0;
    for (let id = 0; id < this.high; id++) {
      if (this.refs[id]! <= 0) continue;
      const from = this.off[id]!;
      const n = this.len[id]!;
      next.set(this.arena.subarray(from, from + n), o);
      this.off[id] = o;
      o += n;
    }
    this.arena = next;
    this.arenaEnd = o;
    this.garbage = 0;
  }

  private newId(): number {
    if (this.high === this.cap) {
      const c = this.cap * 2;
      this.hash = grow(this.hash, c);
      this.refs = grow(this.refs, c);
      this.serialOf = grow(this.serialOf, c);
      this.off = grow(this.off, c);
      this.len = grow(this.len, c);
      this.nhOf = grow(this.nhOf, c);
      this.localPref = grow(this.localPref, c);
      this.med = grow(this.med, c);
      this.neighborAs = grow(this.neighborAs, c);
      this.originatorId = grow(this.originatorId, c);
      this.asPathLength = grow(this.asPathLength, c);
      this.clusterListLength = grow(this.clusterListLength, c);
      this.origin = grow(this.origin, c);
      this.flags = grow(this.flags, c);
      this.cap = c;
    }
    return this.high++;
  }

  private insert(id: number, hash: number): void {
    const slots = this.slots;
    const mask = slots.length - 1;
    let i = hash & mask;
    while (slots[i] !== NONE) i = (i + 1) & mask;
    slots[i] = id;
  }

  /** Linear-probing delete without tombstones: later entries of the run shift back. */
  private remove(id: number): void {
    const slots = this.slots;
    const mask = slots.length - 1;
    let i = this.hash[id]! & mask;
    while (slots[i] !== id) i = (i + 1) & mask;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const e = slots[j]!;
      if (e === NONE) break;
      const home = this.hash[e]! & mask;
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
    for (let i = 0; i < old.length; i++) if (old[i] !== NONE) this.insert(old[i]!, this.hash[old[i]!]!);
  }
}

function nhKey(nextHop: string, linkLocal: string | undefined): string {
  return linkLocal === undefined ? nextHop : `${nextHop} ${linkLocal}`;
}
