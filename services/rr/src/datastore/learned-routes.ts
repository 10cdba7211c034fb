// Learned routes → the datastore (kind LearnedRoute), so the sync servers fan them out to agents.
//
// Who writes what: each reflector writes only LearnedRoutes whose spec.learnedBy is its own Node
// name, one per (peer, prefix) of its external peers (peerIP peers that are not Calico nodes:
// switches, routers), named learnedRouteName(learnedBy, peer, prefix). Two reflectors that learn
// the same prefix (from the same switch or from two) therefore write two resources, never the
// same key: no write conflicts and no flapping when one reflector goes away; consumers see every
// copy and choose (agents program the union of next hops). A reflector deletes its own
// LearnedRoutes for a peer when the routes go (withdrawal, session down without graceful
// restart), and after the peer's End-of-RIB it deletes those of its own that the peer did not
// re-announce (left over from before a restart).
//
// Writes are batched: changes collect in a map (latest wins per name) and are flushed every
// `flushMs` with bounded concurrency, off the BGP hot path. A failed write is retried.
//
// What this reflector published before is listed once at start (load()), while BGP already runs:
// a datastore round trip is not worth delaying the reflector's first UPDATEs for. Only deleting
// leftovers needs that list, so an End-of-RIB or an unwatched peer before it arrived is
// reconsidered once it has.

import type { Logger } from 'pino';
import { learnedRouteName, type LearnedRouteSpec } from '../../../shared/resources/index.js';
import type { DatastoreClient } from '../../../shared/datastore-client/index.js';
import { NotFoundError } from '../../../shared/errors/index.js';
import { AsPathSegmentType, formatCommunity, prefixToString } from '../../../bgp/index.js';
import { NONE, type Rib } from '../rib/index.js';

export interface PublisherOptions {
  readonly flushMs?: number;
  readonly concurrency?: number;
}

export class LearnedRoutePublisher {
  /** name → spec to write, or null to delete. */
  private pending = new Map<string, LearnedRouteSpec | null>();
  /** What the datastore holds from us: name → peer address. */
  private readonly published = new Map<string, string>();
  private readonly watched = new Map<number, string>();
  /** load() has filled `published`: leftovers can be told apart. */
  private loaded = false;
  /** Peers (RIB index) whose End-of-RIB came before load() finished. */
  private readonly reconcileAfterLoad = new Set<number>();
  /** Peers (address) unwatched before load() finished. */
  private readonly dropAfterLoad = new Set<string>();
  private stopListening: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private closed = false;
  private readonly flushMs: number;
  private readonly concurrency: number;
  writes = 0;
  failures = 0;

  constructor(
    private readonly rib: Rib,
    private readonly client: DatastoreClient,
    readonly learnedBy: string,
    private readonly log: Logger,
    options: PublisherOptions = {},
  ) {
    this.flushMs = options.flushMs ?? 250;
    this.concurrency = options.concurrency ?? 16;
  }

  /**
   * Loads what this reflector published before (so leftovers can be cleaned up), then deletes the
   * leftovers of peers that ended their End-of-RIB or were unwatched meanwhile. On failure nothing
   * published before is deleted (the caller logs why).
   */
  async load(): Promise<void> {
    const { items } = await this.client.list('LearnedRoute');
    for (const r of items) {
      const spec = r.spec as Partial<LearnedRouteSpec> | undefined;
      if (spec?.learnedBy === this.learnedBy && typeof spec.peer === 'string')
        this.published.set(r.metadata.name, spec.peer);
    }
    this.loaded = true;
    if (this.closed) return;
    for (const idx of this.reconcileAfterLoad) this.reconcilePeer(idx);
    const watchedNow = new Set(this.watched.values());
    for (const address of this.dropAfterLoad) if (!watchedNow.has(address)) this.dropPeer(address, new Set());
    this.reconcileAfterLoad.clear();
    this.dropAfterLoad.clear();
  }

  /** Publishes the routes of peer `idx` (address `address`) from now on. */
  watch(idx: number, address: string): void {
    if (this.watched.get(idx) === address) return;
    this.watched.set(idx, address);
    this.stopListening ??= this.rib.addRouteListener((r, live) => {
      const a = this.watched.get(this.rib.routePeer(r));
      if (a !== undefined) this.onRoute(a, r, live);
    });
    for (const v of this.rib.peerRoutes(idx)) this.onRoute(address, v.route, true);
  }

  /** Stops publishing a peer's routes and deletes what was published for it. */
  unwatch(idx: number): void {
    const address = this.watched.get(idx);
    if (address === undefined) return;
    this.watched.delete(idx);
    if (!this.loaded) this.dropAfterLoad.add(address);
    this.dropPeer(address, new Set());
  }

  /** After the peer's End-of-RIB: delete our LearnedRoutes for it that it did not re-announce. */
  reconcilePeer(idx: number): void {
    const address = this.watched.get(idx);
    if (address === undefined) return;
    if (!this.loaded) {
      this.reconcileAfterLoad.add(idx);
      return;
    }
    const keep = new Set<string>();
    for (const v of this.rib.peerRoutes(idx))
      keep.add(learnedRouteName(this.learnedBy, address, prefixToString(this.rib.destPrefix(v.dest))));
    this.dropPeer(address, keep);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.stopListening?.();
    await this.flushing;
  }

  /** Resolves when everything queued so far is written (tests). */
  async settled(): Promise<void> {
    while (this.pending.size > 0 || this.flushing) await (this.flushing ?? this.flush());
  }

  private dropPeer(address: string, keep: ReadonlySet<string>): void {
    // Before load() only what this run queued is known; the rest waits for the list.
    if (this.loaded)
      for (const [name, peer] of this.published) if (peer === address && !keep.has(name)) this.queue(name, null);
    for (const [name, spec] of this.pending)
      if (spec && spec.peer === address && !keep.has(name)) this.pending.set(name, null);
  }

  private onRoute(address: string, r: number, live: boolean): void {
    const rib = this.rib;
    const d = rib.routeDest(r);
    const prefix = prefixToString(rib.destPrefix(d));
    const name = learnedRouteName(this.learnedBy, address, prefix);
    let route = live ? r : NONE;
    if (!live) {
      // ADD-PATH: another path of the same peer may remain for this prefix.
      const peer = rib.routePeer(r);
      for (let x = rib.firstRoute(d); x !== NONE; x = rib.nextRoute(x))
        if (x !== r && rib.routePeer(x) === peer && rib.isLive(x)) route = x;
    }
    if (route === NONE) {
      this.queue(name, null);
      return;
    }
    const set = rib.routeSet(route);
    const a = set.attrs;
    const asPath: number[] = [];
    for (const seg of a.asPath)
      if (seg.type === AsPathSegmentType.AsSequence || seg.type === AsPathSegmentType.AsSet) asPath.push(...seg.asns);
    const communities = [
      ...(a.communities ?? []).map(formatCommunity),
      ...(a.largeCommunities ?? []).map((l) => `${l.globalAdmin}:${l.localData1}:${l.localData2}`),
    ];
    this.queue(name, { prefix, nextHop: set.nextHop, asPath, communities, learnedBy: this.learnedBy, peer: address });
  }

  private queue(name: string, spec: LearnedRouteSpec | null): void {
    if (spec === null && !this.published.has(name) && !this.pending.has(name)) return;
    this.pending.set(name, spec);
    if (!this.timer && !this.closed) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flush();
      }, this.flushMs);
      this.timer.unref();
    }
  }

  private flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    const batch = [...this.pending];
    this.pending = new Map();
    this.flushing = this.write(batch).finally(() => {
      this.flushing = undefined;
      if (this.pending.size && !this.closed && !this.timer) void this.flush();
    });
    return this.flushing;
  }

  private async write(batch: [string, LearnedRouteSpec | null][]): Promise<void> {
    let i = 0;
    const worker = async (): Promise<void> => {
      while (i < batch.length) {
        const [name, spec] = batch[i++]!;
        try {
          if (spec) {
            await this.client.apply({
              apiVersion: 'projectcalico.org/v3',
              kind: 'LearnedRoute',
              metadata: { name },
              spec,
            });
            this.published.set(name, spec.peer);
          } else {
            await this.client.delete('LearnedRoute', name).catch((err: unknown) => {
              if (!(err instanceof NotFoundError)) throw err;
            });
            this.published.delete(name);
          }
          this.writes++;
        } catch (err) {
          this.failures++;
          this.log.warn({ err, name }, 'LearnedRoute write failed; will retry');
          if (!this.pending.has(name) && !this.closed) this.queue(name, spec);
          await new Promise((r) => setTimeout(r, this.flushMs));
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, batch.length) }, worker));
  }
}
