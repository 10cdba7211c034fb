// The exporter turns Loc-RIB changes into UPDATE bytes per update group, in bounded steps.
//
// Work in one step (`step(budget)`), each phase flushed before the next so a member never sees
// an older state after a newer one:
//   1. dumps   a member that joined a group with existing state gets the group's Adj-RIB-Out
//              replayed to it alone;
//   2. walks   a new group computes its Adj-RIB-Out from the whole Loc-RIB (sent to its members);
//   3. changes dirty destinations: best path settled once, exported to every group, finished.
// Per group and phase, prefixes are collected into buckets keyed by (outbound attribute set,
// excluded member); each bucket becomes as few UPDATEs as the negotiated size allows, encoded
// once and written to every member. A member is "synced" (End-of-RIB may go out) when its dump
// and its group's walk are both complete.

import { ipv4ToUint32 } from '../../../shared/address/index.js';
import { NONE, RouteFlag, SetFlag, type Rib, type RibPeer } from '../rib/index.js';
import { mayReflect, outboundAttributes, type TargetSpec } from './rules.js';
import { WIRE_OUT_EXTRA, writeOutbound } from './wire-out.js';
import { Pending } from './pending.js';
import { SendTraces } from './send-trace.js';
import { UpdateGroup, groupKey, type GroupSpec, type OutAttrs } from './update-group.js';

export interface ExportSink {
  /**
   * Queue pre-encoded messages for one peer; the buffers are shared with other peers, and each
   * may hold several whole UPDATEs back to back.
   */
  send(peerIdx: number, messages: readonly Uint8Array[]): void;
  /** False while the peer's output queue is above its high-water mark (its dump waits). */
  ready(peerIdx: number): boolean;
  /** The peer has received our whole table (send End-of-RIB unless a restart defers it). */
  synced(peerIdx: number): void;
}

interface Dump {
  readonly group: UpdateGroup;
  cursor: number;
}

interface Walk {
  cursor: number;
}

export interface ExporterStats {
  updatesSent: number;
  prefixesAnnounced: number;
  prefixesWithdrawn: number;
}

export class Exporter {
  private readonly groups = new Map<string, UpdateGroup>();
  private readonly byMember = new Map<number, UpdateGroup>();
  private readonly dumps = new Map<number, Dump>();
  private readonly walks = new Map<UpdateGroup, Walk>();
  private readonly pendings = new Map<UpdateGroup, Pending>();
  private nextGroupId = 0;
  /** Members that joined with nothing to receive: told synced at the next step. */
  private syncedLater: number[] = [];
  readonly stats: ExporterStats = { updatesSent: 0, prefixesAnnounced: 0, prefixesWithdrawn: 0 };
  /** Traced originations: their UPDATE sends get spans (send-trace.ts). */
  readonly traces = new SendTraces();
  /**
   * Per peer index: the peer object (replaced when its router id changes) and its source key,
   * built once. Asked for every exported route: an array slot, not a WeakMap lookup.
   */
  private readonly sourceKeys: ({ peer: RibPeer; key: string } | undefined)[] = [];
  /** Scratch for outbound attributes written from a stored form. */
  private wire = new Uint8Array(512);

  constructor(
    private readonly rib: Rib,
    private readonly sink: ExportSink,
  ) {}

  // ---------------------------------------------------------------- membership

  /** A session came up: the peer joins (or creates) the group matching `spec`. */
  join(peerIdx: number, spec: GroupSpec): UpdateGroup {
    this.leave(peerIdx);
    const key = groupKey(spec);
    let g = this.groups.get(key);
    if (!g) {
      g = new UpdateGroup(this.nextGroupId++, key, spec);
      this.groups.set(key, g);
      this.walks.set(g, { cursor: 0 });
    } else if (g.advertisedCount > 0) {
      this.dumps.set(peerIdx, { group: g, cursor: 0 });
    } else if (!this.walks.has(g)) {
      // Nothing advertised yet and no walk pending: the member has the whole (empty) view.
      this.syncedLater.push(peerIdx);
    }
    g.members.add(peerIdx);
    this.byMember.set(peerIdx, g);
    return g;
  }

  /** A session went down: the peer leaves its group; an empty group is dropped. */
  leave(peerIdx: number): void {
    const g = this.byMember.get(peerIdx);
    if (!g) return;
    g.members.delete(peerIdx);
    this.byMember.delete(peerIdx);
    this.dumps.delete(peerIdx);
    if (g.members.size === 0) {
      this.groups.delete(g.key);
      this.walks.delete(g);
      this.pendings.delete(g);
    }
  }

  groupOf(peerIdx: number): UpdateGroup | undefined {
    return this.byMember.get(peerIdx);
  }

  get groupCount(): number {
    return this.groups.size;
  }

  /**
   * Re-sends a member's whole view (ROUTE-REFRESH received): its group's Adj-RIB-Out is
   * replayed to it alone; End-of-RIB follows (RFC 7313 EoRR is the caller's).
   */
  refresh(peerIdx: number): void {
    const g = this.byMember.get(peerIdx);
    if (g) this.dumps.set(peerIdx, { group: g, cursor: 0 });
  }

  /** True when nothing is queued: no dirty destination, dump or walk. */
  get idle(): boolean {
    return (
      this.rib.pendingDirty === 0 && this.dumps.size === 0 && this.walks.size === 0 && this.syncedLater.length === 0
    );
  }

  /**
   * True when a step would do something now. Output waits while a member's send queue is full
   * (dumps for that member, walks and changes for everyone): the Loc-RIB keeps absorbing changes
   * (4 octets per dirty destination) instead of UPDATE bytes piling up in user space, and
   * repeated changes to a prefix coalesce. The sink decides when a member that stays blocked no
   * longer holds the others back.
   */
  runnable(): boolean {
    if (this.syncedLater.length) return true;
    const ready = this.membersReady();
    if (ready && (this.rib.pendingDirty > 0 || this.walks.size > 0)) return true;
    for (const m of this.dumps.keys()) if (this.sink.ready(m)) return true;
    return false;
  }

  private membersReady(): boolean {
    for (const m of this.byMember.keys()) if (!this.sink.ready(m)) return false;
    return true;
  }

  // ---------------------------------------------------------------- work

  /** Does up to about `budget` destinations of work; true when more remains. */
  step(budget: number): boolean {
    if (this.syncedLater.length) {
      const members = this.syncedLater;
      this.syncedLater = [];
      for (const m of members) if (this.byMember.has(m)) this.sink.synced(m);
    }
    let left = budget;
    left = this.runDumps(left);
    if (this.membersReady()) {
      left = this.runWalks(left);
      this.runChanges(left);
    }
    if (this.idle) {
      // Reused while work flows; a reflector at rest keeps none of a burst's step arrays.
      this.pendings.clear();
      return false;
    }
    return true;
  }

  private runDumps(budget: number): number {
    if (this.dumps.size === 0) return budget;
    const limit = this.rib.destLimit;
    for (const [member, dump] of [...this.dumps]) {
      if (budget <= 0) break;
      if (!this.sink.ready(member)) continue;
      const g = dump.group;
      const pending = this.pendingFor(g);
      const end = Math.min(limit, dump.cursor + budget);
      for (let d = dump.cursor; d < end; d++) {
        if (this.rib.destAfi(d) === 0) continue;
        this.replayDest(d, g, member, pending);
      }
      budget -= end - dump.cursor;
      dump.cursor = end;
      this.flush(g, pending, member);
      if (dump.cursor >= limit) {
        this.dumps.delete(member);
        if (!this.walks.has(g)) this.sink.synced(member);
      }
    }
    return budget;
  }

  private runWalks(budget: number): number {
    if (this.walks.size === 0) return budget;
    const limit = this.rib.destLimit;
    for (const [g, walk] of [...this.walks]) {
      if (budget <= 0) break;
      const pending = this.pendingFor(g);
      const end = Math.min(limit, walk.cursor + budget);
      for (let d = walk.cursor; d < end; d++) {
        const afi = this.rib.destAfi(d);
        if (afi === 0 || this.rib.isDirty(d)) continue;
        if (!g.spec.families.includes(afi as 4 | 6)) continue;
        this.exportDest(d, g, pending);
      }
      budget -= end - walk.cursor;
      walk.cursor = end;
      this.flush(g, pending, undefined);
      if (walk.cursor >= limit) {
        this.walks.delete(g);
        for (const m of g.members) if (!this.dumps.has(m)) this.sink.synced(m);
      }
    }
    return budget;
  }

  private runChanges(budget: number): void {
    if (this.rib.pendingDirty === 0) return;
    const groups = [...this.groups.values()];
    const pendings = groups.map((g) => this.pendingFor(g));
    for (let i = 0; i < budget; i++) {
      const d = this.rib.nextDirty();
      if (d === NONE) break;
      const afi = this.rib.destAfi(d) as 4 | 6;
      for (let j = 0; j < groups.length; j++) {
        const g = groups[j]!;
        if (g.spec.families.includes(afi)) this.exportDest(d, g, pendings[j]!);
      }
      this.rib.finishDest(d);
    }
    for (let j = 0; j < groups.length; j++) this.flush(groups[j]!, pendings[j]!, undefined);
  }

  // ---------------------------------------------------------------- per destination

  /** The outbound attributes of route `r` for group `g`, or null when `g` must not get it. */
  private outFor(g: UpdateGroup, r: number, d: number): OutAttrs | null {
    const rib = this.rib;
    const peer = rib.peers[rib.routePeer(r)]!;
    const sets = rib.sets;
    const id = rib.routeSetId(r);
    const target = g.spec.target;
    if (!mayReflect(peer.kind, target.kind)) return null;
    if (blockedByFlags(sets.flags[id]!, target)) return null;
    const perAttrs = g.spec.policy.exportPerAttrs;
    const source = perAttrs ? this.sourceKey(peer, sets.flags[id]!) : '';
    const serial = sets.serial(id);
    if (perAttrs) {
      const c = g.cached(id, serial, source);
      if (c !== undefined) return c;
    }
    const afi = rib.destAfi(d) as 4 | 6;
    const originated = peer.kind === 'local';
    let out: OutAttrs | null = null;
    const plain = target.kind !== 'ebgp' && g.spec.codec.fourOctetAs;
    const accept = plain ? g.spec.policy.exportWithoutRules(afi, originated) : undefined;
    if (accept !== undefined) {
      if (accept) out = this.outFromStoredForm(g, id, afi, peer, !perAttrs);
    } else {
      const network = perAttrs ? (afi === 4 ? ZERO4 : ZERO16) : rib.destNetwork(d);
      const a = g.spec.policy.exportRoute({
        afi,
        network,
        length: rib.destLength(d),
        attrs: sets.attrs(id),
        originated,
      });
      if (a) {
        const o = outboundAttributes(a, afi, sets.nextHop(id), sets.linkLocal(id), peer.kind, peer.routerId, target);
        if (o) out = g.makeOut(o.attrs, o.nextHop, o.linkLocalNextHop, !perAttrs);
      }
    }
    if (perAttrs) g.remember(id, serial, source, out);
    return out;
  }

  /** What of the source shapes the outbound attributes (see outboundAttributes). */
  private sourceKey(peer: RibPeer, setFlags: number): string {
    if ((peer.kind === 'client' || peer.kind === 'ibgp') && !(setFlags & SetFlag.HasOriginatorId)) {
      let k = this.sourceKeys[peer.idx];
      if (k?.peer !== peer) this.sourceKeys[peer.idx] = k = { peer, key: `${peer.kind}:${peer.routerId}` };
      return k.key;
    }
    return peer.kind;
  }

  /**
   * outboundAttributes for an iBGP or client target without export rules, written from the set's
   * stored form (wire-out.ts): no decode, no encode.
   */
  private outFromStoredForm(g: UpdateGroup, id: number, afi: 4 | 6, peer: RibPeer, intern: boolean): OutAttrs | null {
    const sets = this.rib.sets;
    const t = g.spec.target;
    const nextHop = sets.nextHop(id);
    const keep = t.nextHopMode !== 'self' && nextHop !== '';
    const nh = keep ? nextHop : afi === 4 ? t.selfNextHop4 : t.selfNextHop6;
    if (!nh) return null;
    const flags = sets.flags[id]!;
    const reflect = peer.kind === 'client' || peer.kind === 'ibgp';
    const { arena, offset, length } = sets.span(id);
    if (this.wire.length < length + WIRE_OUT_EXTRA) this.wire = new Uint8Array(2 * (length + WIRE_OUT_EXTRA));
    const end = writeOutbound(arena, offset, offset + length, this.wire, 0, {
      nextHop4: afi === 4 ? ipv4ToUint32(nh) : -1,
      addLocalPref: !(flags & SetFlag.HasLocalPref),
      reflect,
      originatorId: reflect && !(flags & SetFlag.HasOriginatorId) ? peer.routerIdNum : 0,
      clusterId: g.clusterIdNum,
    });
    return g.makeOutBytes(this.wire.subarray(0, end), nh, keep ? sets.linkLocal(id) : undefined, intern);
  }

  /** Brings group `g`'s Adj-RIB-Out for `d` in line with the Loc-RIB, queueing the difference. */
  private exportDest(d: number, g: UpdateGroup, pending: Pending): void {
    const rib = this.rib;
    const afi = rib.destAfi(d) as 4 | 6;
    if (g.addPathFor(afi)) {
      this.exportDestAddPath(d, g, pending, afi);
      return;
    }
    g.ensureDestCapacity(d + 1);
    const adv = g.advRoute[d]!;
    const best = rib.bestRoute(d);
    const out = best === NONE ? null : this.outFor(g, best, d);
    if (!out) {
      if (adv !== NONE) {
        // The member the route came from never got it: no withdrawal for it either.
        const src = rib.routePeer(adv);
        pending.withdraw(d, 0, g.members.has(src) ? src : -1);
        g.advRoute[d] = NONE;
        g.advertisedCount--;
        g.countSource(rib.routePeer(adv), -1);
      }
      return;
    }
    if (adv === best && !(rib.routeFlags(best) & RouteFlag.Changed)) return;
    const src = rib.routePeer(best);
    const exclude = g.members.has(src) ? src : -1;
    pending.announce(out, afi, exclude, d, 0);
    // The source now gets nothing from us; if it had received another route, withdraw that.
    if (exclude !== -1 && adv !== NONE && rib.routePeer(adv) !== src) pending.withdrawFor(src, d);
    if (adv === NONE) g.advertisedCount++;
    else g.countSource(rib.routePeer(adv), -1);
    g.countSource(src, 1);
    g.advRoute[d] = best;
  }

  private exportDestAddPath(d: number, g: UpdateGroup, pending: Pending, afi: 4 | 6): void {
    const rib = this.rib;
    for (let r = rib.firstRoute(d); r !== NONE; r = rib.nextRoute(r)) {
      g.ensureRouteCapacity(r + 1);
      const had = g.advBits[r] === 1;
      const flags = rib.routeFlags(r);
      const out = flags & RouteFlag.Dead ? null : this.outFor(g, r, d);
      if (!out) {
        if (had) {
          const src = rib.routePeer(r);
          pending.withdraw(d, r + 1, g.members.has(src) ? src : -1);
          g.advBits[r] = 0;
          g.advertisedCount--;
          g.countSource(rib.routePeer(r), -1);
        }
        continue;
      }
      if (had && !(flags & RouteFlag.Changed)) continue;
      const src = rib.routePeer(r);
      pending.announce(out, afi, g.members.has(src) ? src : -1, d, r + 1);
      if (!had) {
        g.advBits[r] = 1;
        g.advertisedCount++;
        g.countSource(src, 1);
      }
    }
  }

  /** Queues group `g`'s current Adj-RIB-Out for `d` for one member. */
  private replayDest(d: number, g: UpdateGroup, member: number, pending: Pending): void {
    const rib = this.rib;
    const afi = rib.destAfi(d) as 4 | 6;
    if (g.addPathFor(afi)) {
      for (let r = rib.firstRoute(d); r !== NONE; r = rib.nextRoute(r)) {
        if (r >= g.advBits.length || g.advBits[r] !== 1 || rib.routePeer(r) === member) continue;
        const out = this.outFor(g, r, d);
        if (out) pending.announce(out, afi, -1, d, r + 1);
      }
      return;
    }
    if (d >= g.advRoute.length) return;
    const adv = g.advRoute[d]!;
    if (adv === NONE || rib.routePeer(adv) === member) return;
    const out = this.outFor(g, adv, d);
    if (out) pending.announce(out, afi, -1, d, 0);
  }

  // ---------------------------------------------------------------- output

  /** The group's Pending, emptied (one per group, reused across phases and steps). */
  private pendingFor(g: UpdateGroup): Pending {
    let p = this.pendings.get(g);
    if (!p) this.pendings.set(g, (p = new Pending(this.rib, g)));
    else p.reset();
    return p;
  }

  /**
   * Encodes and writes `pending`: to `only` when given, else to every member of `g`. Each member
   * gets one send of at most a few shared buffers (see pending.ts).
   */
  private flush(g: UpdateGroup, pending: Pending, only: number | undefined): void {
    if (pending.size === 0) return;
    const targets = only === undefined ? [...g.members] : [only];
    const traced = this.traces.active ? this.traces.start(g.id, targets.length) : undefined;
    const enc = pending.encode(targets, g.spec.codec, g.spec.maxMessageLength);
    let updates = 0;
    for (const m of targets) {
      const msgs: Uint8Array[] = [];
      const mine = enc.only.get(m);
      if (mine) {
        msgs.push(mine.bytes);
        updates += mine.count;
      }
      if (enc.shared) {
        msgs.push(enc.shared);
        updates += enc.sharedCount;
      }
      for (const [ex, e] of enc.except) {
        if (ex === m) continue;
        msgs.push(e.bytes);
        updates += e.count;
      }
      if (msgs.length) this.sink.send(m, msgs);
    }
    this.stats.updatesSent += updates;
    this.stats.prefixesAnnounced += enc.announced;
    this.stats.prefixesWithdrawn += enc.withdrawn;
    traced?.({ updates, announced: enc.announced, withdrawn: enc.withdrawn });
  }
}

const ZERO4 = new Uint8Array(4);
const ZERO16 = new Uint8Array(16);

/** RFC 1997 / RFC 9494 §4.5 well-known communities that stop a route before any policy. */
function blockedByFlags(flags: number, to: TargetSpec): boolean {
  if (flags & SetFlag.NoAdvertise) return true;
  if (to.kind === 'ebgp' && flags & SetFlag.NoExport) return true;
  return (flags & SetFlag.LlgrStale) !== 0 && !to.llgr;
}
