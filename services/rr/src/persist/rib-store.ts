// The RIB on disk (LMDB), for warm restart. What is kept: every peer's Adj-RIB-In after import
// policy (and our originated routes, under the peer "local"), the attribute sets they point to,
// each peer's BGP identifier, and our identity. Not kept: best paths and Adj-RIB-Out (recomputed
// from the above in one pass at start).
//
// Writes are off the hot path: the RIB's route listener only records what changed (latest wins
// per route key); a timer flushes the record in bounded transactions (`batch` routes each, the
// event loop free in between; LMDB commits in its own thread). A crash loses at most the last
// `flushMs` of changes, which the peers re-send after the restart anyway.
//
//   db "routes"  "<peer>|<prefix>|<pathId>" → attribute set id
//   db "attrs"   id → { a: PathAttributes, n: next hop, l: link-local next hop }
//   db "meta"    "identity" → { asNumber, routerId, clusterId }; "peer:<address>" → BGP id;
//                "nextAttrId"; "revision" (datastore revision of the originated routes)
//
// Rejected alternative: periodic full snapshots. Simple, but rewriting 1M routes every few
// seconds costs seconds of CPU; a change log costs what changed.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import type { Logger } from 'pino';
import { parsePrefix, prefixToString, type PathAttributes, type Prefix } from '../bgp.js';
import type { AttrSet } from '../rib/attr-set.js';
import type { Rib } from '../rib/rib.js';

export const LOCAL_PEER_KEY = 'local';

export interface StoredIdentity {
  readonly asNumber: number;
  readonly routerId: string;
  readonly clusterId: string;
}

interface StoredAttrs {
  a: PathAttributes;
  n: string;
  l?: string;
}

export interface RestoredRoute {
  /** Id of its attribute set in the store. */
  readonly attrId: number;
  readonly peer: string;
  readonly prefix: Prefix;
  readonly attrs: PathAttributes;
  readonly nextHop: string;
  readonly linkLocal: string | undefined;
}

export interface RestoredRib {
  readonly routes: RestoredRoute[];
  /** Peer address → BGP identifier it had. */
  readonly peerIds: Map<string, string>;
  readonly revision: number;
}

export interface RibStoreOptions {
  readonly flushMs?: number;
  /** Routes per write transaction. */
  readonly batch?: number;
}

export class RibStore {
  private readonly root: RootDatabase;
  private readonly routes: Database<number, string>;
  private readonly attrs: Database<StoredAttrs, number>;
  private readonly meta: Database<unknown, string>;
  private readonly ids = new WeakMap<AttrSet, number>();
  private nextId: number;
  /** route key → attribute set (to write) or null (to delete). */
  private pending = new Map<string, AttrSet | null>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private closed = false;
  private detach: (() => void) | undefined;
  private readonly flushMs: number;
  private readonly batch: number;
  /** Routes written and removed since opening (metrics, tests). */
  written = 0;

  private constructor(
    dir: string,
    private readonly log: Logger,
    options: RibStoreOptions,
  ) {
    mkdirSync(dir, { recursive: true });
    this.root = open({ path: join(dir, 'rib.mdb'), compression: false });
    this.routes = this.root.openDB<number, string>({ name: 'routes' });
    this.attrs = this.root.openDB<StoredAttrs, number>({ name: 'attrs' });
    this.meta = this.root.openDB<unknown, string>({ name: 'meta' });
    const n = this.meta.get('nextAttrId');
    this.nextId = typeof n === 'number' ? n : 1;
    this.flushMs = options.flushMs ?? 500;
    this.batch = options.batch ?? 20_000;
  }

  /** Opens (creating) the store under `dir`. */
  static open(dir: string, log: Logger, options: RibStoreOptions = {}): RibStore {
    return new RibStore(dir, log, options);
  }

  /**
   * What was saved by a reflector with the same identity; empty (and the store cleared) when the
   * identity differs or nothing was saved. Attribute sets no route uses any more are dropped.
   */
  load(identity: StoredIdentity): RestoredRib {
    const stored = this.meta.get('identity') as StoredIdentity | undefined;
    if (!stored || stored.asNumber !== identity.asNumber || stored.routerId !== identity.routerId || stored.clusterId !== identity.clusterId) {
      if (stored) this.log.warn({ stored, now: identity }, 'saved RIB belongs to another identity: starting cold');
      this.root.transactionSync(() => {
        this.routes.clearSync();
        this.attrs.clearSync();
        this.meta.clearSync();
        this.meta.putSync('identity', identity);
      });
      this.nextId = 1;
      return { routes: [], peerIds: new Map(), revision: 0 };
    }
    const attrs = new Map<number, StoredAttrs>();
    for (const { key, value } of this.attrs.getRange()) attrs.set(key, value);
    const used = new Set<number>();
    const routes: RestoredRoute[] = [];
    for (const { key, value } of this.routes.getRange()) {
      const a = attrs.get(value);
      const [peer, prefix, pathId] = key.split('|');
      if (!a || !peer || !prefix) continue;
      used.add(value);
      routes.push({ attrId: value, peer, prefix: parsePrefix(prefix, Number(pathId ?? 0)), attrs: a.a, nextHop: a.n, linkLocal: a.l });
    }
    const peerIds = new Map<string, string>();
    for (const { key, value } of this.meta.getRange({ start: 'peer:', end: 'peer;' })) peerIds.set(key.slice(5), String(value));
    const unused = [...attrs.keys()].filter((id) => !used.has(id));
    if (unused.length) this.root.transactionSync(() => unused.forEach((id) => this.attrs.removeSync(id)));
    const rev = this.meta.get('revision');
    return { routes, peerIds, revision: typeof rev === 'number' ? rev : 0 };
  }

  /** The interned set built from a saved one keeps the saved id (it is not written again). */
  adopt(set: AttrSet, attrId: number): void {
    if (!this.ids.has(set)) this.ids.set(set, attrId);
  }

  /** Starts recording the RIB's changes (and saving them). */
  attach(rib: Rib, peerKey: (peerIdx: number) => string | undefined): void {
    this.detach = rib.addRouteListener((r, live) => {
      const peer = peerKey(rib.rPeer[r]!);
      if (peer === undefined) return;
      const key = `${peer}|${prefixToString(rib.dests.prefix(rib.rDest[r]!))}|${rib.rPathId[r]!}`;
      this.pending.set(key, live ? rib.attrs.get(rib.rAttr[r]!) : null);
      this.schedule();
    });
  }

  /** Writes everything the RIB holds now (first start, or after a cold start). */
  saveAll(rib: Rib, peerKey: (peerIdx: number) => string | undefined): void {
    for (const p of rib.peers) {
      const key = peerKey(p.idx);
      if (key === undefined) continue;
      for (const v of rib.peerRoutes(p.idx)) this.pending.set(`${key}|${prefixToString(rib.dests.prefix(v.dest))}|${v.pathId}`, v.set);
    }
    this.schedule();
  }

  setPeerId(address: string, bgpId: string): void {
    void this.meta.put(`peer:${address}`, bgpId);
  }

  setRevision(revision: number): void {
    void this.meta.put('revision', revision);
  }

  /** Routes recorded but not yet written. */
  get backlog(): number {
    return this.pending.size;
  }

  /** Writes everything recorded so far. */
  async flush(): Promise<void> {
    while (this.pending.size > 0 || this.flushing) {
      if (this.flushing) await this.flushing;
      else await this.writeSome();
    }
  }

  async close(): Promise<void> {
    this.detach?.();
    if (this.timer) clearTimeout(this.timer);
    await this.flush();
    this.closed = true;
    await this.root.close();
  }

  private schedule(): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush().catch((err: unknown) => this.log.error({ err }, 'saving the RIB failed'));
    }, this.flushMs);
    this.timer.unref();
  }

  private idFor(set: AttrSet): number {
    let id = this.ids.get(set);
    if (id === undefined) {
      id = this.nextId++;
      this.ids.set(set, id);
      void this.attrs.put(id, { a: set.attrs, n: set.nextHop, ...(set.linkLocalNextHop ? { l: set.linkLocalNextHop } : {}) });
    }
    return id;
  }

  /** One bounded transaction; the rest waits for the next turn of the event loop. */
  private writeSome(): Promise<void> {
    const batch: [string, AttrSet | null][] = [];
    for (const e of this.pending) {
      batch.push(e);
      if (batch.length >= this.batch) break;
    }
    for (const [k] of batch) this.pending.delete(k);
    this.flushing = this.root
      .transaction(() => {
        for (const [key, set] of batch) {
          if (set) void this.routes.put(key, this.idFor(set));
          else void this.routes.remove(key);
        }
        void this.meta.put('nextAttrId', this.nextId);
      })
      .then(() => {
        this.written += batch.length;
      })
      .finally(() => {
        this.flushing = undefined;
      });
    return this.flushing.then(() => new Promise<void>((r) => setImmediate(r)));
  }
}
