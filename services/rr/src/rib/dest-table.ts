// Destinations (one per prefix) in struct-of-arrays form with compact keys: an IPv4 prefix is
// found through an open-addressing hash of destination ids (linear probing, deletes leave a
// tombstone; 8 octets per prefix at most half load, no per-entry object), comparing the 32-bit
// network and length stored in the destination arrays; an IPv6 prefix by a short binary string. Per destination the table holds the
// head of its route chain, the current best route and flags, in typed arrays indexed by the
// destination id. A codec Prefix object is built only when a prefix leaves the RIB.
//
// Rejected alternative: Map<string, {routes: Route[]}> (GoBGP's shape). ~250 bytes per prefix
// before any route, and a string key built per NLRI on the hot path.

import type { Prefix } from '../../../bgp/index.js';

export const NONE = -1;
/** An IPv4 index slot whose destination was freed: lookups probe past it, inserts reuse it. */
const TOMB = -2;

/** Destination flag bits. */
export const DestFlag = {
  /** Queued for best-path and export processing. */
  Dirty: 1,
} as const;

/**
 * A copy of `a` at `size` elements (the new tail filled with `fill` when given, else zero). The
 * old array is left to the GC: its ArrayBuffer is in the old generation (the tables are fields
 * of long-lived objects), so it stays resident until the next full mark-compact, rare with a
 * ~15 MB heap (at 100k routes x 10 clients ~6 MB of earlier copies at peak, beside 6 MB of live
 * tables). Rejected, measured: detaching it (`structuredClone(buf, { transfer: [buf] })`, freed
 * at the next scavenge) lowered peak RSS 2-5 MB but made bench:rr-core 300k x 100k converge
 * 1.47-1.81 vs 1.16-1.30 CPU-s and withdraw 0.53-0.66 vs 0.41-0.47, most likely V8's
 * ArrayBufferDetaching protector (after a first detach every optimized typed-array access checks
 * for it): nothing in the reflector should detach an ArrayBuffer. Resizable ArrayBuffers (grown
 * in place): TurboFan's element access ~2x slower in a table-walk microbenchmark.
 */
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
  /** Tombstones in slots4; live + tombstones stay at most half the slots, so probes end. */
  private tombs4 = 0;
  private readonly v6 = new Map<string, number>();
  private readonly v6Keys = new Map<number, string>();
  private capacity = 1024;
  private high = 0;
  /** Free destination ids, chained through `first` (no memory beyond the slots themselves). */
  private freeHead = NONE;
  /**
   * Per destination, four int32 side by side: IPv4 network (IPv6 destinations keep their key in
   * v6Keys), head of the route chain (RouteTable.next links it; NONE when empty), best route (NONE
   * when no usable route), and afi | length << 8 | flags << 16 (afi 4 or 6, 0 for a free id).
   * One cache line holds all of a destination: a withdrawal arrives in the sender's table order
   * (BIRD's: its hash order), so every destination it touches is a random access, and six
   * separate arrays cost six cache misses per prefix where this costs one (a whole-table
   * withdrawal in random order took 4.5x the CPU of one in id order with separate arrays).
   */
  private m = new Int32Array(this.capacity * 4);
  /** Live destinations. */
  count = 0;

  afi(d: number): number {
    return this.m[d * 4 + 3]! & 255;
  }

  len(d: number): number {
    return (this.m[d * 4 + 3]! >>> 8) & 255;
  }

  /** The IPv4 network as int32. */
  net4(d: number): number {
    return this.m[d * 4]!;
  }

  first(d: number): number {
    return this.m[d * 4 + 1]!;
  }

  setFirst(d: number, r: number): void {
    this.m[d * 4 + 1] = r;
  }

  best(d: number): number {
    return this.m[d * 4 + 2]!;
  }

  setBest(d: number, r: number): void {
    this.m[d * 4 + 2] = r;
  }

  flags(d: number): number {
    return this.m[d * 4 + 3]! >>> 16;
  }

  setFlags(d: number, f: number): void {
    const i = d * 4 + 3;
    this.m[i] = (this.m[i]! & 0xffff) | (f << 16);
  }

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
      if (d !== TOMB && this.m[d * 4] === addr && ((this.m[d * 4 + 3]! >>> 8) & 255) === len) return d;
    }
  }

  findOrCreate(p: Prefix): number {
    if (p.afi === 4) {
      const a = addr4Of(p.bytes);
      let d = this.find4(a, p.length);
      if (d === NONE) {
        d = this.alloc(4, p.length);
        this.m[d * 4] = a;
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
    if (this.afi(d) === 4) this.remove4(d);
    else {
      this.v6.delete(this.v6Keys.get(d)!);
      this.v6Keys.delete(d);
    }
    const m = this.m;
    m[d * 4] = 0;
    m[d * 4 + 1] = this.freeHead;
    m[d * 4 + 2] = NONE;
    m[d * 4 + 3] = 0;
    this.freeHead = d;
    this.count--;
  }

  /** The destination's prefix as a codec value (allocates; satisfies Prefix's invariants). */
  prefix(d: number, pathId = 0): Prefix {
    const length = this.len(d);
    const n = (length + 7) >> 3;
    const bytes = new Uint8Array(n);
    if (this.afi(d) === 4) {
      const a = this.net4(d);
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
    if (this.afi(d) === 4) {
      const a = this.net4(d);
      return new Uint8Array([a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255]);
    }
    const k = this.v6Keys.get(d)!;
    const bytes = new Uint8Array(16);
    for (let i = 1; i < k.length; i++) bytes[i - 1] = k.charCodeAt(i);
    return bytes;
  }

  /** Adds `d`, known to be absent, in the first free or tombstone slot of its probe run. */
  private insert4(d: number): void {
    if ((this.used4 + this.tombs4 + 1) * 2 > this.slots4.length) {
      // Mostly tombstones (a table emptied and refilled): rebuild at the same size.
      this.rehash4((this.used4 + 1) * 4 > this.slots4.length ? this.slots4.length * 2 : this.slots4.length);
    }
    const slots = this.slots4;
    const mask = slots.length - 1;
    let i = hash4(this.net4(d), this.len(d)) & mask;
    while (slots[i]! >= 0) i = (i + 1) & mask;
    if (slots[i] === TOMB) this.tombs4--;
    slots[i] = d;
    this.used4++;
  }

  /**
   * Deletes by leaving a tombstone, found by comparing ids only. Rejected: backward-shift delete,
   * which read the network and length of every later entry of the probe run to find its home
   * slot (two scattered reads each): at 1M prefixes it was a fifth of a withdrawal's CPU, and a
   * withdrawal removes every destination it empties. A tombstone followed by an empty slot is
   * not needed for any probe, so those (and the tombstones just before them) become empty: a
   * table emptied entry by entry ends with none.
   */
  private remove4(d: number): void {
    const slots = this.slots4;
    const mask = slots.length - 1;
    let i = hash4(this.net4(d), this.len(d)) & mask;
    while (slots[i] !== d) i = (i + 1) & mask;
    this.used4--;
    if (slots[(i + 1) & mask] !== NONE) {
      slots[i] = TOMB;
      this.tombs4++;
      return;
    }
    slots[i] = NONE;
    for (let j = (i - 1) & mask; slots[j] === TOMB; j = (j - 1) & mask) {
      slots[j] = NONE;
      this.tombs4--;
    }
  }

  private rehash4(size: number): void {
    const old = this.slots4;
    this.slots4 = new Int32Array(size).fill(NONE);
    this.used4 = 0;
    this.tombs4 = 0;
    for (let i = 0; i < old.length; i++) if (old[i]! >= 0) this.insert4(old[i]!);
  }

  /** Probe-table occupancy, for tests: live entries and tombstones. */
  get index4Stats(): { live: number; tombstones: number; slots: number } {
    return { live: this.used4, tombstones: this.tombs4, slots: this.slots4.length };
  }

  private alloc(afi: 4 | 6, len: number): number {
    let d = this.freeHead;
    if (d !== NONE) this.freeHead = this.first(d);
    else {
      d = this.high++;
      if (d >= this.capacity) this.resize(this.capacity * 2);
    }
    const m = this.m;
    m[d * 4] = 0;
    m[d * 4 + 1] = NONE;
    m[d * 4 + 2] = NONE;
    m[d * 4 + 3] = afi | (len << 8);
    this.count++;
    return d;
  }

  private resize(n: number): void {
    this.m = grow(this.m, n * 4);
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
