// The RIB on disk (LMDB), for warm restart. What is kept: every peer's Adj-RIB-In after import
// policy (and our originated routes, under the peer "local"), the attribute sets they point to,
// each peer's BGP identifier, and our identity. Not kept: best paths and Adj-RIB-Out (recomputed
// from the above in one pass at start).
//
// Writes are off the hot path: the RIB's route listener appends the change to a log of plain
// arrays (small integers and references: nothing allocated per route); a timer replays the log
// into bounded transactions (`batch` changes each, in order, the event loop free in between;
// LMDB commits in its own thread). A crash loses at most the last `flushMs` of changes, which the
// peers re-send after the restart anyway.
//
//   db "routes"  binary key: peer number (u16) afi (u8) length (u8) path id (u32) network octets
//                (only the significant ones) → attribute set id
//   db "attrs"   id → { b: stored form (encodeStoredForm octets), n: next hop, l: link-local }
//   db "meta"    "identity" → { asNumber, routerId, clusterId }; "peer:<address>" → its number;
//                "bgpid:<address>" → its BGP identifier; "nextAttrId"; "nextPeer"; "format"
//
// Format (meta "format"): 2 = attribute sets as their stored form, the RIB's own encoding. A
// snapshot without it is format 1 (sets as decoded PathAttributes): converted in place at load,
// with a log line. A newer format than this code knows is refused (cold start, logged).
//
// Rejected alternatives: periodic full snapshots (rewriting 1M routes every few seconds costs
// seconds of CPU; a change log costs what changed); text keys (building "peer|prefix|id" strings
// in the route listener doubled the cost of applying an UPDATE).

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import type { Logger } from 'pino';
import { encodeStoredForm, type PathAttributes, type Prefix } from '../../../bgp/index.js';
import type { AttrSet, Rib, RibReader } from '../rib/index.js';

export const LOCAL_PEER_KEY = 'local';

export interface StoredIdentity {
  readonly asNumber: number;
  readonly routerId: string;
  readonly clusterId: string;
}

/** The snapshot format this code writes. */
export const RIB_FORMAT = 2;

export interface StoredAttrs {
  /** The stored form (rib/attr-set.ts). */
  readonly b: Uint8Array;
  readonly n: string;
  readonly l?: string;
}

/** Format 1's attribute set (decoded). */
interface StoredAttrsV1 {
  readonly a: PathAttributes;
  readonly n: string;
  readonly l?: string;
}

export interface RestoredRoute {
  /** Peer address, or LOCAL_PEER_KEY. */
  readonly peer: string;
  readonly prefix: Prefix;
  /** Id of its attribute set in `RestoredRib.attrs`. */
  readonly attrId: number;
}

export interface RestoredRib {
  readonly routes: RestoredRoute[];
  readonly attrs: Map<number, StoredAttrs>;
  /** Peer address → BGP identifier it had. */
  readonly peerIds: Map<string, string>;
}

export interface RibStoreOptions {
  readonly flushMs?: number;
  /** Routes per write transaction. */
  readonly batch?: number;
}

/**
 * The change log: entry i is (peer, afi << 8 | length, network, path id, set or null), enough to
 * build the key even if the destination is gone by the time it is written.
 */
class ChangeLog {
  peer: number[] = [];
  afiLen: number[] = [];
  /** IPv4 network (int32), or the IPv6 compact key. */
  net: (number | string)[] = [];
  /** Path id as int32 (read back with >>> 0). */
  pathId: number[] = [];
  /** Attribute set id (a reference held until written), or -1 for a removal. */
  set: number[] = [];
  head = 0;

  get size(): number {
    return this.peer.length - this.head;
  }

  push(peer: number, afi: number, len: number, net: number | string, pathId: number, set: number): void {
    this.peer.push(peer);
    this.afiLen.push((afi << 8) | len);
    this.net.push(net);
    this.pathId.push(pathId | 0);
    this.set.push(set);
  }

  /** Drops entries before `head` once most of the arrays is consumed. */
  compact(): void {
    if (this.head === this.peer.length) {
      this.peer = [];
      this.afiLen = [];
      this.net = [];
      this.pathId = [];
      this.set = [];
      this.head = 0;
    }
  }
}

const KEY_FIXED = 8;

export class RibStore {
  private readonly root: RootDatabase;
  private readonly routes: Database<number, Buffer>;
  private readonly attrs: Database<StoredAttrs | StoredAttrsV1, number>;
  private readonly meta: Database<unknown, string>;
  /** By RIB set id: the saved id, valid while the set's serial is `savedSerial[id]`. */
  private readonly savedId: number[] = [];
  private readonly savedSerial: number[] = [];
  private rib: Rib | undefined;
  private nextId: number;
  private readonly peerNums = new Map<string, number>();
  private nextPeer: number;
  /** Changes not yet written, in order. */
  private readonly log = new ChangeLog();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private closed = false;
  private detach: (() => void) | undefined;
  private peerKey: (idx: number) => string | undefined = () => undefined;
  private readonly flushMs: number;
  private readonly batch: number;
  /** Routes written and removed since opening (metrics, tests). */
  written = 0;

  private constructor(
    dir: string,
    private readonly logger: Logger,
    options: RibStoreOptions,
  ) {
    mkdirSync(dir, { recursive: true });
    this.root = open({ path: join(dir, 'rib.mdb'), compression: false });
    this.routes = this.root.openDB<number, Buffer>({ name: 'routes', keyEncoding: 'binary' });
    this.attrs = this.root.openDB<StoredAttrs | StoredAttrsV1, number>({ name: 'attrs' });
    this.meta = this.root.openDB<unknown, string>({ name: 'meta' });
    const n = this.meta.get('nextAttrId');
    this.nextId = typeof n === 'number' ? n : 1;
    const p = this.meta.get('nextPeer');
    this.nextPeer = typeof p === 'number' ? p : 1;
    for (const { key, value } of this.meta.getRange({ start: 'peer:', end: 'peer;' }))
      this.peerNums.set(key.slice(5), Number(value));
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
    const format = stored ? ((this.meta.get('format') as number | undefined) ?? 1) : RIB_FORMAT;
    if (format > RIB_FORMAT) {
      this.logger.warn(
        { format, supported: RIB_FORMAT },
        'saved RIB snapshot has a newer format than this reflector reads: starting cold',
      );
    }
    if (
      format > RIB_FORMAT ||
      !stored ||
      stored.asNumber !== identity.asNumber ||
      stored.routerId !== identity.routerId ||
      stored.clusterId !== identity.clusterId
    ) {
      if (stored) this.logger.warn({ stored, now: identity }, 'saved RIB belongs to another identity: starting cold');
      this.root.transactionSync(() => {
        this.routes.clearSync();
        this.attrs.clearSync();
        this.meta.clearSync();
        this.meta.putSync('identity', identity);
        this.meta.putSync('format', RIB_FORMAT);
      });
      this.nextId = 1;
      this.nextPeer = 1;
      this.peerNums.clear();
      return { routes: [], attrs: new Map(), peerIds: new Map() };
    }
    if (format < RIB_FORMAT) this.convertFromV1();
    const attrs = new Map<number, StoredAttrs>();
    for (const { key, value } of this.attrs.getRange()) attrs.set(key, value as StoredAttrs);
    const peerByNum = new Map([...this.peerNums].map(([a, n]) => [n, a]));
    const used = new Set<number>();
    const routes: RestoredRoute[] = [];
    for (const { key, value } of this.routes.getRange()) {
      const peer = peerByNum.get((key[0]! << 8) | key[1]!);
      if (peer === undefined || !attrs.has(value)) continue;
      const afi = key[2] === 6 ? 6 : 4;
      const length = key[3]!;
      const pathId = key.readUInt32BE(4);
      // Copy: the key buffer is reused by the iterator.
      routes.push({
        peer,
        prefix: { afi, length, bytes: new Uint8Array(key.subarray(KEY_FIXED)), pathId },
        attrId: value,
      });
      used.add(value);
    }
    const peerIds = new Map<string, string>();
    for (const { key, value } of this.meta.getRange({ start: 'bgpid:', end: 'bgpid;' }))
      peerIds.set(key.slice(6), String(value));
    const unused = [...attrs.keys()].filter((id) => !used.has(id));
    if (unused.length) {
      this.root.transactionSync(() => unused.forEach((id) => this.attrs.removeSync(id)));
      for (const id of unused) attrs.delete(id);
    }
    return { routes, attrs, peerIds };
  }

  /** Format 1 → 2: every attribute set re-encoded as its stored form, in one transaction. */
  private convertFromV1(): void {
    const t0 = performance.now();
    let n = 0;
    this.root.transactionSync(() => {
      for (const { key, value } of this.attrs.getRange()) {
        const v = value as StoredAttrs | StoredAttrsV1;
        if ('b' in v) continue;
        this.attrs.putSync(key, { b: encodeStoredForm(v.a), n: v.n, ...(v.l ? { l: v.l } : {}) });
        n++;
      }
      this.meta.putSync('format', RIB_FORMAT);
    });
    this.logger.info(
      { from: 1, to: RIB_FORMAT, attributeSets: n, ms: Math.round(performance.now() - t0) },
      'saved RIB snapshot converted to the current format (attribute sets stored encoded)',
    );
  }

  /** The interned set built from a saved one keeps the saved id (it is not written again). */
  adopt(set: AttrSet, attrId: number): void {
    if (this.savedSerial[set.id] !== set.serial) {
      this.savedId[set.id] = attrId;
      this.savedSerial[set.id] = set.serial;
    }
  }

  /** Forgets saved routes that were not restored (their peer is no longer configured). */
  forget(routes: readonly RestoredRoute[]): void {
    if (routes.length === 0) return;
    void this.root.transaction(() => {
      for (const r of routes) {
        const num = this.peerNums.get(r.peer);
        if (num !== undefined)
          void this.routes.remove(routeKey(num, r.prefix.afi, r.prefix.length, r.prefix.pathId, r.prefix.bytes));
      }
    });
  }

  /**
   * Starts recording the RIB's changes. `peerKey` names a RIB peer index (its address, or
   * LOCAL_PEER_KEY); routes of peers it returns undefined for are not saved.
   */
  attach(rib: Rib, peerKey: (peerIdx: number) => string | undefined): void {
    this.peerKey = peerKey;
    this.rib = rib;
    this.detach = rib.addRouteListener((r, live) => {
      const d = rib.routeDest(r);
      const set = live ? rib.routeSetId(r) : -1;
      if (set >= 0) rib.retainAttrs(set);
      this.log.push(rib.routePeer(r), rib.destAfi(d) as 4 | 6, rib.destLength(d), rib.destKey(d), rib.pathIdOf(r), set);
      this.schedule();
    });
  }

  /** Records everything the RIB holds now (a first start, or after a cold start). */
  saveAll(rib: Rib): void {
    this.rib = rib;
    for (const p of rib.peers) {
      for (const v of rib.peerRoutes(p.idx)) {
        rib.retainAttrs(v.set.id);
        this.log.push(
          p.idx,
          rib.destAfi(v.dest) as 4 | 6,
          rib.destLength(v.dest),
          rib.destKey(v.dest),
          v.pathId,
          v.set.id,
        );
      }
    }
    this.schedule();
  }

  setPeerId(address: string, bgpId: string): void {
    void this.meta.put(`bgpid:${address}`, bgpId);
  }

  /** Routes recorded but not yet written. */
  get backlog(): number {
    return this.log.size;
  }

  /** Writes everything recorded so far. */
  async flush(): Promise<void> {
    while (this.log.size > 0 || this.flushing) {
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
      void this.flush().catch((err: unknown) => this.logger.error({ err }, 'saving the RIB failed'));
    }, this.flushMs);
    this.timer.unref();
  }

  /** Inside a write transaction: the id of a set, written on first use. */
  private idFor(set: number): number {
    const sets = this.rib!.sets;
    const serial = sets.serial(set);
    if (this.savedSerial[set] === serial) return this.savedId[set]!;
    const id = this.nextId++;
    this.savedId[set] = id;
    this.savedSerial[set] = serial;
    const { arena, offset, length } = sets.span(set);
    const ll = sets.linkLocal(set);
    void this.attrs.put(id, {
      b: arena.slice(offset, offset + length),
      n: sets.nextHop(set),
      ...(ll ? { l: ll } : {}),
    });
    return id;
  }

  /** Inside a write transaction: the number of a peer address, assigned on first use. */
  private peerNum(address: string): number {
    let n = this.peerNums.get(address);
    if (n === undefined) {
      n = this.nextPeer++;
      this.peerNums.set(address, n);
      void this.meta.put(`peer:${address}`, n);
      void this.meta.put('nextPeer', this.nextPeer);
    }
    return n;
  }

  /** One bounded transaction; the rest waits for the next turn of the event loop. */
  private writeSome(): Promise<void> {
    const log = this.log;
    const from = log.head;
    const to = Math.min(log.peer.length, from + this.batch);
    log.head = to;
    this.flushing = this.root
      .transaction(() => {
        for (let i = from; i < to; i++) {
          const address = this.peerKey(log.peer[i]!);
          if (address === undefined) continue;
          const afiLen = log.afiLen[i]!;
          const afi = afiLen >> 8;
          const len = afiLen & 255;
          const key = routeKey(
            this.peerNum(address),
            afi,
            len,
            log.pathId[i]! >>> 0,
            networkBytes(afi, len, log.net[i]!),
          );
          const set = log.set[i]!;
          if (set >= 0) void this.routes.put(key, this.idFor(set));
          else void this.routes.remove(key);
        }
        void this.meta.put('nextAttrId', this.nextId);
      })
      .then(() => {
        this.written += to - from;
        // Release the references to attribute sets written.
        for (let i = from; i < to; i++) {
          if (log.set[i]! >= 0) this.rib?.releaseAttrs(log.set[i]!);
          log.set[i] = -1;
        }
        log.compact();
      })
      .finally(() => {
        this.flushing = undefined;
      });
    return this.flushing.then(() => new Promise<void>((r) => setImmediate(r)));
  }
}

function networkBytes(afi: number, len: number, net: number | string): Uint8Array {
  const n = (len + 7) >> 3;
  const out = new Uint8Array(n);
  if (afi === 4) {
    const a = net as number;
    for (let i = 0; i < n; i++) out[i] = (a >>> (24 - 8 * i)) & 255;
  } else {
    const k = net as string;
    for (let i = 0; i < n; i++) out[i] = k.charCodeAt(i + 1);
  }
  return out;
}

function routeKey(peer: number, afi: number, len: number, pathId: number, net: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(KEY_FIXED + net.length);
  b.writeUInt16BE(peer, 0);
  b[2] = afi;
  b[3] = len;
  b.writeUInt32BE(pathId, 4);
  b.set(net, KEY_FIXED);
  return b;
}
