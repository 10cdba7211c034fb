// Where the RIB keeps its routes, and the one way the rest of the reflector reads them.
//
// Layout: a route is a slot in typed arrays (destination, peer, attribute set id, flags, next
// route of the same destination): 15 octets per route; a received ADD-PATH path id (rare) lives
// in a side map; destinations are dest-table.ts; attribute sets are attr-set.ts. The arrays are
// private: the exporter, persistence, learned-route publishing and the admin views go through
// `RibReader` (small methods V8 inlines into the hot loops), so the layout can change (wire-form
// attribute sets, a different route encoding) without touching them.
//
// Rejected alternative: readers indexing the typed arrays themselves (what they did): no call,
// but every reader knew that a route is five arrays and a destination an IPv4 int or a v6 key.

import type { Prefix } from '../../../bgp/index.js';
import { AttrTable, type AttrSet, type AttrSetReader } from './attr-set.js';
import { DestFlag, DestTable, NONE, growTypedArray as grow } from './dest-table.js';
import type { PeerPolicy } from '../policy/peer-policy.js';

/** How a route's source relates to us: RFC 4456 §6 reflection rules depend on it. */
export type PeerKind = 'local' | 'ebgp' | 'ibgp' | 'client';

export interface RibPeerInfo {
  readonly address: string;
  readonly kind: PeerKind;
  readonly asn: number;
  /** The peer's BGP identifier once known (from its OPEN). */
  readonly routerId: string;
  readonly policy: PeerPolicy;
  /** Accepted prefixes above which the session is closed with Cease (RFC 4486 subcode 1). */
  readonly maxPrefixes?: number;
}

export interface RibPeer extends RibPeerInfo {
  readonly idx: number;
  readonly peerOrder: string;
  routerIdNum: number;
  /** Live routes (its Adj-RIB-In after import policy). */
  count: number;
  /** Of which IPv6. */
  count6: number;
  /** NLRI received and rejected by import policy or loop checks, since the peer was added. */
  rejected: number;
  /** Removed from configuration; its index is never reused. */
  retired: boolean;
}

export const RouteFlag = {
  /** Withdrawn; unlinked at finishDest. */
  Dead: 1,
  /** New or attributes changed since the last export of its destination. */
  Changed: 2,
  /** Graceful restart: kept from a session that went down (RFC 4724 §4.2). */
  Stale: 4,
  /** Long-lived stale (RFC 9494): carries LLGR_STALE. */
  LlgrStale: 8,
} as const;

/** A read-only view of one route (admin, persistence, learned-route export). */
export interface RouteView {
  readonly route: number;
  readonly dest: number;
  readonly peer: RibPeer;
  readonly pathId: number;
  readonly set: AttrSet;
  readonly flags: number;
}

/**
 * What readers of the RIB may ask. Destinations and routes are small integer ids (valid until the
 * destination is freed / the route unlinked at finishDest); NONE (-1) means none.
 */
export interface RibReader {
  readonly peers: readonly RibPeer[];
  /** Live routes. */
  readonly routeCount: number;
  /** Live destinations (prefixes). */
  readonly prefixCount: number;
  readonly attributeSetCount: number;
  /** One past the highest destination id in use: iterate below it, skipping destAfi 0. */
  readonly destLimit: number;

  /** 4 or 6 for a live destination, 0 for a free id. */
  destAfi(d: number): 0 | 4 | 6;
  destLength(d: number): number;
  /** The destination's prefix as a codec value (allocates). */
  destPrefix(d: number, pathId?: number): Prefix;
  /** 4 (IPv4) or 16 (IPv6) network octets, for prefix matching in policy (allocates). */
  destNetwork(d: number): Uint8Array;
  /** Writes the prefix in NLRI form (RFC 4271 §4.3: length octet, significant octets) at `out[o]`; returns the end. */
  writeDestPrefix(out: Uint8Array, o: number, d: number): number;
  /** A compact value that identifies the prefix within its family and length: the IPv4 network as int32, or a short string for IPv6. */
  destKey(d: number): number | string;
  /** Queued for best-path and export processing. */
  isDirty(d: number): boolean;
  /** The current best route, NONE when no usable route. */
  bestRoute(d: number): number;
  /** First route of the destination's chain (dead ones included until finishDest), NONE at the end. */
  firstRoute(d: number): number;
  nextRoute(r: number): number;
  lookup(p: Prefix): number;

  routeDest(r: number): number;
  routePeer(r: number): number;
  /** A view of the route's attribute set (allocates; hot paths use routeSetId and `sets`). */
  routeSet(r: number): AttrSet;
  routeSetId(r: number): number;
  /** The attribute sets by id. */
  readonly sets: AttrSetReader;
  /** RouteFlag bits. */
  routeFlags(r: number): number;
  pathIdOf(r: number): number;
  isLive(r: number): boolean;
  view(r: number): RouteView;
  /** Live routes of one peer (its Adj-RIB-In). */
  peerRoutes(idx: number): IterableIterator<RouteView>;
  attributeSets(): IterableIterator<AttrSet>;
}

/** Route and destination storage with the read interface; rib.ts adds the routing logic. */
export abstract class RibStore implements RibReader {
  protected readonly attrs = new AttrTable();
  protected readonly dests = new DestTable();
  readonly peers: RibPeer[] = [];
  private cap = 1024;
  private high = 0;
  /** Free route slots, chained through the next-route field (no memory beyond the slots themselves). */
  private freeRoute = NONE;
  /**
   * Per route slot, four int32 side by side: next route of the same destination, attribute set
   * id (NONE for a free slot), destination, and peer | flags << 16. A withdrawal touches every
   * field of a route in an order of the sender's choosing (BIRD's hash order): one cache line per
   * route, where five separate arrays were five misses.
   */
  // Slots at or past `high` are never read (addRoute writes all four fields), so a grown array's
  // new half is left untouched: zero pages that stay out of RSS until used.
  private rt = new Int32Array(this.cap * 4);
  /** Received RFC 7911 path ids that are not 0, by route slot. */
  private readonly pathIds = new Map<number, number>();
  protected live = 0;

  // ---------------------------------------------------------------- read interface

  get routeCount(): number {
    return this.live;
  }

  get prefixCount(): number {
    return this.dests.count;
  }

  get attributeSetCount(): number {
    return this.attrs.size;
  }

  get destLimit(): number {
    return this.dests.limit;
  }

  destAfi(d: number): 0 | 4 | 6 {
    return this.dests.afi(d) as 0 | 4 | 6;
  }

  destLength(d: number): number {
    return this.dests.len(d);
  }

  destPrefix(d: number, pathId = 0): Prefix {
    return this.dests.prefix(d, pathId);
  }

  destNetwork(d: number): Uint8Array {
    return this.dests.networkBytes(d);
  }

  writeDestPrefix(out: Uint8Array, o: number, d: number): number {
    const dests = this.dests;
    const length = dests.len(d);
    const n = (length + 7) >> 3;
    out[o++] = length;
    if (dests.afi(d) === 4) {
      const net = dests.net4(d);
      for (let j = 0; j < n; j++) out[o + j] = (net >>> (24 - 8 * j)) & 255;
    } else {
      const key = dests.key6(d);
      for (let j = 0; j < n; j++) out[o + j] = key.charCodeAt(j + 1);
    }
    return o + n;
  }

  destKey(d: number): number | string {
    return this.dests.afi(d) === 4 ? this.dests.net4(d) : this.dests.key6(d);
  }

  isDirty(d: number): boolean {
    return (this.dests.flags(d) & DestFlag.Dirty) !== 0;
  }

  bestRoute(d: number): number {
    return this.dests.best(d);
  }

  firstRoute(d: number): number {
    return this.dests.first(d);
  }

  nextRoute(r: number): number {
    return this.rt[r * 4]!;
  }

  lookup(p: Prefix): number {
    return this.dests.find(p);
  }

  routeDest(r: number): number {
    return this.rt[r * 4 + 2]!;
  }

  routePeer(r: number): number {
    return this.rt[r * 4 + 3]! & 0xffff;
  }

  routeSet(r: number): AttrSet {
    return this.attrs.get(this.routeSetId(r));
  }

  routeSetId(r: number): number {
    return this.rt[r * 4 + 1]!;
  }

  get sets(): AttrSetReader {
    return this.attrs;
  }

  routeFlags(r: number): number {
    return this.rt[r * 4 + 3]! >>> 16;
  }

  /** The received path id of a route (RFC 7911), 0 without ADD-PATH. */
  pathIdOf(r: number): number {
    return this.pathIds.size === 0 ? 0 : (this.pathIds.get(r) ?? 0);
  }

  isLive(r: number): boolean {
    return !(this.routeFlags(r) & RouteFlag.Dead);
  }

  view(r: number): RouteView {
    return {
      route: r,
      dest: this.routeDest(r),
      peer: this.peers[this.routePeer(r)]!,
      pathId: this.pathIdOf(r),
      set: this.attrs.get(this.routeSetId(r)),
      flags: this.routeFlags(r),
    };
  }

  *peerRoutes(idx: number): IterableIterator<RouteView> {
    for (const r of this.liveRoutesOf(idx)) yield this.view(r);
  }

  attributeSets(): IterableIterator<AttrSet> {
    return this.attrs.entries();
  }

  // ---------------------------------------------------------------- slots (for rib.ts)

  protected setNext(r: number, next: number): void {
    this.rt[r * 4] = next;
  }

  protected setSetId(r: number, id: number): void {
    this.rt[r * 4 + 1] = id;
  }

  protected setRouteFlags(r: number, flags: number): void {
    const i = r * 4 + 3;
    this.rt[i] = (this.rt[i]! & 0xffff) | (flags << 16);
  }

  /** A new route slot at the head of `d`'s chain. */
  protected addRoute(d: number, peerIdx: number, pathId: number, setId: number, flags: number): number {
    let n = this.freeRoute;
    if (n !== NONE) this.freeRoute = this.nextRoute(n);
    else {
      if (this.high >= this.cap) {
        const c = this.cap * 2;
        this.rt = grow(this.rt, c * 4);
        this.cap = c;
      }
      n = this.high++;
    }
    const rt = this.rt;
    rt[n * 4] = this.dests.first(d);
    rt[n * 4 + 1] = setId;
    rt[n * 4 + 2] = d;
    rt[n * 4 + 3] = peerIdx | (flags << 16);
    if (pathId !== 0) this.pathIds.set(n, pathId);
    this.dests.setFirst(d, n);
    return n;
  }

  /** Returns slot `r` (already unlinked from its chain) to the free list. */
  protected freeSlot(r: number): void {
    const rt = this.rt;
    rt[r * 4] = this.freeRoute;
    rt[r * 4 + 1] = NONE;
    rt[r * 4 + 3] = 0;
    if (this.pathIds.size) this.pathIds.delete(r);
    this.freeRoute = r;
  }

  /** Live routes of peer `idx` (of one family when given), by scanning the route arrays. */
  protected *liveRoutesOf(idx: number, afi?: 4 | 6): IterableIterator<number> {
    for (let r = 0; r < this.high; r++) {
      if (this.routePeer(r) !== idx || this.routeSetId(r) === NONE || this.routeFlags(r) & RouteFlag.Dead) continue;
      if (afi === undefined || this.dests.afi(this.routeDest(r)) === afi) yield r;
    }
  }
}
