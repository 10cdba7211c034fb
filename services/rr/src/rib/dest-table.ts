// Destinations (one per prefix) in struct-of-arrays form with compact keys: an IPv4 prefix is
// found through an open-addressing hash of destination ids (linear probing, backward-shift
// delete; 8 octets per prefix at most half load, no per-entry object), comparing the 32-bit
// network and length stored in the destination arrays; an IPv6 prefix by a short binary string. Per destination the table holds the
// head of its route chain, the current best route and flags, in typed arrays indexed by the
// destination id. A codec Prefix object is built only when a prefix leaves the RIB.
//
// Rejected alternative: Map<string, {routes: Route[]}> (GoBGP's shape). ~250 bytes per prefix
// before any route, and a string key built per NLRI on the hot path.

import type { Prefix } from '../../../bgp/index.js';

export const NONE = -1;

/** Destination flag bits. */
export const DestFlag = {
  /** Queued for best-path and export processing. */
  Dirty: 1,
} as const;

function grow<T extends Int32Array | Uint8Array | Uint16Array | Uint32Array | Float64Array>(
  a: T,
  size: number,
  fill?: number,
): T {
  const b = new (a.constructor as new (n: number) => T)(size);
  b.set(a);
  if (fill !== undefined) b.fill(fill, a.length);
  return b;
}

export class DestTable {
  /** IPv4 index: destination ids, NONE for an empty slot; capacity a power of two, load <= 1/2. */
  private slots4 = new Int32Array(2048).fill(NONE);
  private used4 = 0;
  private readonly v6 = new Map<string, number>();
  private readonly v6Keys = new Map<number, string>();
  private capacity = 1024;
  private high = 0;
  /** Free destination ids, chained through `first` (no memory beyond the slots themselves). */
  private freeHead = NONE;
  /** 4 or 6 for a live destination, 0 for a free slot. */
  afi = new Uint8Array(this.capacity);
  len = new Uint8Array(this.capacity);
  /** IPv4 network as int32 (IPv6 destinations keep their key in v6Keys). */
  addr4 = new Int32Array(this.capacity);
  /** Head of the route chain (RouteTable.next links it), NONE when empty. */
  first = new Int32Array(this.capacity).fill(NONE);
  /** Best route, NONE when no usable route. */
  best = new Int32Array(this.capacity).fill(NONE);
  flags = new Uint8Array(this.capacity);
  /** Live destinations. */
  count = 0;

  /** One past the highest id ever used: iterate ids below it and skip afi 0. */
  get limit(): number {
    return this.high;
  }

  find(p: Prefix): number {
    if (p.afi === 4) return this.find4(addr4Of(p.bytes), p.length);
    return this.v6.get(key6Of(p)) ?? NONE;
  }

  find4(addr: number, len: number): number {
    const slots = this.slots4;
    const mask = slots.length - 1;
    for (let i = hash4(addr, len) & mask; ; i = (i + 1) & mask) {
      const d = slots[i]!;
      if (d === NONE) return NONE;
      if (this.addr4[d] === addr && this.len[d] === len) return d;
    }
  }

  findOrCreate(p: Prefix): number {
    if (p.afi === 4) {
      const a = addr4Of(p.bytes);
      let d = this.find4(a, p.length);
      if (d === NONE) {
        d = this.alloc(4, p.length);
        this.addr4[d] = a;
        this.insert4(d);
      }
      return d;
    }
    const k = key6Of(p);
    let d = this.v6.get(k);
    if (d === undefined) {
      d = this.alloc(6, p.length);
      this.v6.set(k, d);
      this.v6Keys.set(d, k);
    }
    return d;
  }

  /** Frees an empty destination (no routes). */
  free(d: number): void {
    if (this.afi[d] === 4) this.remove4(d);
    else {
      this.v6.delete(this.v6Keys.get(d)!);
      this.v6Keys.delete(d);
    }
    this.afi[d] = 0;
    this.first[d] = this.freeHead;
    this.best[d] = NONE;
    this.flags[d] = 0;
    this.freeHead = d;
    this.count--;
  }

  /** The destination's prefix as a codec value (allocates; satisfies Prefix's invariants). */
  prefix(d: number, pathId = 0): Prefix {
    const length = this.len[d]!;
    const n = (length + 7) >> 3;
    const bytes = new Uint8Array(n);
    if (this.afi[d] === 4) {
      const a = this.addr4[d]!;
      for (let i = 0; i < n; i++) bytes[i] = (a >>> (24 - 8 * i)) & 255;
      return { afi: 4, length, bytes, pathId };
    }
    const k = this.v6Keys.get(d)!;
    for (let i = 0; i < n; i++) bytes[i] = k.charCodeAt(i + 1);
    return { afi: 6, length, bytes, pathId };
  }

  /** The IPv6 destination's compact key (length, then the significant octets as char codes). */
  key6(d: number): string {
    return this.v6Keys.get(d)!;
  }

  /** 16 network octets (IPv6) or 4 (IPv4), for prefix matching in policy. */
  networkBytes(d: number): Uint8Array {
    if (this.afi[d] === 4) {
      const a = this.addr4[d]!;
      return new Uint8Array([a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255]);
    }
    const k = this.v6Keys.get(d)!;
    const bytes = new Uint8Array(16);
    for (let i = 1; i < k.length; i++) bytes[i - 1] = k.charCodeAt(i);
    return bytes;
  }

  private insert4(d: number): void {
    if ((this.used4 + 1) * 2 > this.slots4.length) this.rehash4(this.slots4.length * 2);
    const slots = this.slots4;
    const mask = slots.length - 1;
    let i = hash4(this.addr4[d]!, this.len[d]!) & mask;
    while (slots[i] !== NONE) i = (i + 1) & mask;
    slots[i] = d;
    this.used4++;
  }

  /** Linear-probing delete without tombstones: later entries of the run shift back. */
  private remove4(d: number): void {
    const slots = this.slots4;
    const mask = slots.length - 1;
    let i = hash4(this.addr4[d]!, this.len[d]!) & mask;
    while (slots[i] !== d) i = (i + 1) & mask;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const e = slots[j]!;
      if (e === NONE) break;
      const home = hash4(this.addr4[e]!, this.len[e]!) & mask;
      // Move e into the hole at i unless its home lies cyclically in (i, j].
      if (i <= j ? home <= i || home > j : home <= i && home > j) {
        slots[i] = e;
        i = j;
      }
    }
    slots[i] = NONE;
    this.used4--;
  }

  private rehash4(size: number): void {
    const old = this.slots4;
    this.slots4 = new Int32Array(size).fill(NONE);
    this.used4 = 0;
    for (let i = 0; i < old.length; i++) if (old[i] !== NONE) this.insert4(old[i]!);
  }

  private alloc(afi: 4 | 6, len: number): number {
    let d = this.freeHead;
    if (d !== NONE) this.freeHead = this.first[d]!;
    else {
      d = this.high++;
      if (d >= this.capacity) this.resize(this.capacity * 2);
    }
    this.afi[d] = afi;
    this.len[d] = len;
    this.first[d] = NONE;
    this.best[d] = NONE;
    this.flags[d] = 0;
    this.count++;
    return d;
  }

  private resize(n: number): void {
    this.afi = grow(this.afi, n);
    this.len = grow(this.len, n);
    this.addr4 = grow(this.addr4, n);
    this.first = grow(this.first, n, NONE);
    this.best = grow(this.best, n, NONE);
    this.flags = grow(this.flags, n);
    this.capacity = n;
  }
}

/** The IPv4 network of a prefix's significant octets as int32. */
export function addr4Of(b: Uint8Array): number {
  return ((b[0] ?? 0) << 24) | ((b[1] ?? 0) << 16) | ((b[2] ?? 0) << 8) | (b[3] ?? 0);
}

function hash4(addr: number, len: number): number {
  let h = Math.imul(addr ^ Math.imul(len, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

function key6Of(p: Prefix): string {
  return String.fromCharCode(p.length, ...p.bytes);
}

export { grow as growTypedArray };
