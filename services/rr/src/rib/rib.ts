// The RIB: Adj-RIB-In of every peer and the one shared Loc-RIB, in one structure (BIRD's single
// rtable). A route is a slot in typed arrays (store.ts, which also holds the read interface every
// other part of the reflector uses): destination, peer, attribute set id, flags and the chain of
// all routes of its destination (the Loc-RIB candidates); attributes are shared (attr-set.ts).
// A peer's Adj-RIB-In (session down, graceful restart, persistence) is a scan of
// the route arrays for its index: rare operations, a few milliseconds per million routes.
// Rejected alternative: a per-peer doubly linked chain, 8 more octets on every route.
//
// Flow: applyUpdate / originate / withdraw change routes and mark destinations dirty; the
// exporter drains the dirty queue in chunks (nextDirty → best path settled → export to update
// groups → finishDest), so many changes to one prefix cost one best-path run and one UPDATE.
// A withdrawn route stays in its destination chain, flagged Dead, until finishDest: the exporter
// can still see what it replaced. Hot-path methods return values, never throw.

import { type PathAttributes, type Prefix, type UpdateMessage, type WirePrefixes } from '../../../bgp/index.js';
import { ipv4ToUint32 } from '../../../shared/address/index.js';
import { DEFAULT_LOCAL_PREF, LLGR_STALE, type AttrSet } from './attr-set.js';
import { SetFlag } from './attr-wire.js';
import { peerOrderKey, rankCandidates, selectBest, type Candidate, type SelectionOptions } from './best-path.js';
import { DestFlag, NONE, growTypedArray as grow } from './dest-table.js';
import { RibStore, RouteFlag, type PeerKind, type RibPeer, type RibPeerInfo, type RouteView } from './store.js';
import type { PeerPolicy } from '../policy/peer-policy.js';
import type { RouteFacts } from '../policy/evaluate.js';

export interface RibOptions extends SelectionOptions {
  readonly localAs: number;
  /** Our BGP identifier (dotted quad): ORIGINATOR_ID loop check. */
  readonly routerId: string;
  /** Our CLUSTER_ID (dotted quad): CLUSTER_LIST loop check. */
  readonly clusterId: string;
}

export interface ApplyResult {
  announced: number;
  withdrawn: number;
  rejected: number;
  /** Set when the peer went past its limit; processing stopped there. */
  maxPrefixExceeded?: { afi: 4 | 6; limit: number };
}

export type BestChangeListener = (dest: number, oldBest: number, newBest: number) => void;

/**
 * A route was added or its attributes changed (`live` true) or it was withdrawn (`live` false);
 * the slot's data (peer, destination, path id, attributes) is valid during the call.
 */
export type RouteListener = (route: number, live: boolean) => void;

const LOCAL_PEER = 0;

export class Rib extends RibStore {
  /** Dirty destinations, a FIFO in [dirtyHead, dirtyTail). */
  private dirty = new Int32Array(1024);
  private dirtyHead = 0;
  private dirtyTail = 0;
  private readonly myRouterId: string;
  private readonly myClusterId: string;
  private readonly bestListeners: BestChangeListener[] = [];
  /** Adj-RIB-In change listeners (persistence, learned-route publishing). */
  private routeListeners: RouteListener[] = [];

  constructor(
    readonly options: RibOptions,
    localPolicy: PeerPolicy,
  ) {
    super();
    this.myRouterId = options.routerId;
    this.myClusterId = options.clusterId;
    this.addPeer({
      address: options.routerId,
      kind: 'local',
      asn: options.localAs,
      routerId: options.routerId,
      policy: localPolicy,
    });
  }

  // ---------------------------------------------------------------- peers

  /** Registers a configured neighbour; its index is stable for the RIB's lifetime. */
  addPeer(info: RibPeerInfo): RibPeer {
    if (this.peers.length > 0xffff) throw new Error('more than 65535 peers');
    const p: RibPeer = {
      ...info,
      idx: this.peers.length,
      peerOrder: peerOrderKey(info.address),
      routerIdNum: ipv4ToUint32(info.routerId),
      count: 0,
      count6: 0,
      rejected: 0,
      retired: false,
    };
    this.peers.push(p);
    return p;
  }

  /** Replaces a peer's settings (kind, policy, limits); only while it holds no routes. */
  updatePeer(idx: number, info: RibPeerInfo): RibPeer {
    const old = this.peers[idx]!;
    if (old.count > 0) throw new Error(`peer ${old.address} still holds ${old.count} routes`);
    const p: RibPeer = {
      ...old,
      ...info,
      peerOrder: peerOrderKey(info.address),
      routerIdNum: ipv4ToUint32(info.routerId),
    };
    this.peers[idx] = p;
    return p;
  }

  setPeerRouterId(idx: number, routerId: string): void {
    const p = this.peers[idx]!;
    this.peers[idx] = { ...p, routerId, routerIdNum: ipv4ToUint32(routerId) };
  }

  retirePeer(idx: number): void {
    this.flushPeer(idx);
    this.peers[idx]!.retired = true;
  }

  get localPeer(): RibPeer {
    return this.peers[LOCAL_PEER]!;
  }

  onBestChange(l: BestChangeListener): void {
    this.bestListeners.push(l);
  }

  /** Calls `l` for every Adj-RIB-In change; returns the function that stops it. */
  addRouteListener(l: RouteListener): () => void {
    this.routeListeners.push(l);
    return () => {
      this.routeListeners = this.routeListeners.filter((x) => x !== l);
    };
  }

  private notify(r: number, live: boolean): void {
    for (const l of this.routeListeners) l(r, live);
  }

  // ---------------------------------------------------------------- import

  /**
   * Applies one decoded UPDATE from `peerIdx`: RFC 4456 §8 loop checks, eBGP normalisation
   * (RFC 4271 §5.1.5 LOCAL_PREF ignored, RFC 7606 §7.9/7.10 ORIGINATOR_ID/CLUSTER_LIST discarded),
   * import policy, interning, Adj-RIB-In update.
   */
  applyUpdate(peerIdx: number, u: UpdateMessage): ApplyResult {
    const peer = this.peers[peerIdx]!;
    const res: ApplyResult = { announced: 0, withdrawn: 0, rejected: 0 };
    if (u.withdrawnWire) res.withdrawn += this.withdrawWire(peer, u.withdrawnWire);
    for (const p of u.withdrawn) res.withdrawn += this.withdrawRoute(peer, p);
    if (u.mpUnreach) for (const p of u.mpUnreach.withdrawn) res.withdrawn += this.withdrawRoute(peer, p);
    const a = u.attributes;
    if (!a) return res;
    const reach: { nlri: readonly Prefix[]; nextHop: string; linkLocal?: string }[] = [];
    if (u.nlri.length) reach.push({ nlri: u.nlri, nextHop: a.nextHop ?? '' });
    if (u.mpReach && u.mpReach.nlri.length) {
      reach.push({
        nlri: u.mpReach.nlri,
        nextHop: u.mpReach.nextHop,
        ...(u.mpReach.linkLocalNextHop ? { linkLocal: u.mpReach.linkLocalNextHop } : {}),
      });
    }
    const looped = this.isLoop(peer, a);
    const base = looped ? undefined : normaliseImport(peer.kind, a);
    for (const r of reach) {
      if (!base) {
        // RFC 4456 §8 / RFC 4271 §9.1.2: a looped route is ignored, i.e. it replaces nothing.
        for (const p of r.nlri) {
          res.withdrawn += this.withdrawRoute(peer, p);
          res.rejected++;
          peer.rejected++;
        }
        continue;
      }
      let shared = NONE;
      let sharedRejected = false;
      if (peer.policy.importPerAttrs && r.nlri.length) {
        const out = peer.policy.importRoute(this.facts(r.nlri[0]!, base, false, true));
        if (out) shared = this.internImported(out, a, u.attributesWire, r.nextHop, r.linkLocal);
        else sharedRejected = true;
      }
      for (const p of r.nlri) {
        let set = NONE;
        if (shared !== NONE) {
          set = shared;
          this.attrs.retain(set);
        } else if (!sharedRejected) {
          const out = peer.policy.importRoute(this.facts(p, base, false));
          if (out) set = this.internImported(out, a, u.attributesWire, r.nextHop, r.linkLocal);
        }
        if (set === NONE) {
          res.withdrawn += this.withdrawRoute(peer, p);
          res.rejected++;
          peer.rejected++;
          continue;
        }
        this.announceRoute(peer, p, set);
        res.announced++;
        if (peer.maxPrefixes !== undefined && peer.count > peer.maxPrefixes) {
          if (shared !== NONE) this.attrs.release(shared);
          res.maxPrefixExceeded = { afi: p.afi, limit: peer.maxPrefixes };
          return res;
        }
      }
      if (shared !== NONE) this.attrs.release(shared);
    }
    return res;
  }

  /**
   * Interns what import produced. When it is the received attributes unchanged (iBGP, policy
   * without changes) and the UPDATE carried them in canonical form, their octets are the stored
   * form: hashed and compared as they are, copied only for a new set, nothing encoded.
   */
  private internImported(
    out: PathAttributes,
    received: PathAttributes,
    wire: Uint8Array | undefined,
    nextHop: string,
    linkLocal: string | undefined,
  ): number {
    if (out === received && wire) return this.attrs.internWire(wire, 0, wire.length, nextHop, linkLocal);
    return this.attrs.intern(out, nextHop, linkLocal);
  }

  private isLoop(peer: RibPeer, a: PathAttributes): boolean {
    if (peer.kind === 'ebgp') {
      const my = this.options.localAs;
      return a.asPath.some((s) => s.asns.includes(my));
    }
    if (peer.kind === 'local') return false;
    if (a.originatorId === this.myRouterId) return true;
    return a.clusterList?.includes(this.myClusterId) ?? false;
  }

  /** `anyPrefix`: for policy that does not look at the prefix (no copy of its network). */
  private facts(p: Prefix, attrs: PathAttributes, originated: boolean, anyPrefix = false): RouteFacts {
    if (anyPrefix) return { afi: p.afi, network: p.afi === 4 ? ZERO4 : ZERO16, length: p.length, attrs, originated };
    const network = new Uint8Array(p.afi === 4 ? 4 : 16);
    network.set(p.bytes);
    return { afi: p.afi, network, length: p.length, attrs, originated };
  }

  // ---------------------------------------------------------------- origination

  /** Announces (or replaces) a route originated here; attrs without next hop, nextHop '' = self. */
  originate(p: Prefix, attrs: PathAttributes, nextHop: string): void {
    const local = this.localPeer;
    const set = this.attrs.intern(attrs, nextHop);
    this.announceRoute(local, p.pathId === 0 ? p : { ...p, pathId: 0 }, set);
  }

  withdrawOriginated(p: Prefix): boolean {
    return this.withdrawRoute(this.localPeer, p.pathId === 0 ? p : { ...p, pathId: 0 }) > 0;
  }

  /**
   * Re-inserts a route from persistence (warm restart) for `peerIdx` with an interned set the
   * caller holds (a reference is taken), flagged Stale until the peer or the datastore confirms it.
   */
  restoreRoute(peerIdx: number, p: Prefix, set: AttrSet, stale: boolean): void {
    this.attrs.retain(set.id);
    const r = this.announceRoute(this.peers[peerIdx]!, p, set.id);
    if (stale) this.setRouteFlags(r, this.routeFlags(r) | RouteFlag.Stale);
  }

  // ---------------------------------------------------------------- route slots

  private findRoute(d: number, peerIdx: number, pathId: number): number {
    for (let r = this.dests.first(d); r !== NONE; r = this.nextRoute(r)) {
      if (this.routePeer(r) === peerIdx && this.pathIdOf(r) === pathId && !(this.routeFlags(r) & RouteFlag.Dead))
        return r;
    }
    return NONE;
  }

  /** Takes ownership of one reference to set `set`. Returns the route slot. */
  private announceRoute(peer: RibPeer, p: Prefix, set: number): number {
    const d = this.dests.findOrCreate(p);
    const r = this.findRoute(d, peer.idx, p.pathId);
    if (r !== NONE) {
      const flags = this.routeFlags(r);
      if (this.routeSetId(r) === set) {
        this.attrs.release(set);
        if (flags & RouteFlag.Stale) this.setRouteFlags(r, flags & ~(RouteFlag.Stale | RouteFlag.LlgrStale));
        return r;
      }
      this.attrs.release(this.routeSetId(r));
      this.setSetId(r, set);
      this.setRouteFlags(r, (flags & ~(RouteFlag.Stale | RouteFlag.LlgrStale)) | RouteFlag.Changed);
      this.markDirty(d);
      if (this.routeListeners.length) this.notify(r, true);
      return r;
    }
    const n = this.addRoute(d, peer.idx, p.pathId, set, RouteFlag.Changed);
    peer.count++;
    if (p.afi === 6) peer.count6++;
    this.live++;
    this.markDirty(d);
    if (this.routeListeners.length) this.notify(n, true);
    return n;
  }

  private withdrawRoute(peer: RibPeer, p: Prefix): number {
    const d = this.dests.find(p);
    if (d === NONE) return 0;
    const r = this.findRoute(d, peer.idx, p.pathId);
    if (r === NONE) return 0;
    this.killRoute(r);
    return 1;
  }

  /**
   * Withdraws a validated IPv4 wire-form list (the session's `withdrawnWire`): each destination
   * found from the octets as they lie in the message, no Prefix object per entry (a withdrawal
   * phase is mostly this loop). Bits past a prefix's length are cleared, as decodePrefixes does.
   */
  private withdrawWire(peer: RibPeer, w: WirePrefixes): number {
    const b = w.bytes;
    let n = 0;
    for (let p = w.start; p < w.end; ) {
      let pathId = 0;
      if (w.addPath) {
        pathId = ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
        p += 4;
      }
      const len = b[p++]!;
      const octets = (len + 7) >> 3;
      let addr = 0;
      for (let k = 0; k < 4; k++) addr = (addr << 8) | (k < octets ? b[p + k]! : 0);
      p += octets;
      const d = this.dests.find4(len === 0 ? 0 : addr & (-1 << (32 - len)), len);
      if (d === NONE) continue;
      const r = this.findRoute(d, peer.idx, pathId);
      if (r === NONE) continue;
      this.killRoute(r);
      n++;
    }
    return n;
  }

  /** Marks a live route dead: it leaves its destination's chain at finishDest. */
  private killRoute(r: number): void {
    const peer = this.peers[this.routePeer(r)]!;
    peer.count--;
    if (this.dests.afi(this.routeDest(r)) === 6) peer.count6--;
    this.live--;
    this.setRouteFlags(r, this.routeFlags(r) | RouteFlag.Dead);
    this.markDirty(this.routeDest(r));
    if (this.routeListeners.length) this.notify(r, false);
  }

  private markDirty(d: number): void {
    const f = this.dests.flags(d);
    if (f & DestFlag.Dirty) return;
    this.dests.setFlags(d, f | DestFlag.Dirty);
    if (this.dirtyTail === this.dirty.length) {
      if (this.dirtyHead * 2 >= this.dirty.length) {
        this.dirty.copyWithin(0, this.dirtyHead, this.dirtyTail);
        this.dirtyTail -= this.dirtyHead;
        this.dirtyHead = 0;
      } else this.dirty = grow(this.dirty, this.dirty.length * 2);
    }
    this.dirty[this.dirtyTail++] = d;
  }

  // ---------------------------------------------------------------- sessions and graceful restart

  /** Withdraws every route of a peer (of one family when given): session down without GR. */
  flushPeer(idx: number, afi?: 4 | 6): number {
    if (this.peers[idx]!.count === 0) return 0;
    let n = 0;
    for (const r of this.liveRoutesOf(idx, afi)) {
      this.killRoute(r);
      n++;
    }
    return n;
  }

  /** RFC 4724 §4.2: the peer restarts; keep its routes (of one family), flagged Stale. */
  markStale(idx: number, afi?: 4 | 6): number {
    if (this.peers[idx]!.count === 0) return 0;
    let n = 0;
    for (const r of this.liveRoutesOf(idx, afi)) {
      this.setRouteFlags(r, this.routeFlags(r) | RouteFlag.Stale);
      n++;
    }
    return n;
  }

  /** Withdraws the peer's routes still flagged Stale (End-of-RIB received or timer expired). */
  sweepStale(idx: number, afi?: 4 | 6): number {
    if (this.peers[idx]!.count === 0) return 0;
    let n = 0;
    for (const r of this.liveRoutesOf(idx, afi)) {
      if (this.routeFlags(r) & RouteFlag.Stale) {
        this.killRoute(r);
        n++;
      }
    }
    return n;
  }

  /**
   * RFC 9494 §4.2: the restart time ran out but the long-lived stale time did not: stale routes
   * get LLGR_STALE (and lose to every other path); those with NO_LLGR are withdrawn.
   */
  enterLongLivedStale(idx: number, afi?: 4 | 6): number {
    let n = 0;
    for (const r of this.liveRoutesOf(idx, afi)) {
      const f = this.routeFlags(r);
      if (f & RouteFlag.Stale && !(f & RouteFlag.LlgrStale)) {
        const old = this.routeSetId(r);
        if (this.attrs.flags[old]! & SetFlag.NoLlgr) this.killRoute(r);
        else {
          const a = this.attrs.attrs(old);
          const set = this.attrs.intern(
            { ...a, communities: [...(a.communities ?? []), LLGR_STALE] },
            this.attrs.nextHop(old),
            this.attrs.linkLocal(old),
          );
          this.attrs.release(old);
          this.setSetId(r, set);
          this.setRouteFlags(r, f | RouteFlag.LlgrStale | RouteFlag.Changed);
          this.markDirty(this.routeDest(r));
          if (this.routeListeners.length) this.notify(r, true);
        }
        n++;
      }
    }
    return n;
  }

  // ---------------------------------------------------------------- export side

  get pendingDirty(): number {
    return this.dirtyTail - this.dirtyHead;
  }

  /**
   * The next dirty destination with its best path recomputed (listeners told when it changed),
   * or NONE. The caller exports it and then calls finishDest.
   */
  nextDirty(): number {
    if (this.dirtyHead >= this.dirtyTail) {
      this.dirtyHead = this.dirtyTail = 0;
      return NONE;
    }
    const d = this.dirty[this.dirtyHead++]!;
    this.dests.setFlags(d, this.dests.flags(d) & ~DestFlag.Dirty);
    const old = this.dests.best(d);
    const best = this.computeBest(d);
    this.dests.setBest(d, best);
    if (best !== old || (best !== NONE && this.routeFlags(best) & RouteFlag.Changed)) {
      for (const l of this.bestListeners) l(d, old, best);
    }
    return d;
  }

  /** Unlinks dead routes, clears Changed, frees the destination when empty. */
  finishDest(d: number): void {
    let prev = NONE;
    let r = this.dests.first(d);
    while (r !== NONE) {
      const next = this.nextRoute(r);
      const f = this.routeFlags(r);
      if (f & RouteFlag.Dead) {
        if (prev === NONE) this.dests.setFirst(d, next);
        else this.setNext(prev, next);
        this.attrs.release(this.routeSetId(r));
        this.freeSlot(r);
      } else {
        if (f & RouteFlag.Changed) this.setRouteFlags(r, f & ~RouteFlag.Changed);
        prev = r;
      }
      r = next;
    }
    if (this.dests.first(d) === NONE && !(this.dests.flags(d) & DestFlag.Dirty)) this.dests.free(d);
  }

  private candidates(d: number): Candidate[] {
    const out: Candidate[] = [];
    for (let r = this.dests.first(d); r !== NONE; r = this.nextRoute(r)) {
      if (this.routeFlags(r) & RouteFlag.Dead) continue;
      out.push(this.candidate(r));
    }
    return out;
  }

  private candidate(r: number): Candidate {
    const peer = this.peers[this.routePeer(r)]!;
    const set = this.attrs.get(this.routeSetId(r));
    return {
      route: r,
      set,
      originated: peer.kind === 'local',
      ebgp: peer.kind === 'ebgp',
      routerId: set.originatorId || peer.routerIdNum,
      peerOrder: peer.peerOrder,
      pathId: this.pathIdOf(r),
    };
  }

  private computeBest(d: number): number {
    let only = NONE;
    let n = 0;
    for (let r = this.dests.first(d); r !== NONE; r = this.nextRoute(r)) {
      if (this.routeFlags(r) & RouteFlag.Dead) continue;
      only = r;
      if (++n > 1) break;
    }
    if (n <= 1) return only;
    return selectBest(this.candidates(d), this.options).route;
  }

  // ---------------------------------------------------------------- queries and sets

  /** Live routes of a destination, best first. */
  rankedRoutes(d: number): RouteView[] {
    return rankCandidates(this.candidates(d), this.options).map((c) => this.view(c.route));
  }

  /** Finds or creates the interned set (persistence restore); the caller owns one reference. */
  internAttrs(attrs: PathAttributes, nextHop: string, linkLocal?: string): AttrSet {
    return this.attrs.get(this.attrs.intern(attrs, nextHop, linkLocal));
  }

  /** internAttrs for a stored form (encodeStoredForm octets, e.g. from a snapshot). */
  internStored(bytes: Uint8Array, nextHop: string, linkLocal?: string): AttrSet {
    return this.attrs.get(this.attrs.internWire(bytes, 0, bytes.length, nextHop, linkLocal));
  }

  /** Another reference to a set (persistence holds the sets of routes it has yet to write). */
  retainAttrs(id: number): void {
    this.attrs.retain(id);
  }

  /** Drops a reference taken with internAttrs, internStored or retainAttrs. */
  releaseAttrs(set: AttrSet | number): void {
    this.attrs.release(typeof set === 'number' ? set : set.id);
  }
}

const ZERO4 = new Uint8Array(4);
const ZERO16 = new Uint8Array(16);

/**
 * A received attribute set as import sees it. NEXT_HOP stays in the object (the AttrSet keeps the
 * next hop apart and ignores the attribute): no copy per UPDATE or per new set.
 */
function normaliseImport(kind: PeerKind, a: PathAttributes): PathAttributes {
  if (kind !== 'ebgp') return a;
  const { localPref: _lp, originatorId: _o, clusterList: _c, nextHop: _nh, ...rest } = a;
  return { ...rest, localPref: DEFAULT_LOCAL_PREF };
}

export { NONE, RouteFlag };
export type { PeerKind, RibPeer, RibPeerInfo, RouteView };
