// Update groups: peers with the same outbound view (receiving kind, export policy, next-hop
// handling, LLGR support) and the same negotiated encoding (4-octet AS, ADD-PATH send per family,
// extended messages, families) share one computed stream of UPDATEs. The group keeps one
// Adj-RIB-Out: for a group without ADD-PATH the route it advertised per destination, with
// ADD-PATH one bit per route slot. Export attributes are computed once per (group, attribute
// set, source) and encoded once per distinct outbound set; every member gets the same buffers.
//
// Split horizon inside a group: a route is never sent to the member it came from. Buckets are
// keyed by (outbound set, excluded member), so this costs nothing per prefix.
//
// Per-attribute-set cost (a realistic table has ~1 set per 3 prefixes): the inbound → outbound
// cache is three array slots per inbound set id (no Map or key string per set); an outbound set
// is encoded once into a shared slab (no decoded copy, no Buffer object per set), and is interned
// by content (its encoded bytes as the key) only when export policy runs per prefix: with the
// per-set cache, two inbound sets that map to equal outbound ones are rare on a reflector (the
// cost is one more UPDATE, never a wrong one). Rejected: a WeakMap of per-set Maps keyed by a
// source string, and a text key plus a Buffer per outbound set (~600 octets per set in all).

import { encodeAttributes, type CodecOptions, type PathAttributes } from '../../../bgp/index.js';
import { NONE, growTypedArray } from '../rib/index.js';
import { ipv4ToUint32 } from '../../../shared/address/index.js';
import type { PeerPolicy } from '../policy/peer-policy.js';
import type { TargetSpec } from './rules.js';

export interface GroupSpec {
  readonly target: TargetSpec;
  readonly policy: PeerPolicy;
  readonly codec: CodecOptions;
  /** Families the members negotiated (afi 4 / 6, unicast). */
  readonly families: readonly (4 | 6)[];
  readonly maxMessageLength: number;
}

/** One outbound attribute set of a group, encoded once for every member. */
export interface OutAttrs {
  readonly id: number;
  readonly nextHop: string;
  readonly linkLocalNextHop: string | undefined;
  /**
   * The encoded path attributes (with NEXT_HOP for IPv4; IPv6 carries its next hop in MP_REACH)
   * are `slab[offset, offset + length)`.
   */
  readonly slab: Uint8Array;
  readonly offset: number;
  readonly length: number;
}

/** Size of the slabs outbound attribute bytes are written into. */
const SLAB = 64 * 1024;

/** The key of a GroupSpec: equal keys ⇔ members may share every byte we send. */
export function groupKey(s: GroupSpec): string {
  const t = s.target;
  const addPath = s.codec.addPath
    .filter((o) => o.send)
    .map((o) => `${o.afi}/${o.safi}`)
    .sort()
    .join(',');
  return [
    t.kind,
    t.localAs,
    t.clusterId,
    t.nextHopMode,
    t.selfNextHop4 ?? '',
    t.selfNextHop6 ?? '',
    t.llgr ? 'llgr' : '',
    s.codec.fourOctetAs ? 'as4' : 'as2',
    s.codec.extendedMessage ? 'ext' : '',
    s.maxMessageLength,
    addPath,
    [...s.families].sort().join(','),
    s.policy.id,
  ].join('|');
}

export class UpdateGroup {
  readonly members = new Set<number>();
  /** Adj-RIB-Out without ADD-PATH: the advertised route per destination, NONE when nothing. */
  advRoute = new Int32Array(1024).fill(NONE);
  /** Adj-RIB-Out with ADD-PATH: 1 per advertised route slot. */
  advBits = new Uint8Array(1024);
  /** Paths currently advertised (for "prefixes sent"). */
  advertisedCount = 0;
  /**
   * Of the advertised paths, how many each peer (by RIB index) is the source of (a member did
   * not get those). Counted on every export of a destination: an array, not a Map (a Map's get
   * and set per prefix were ~8 % of a withdrawal's CPU).
   */
  private sourcedBy = new Int32Array(16);
  readonly addPath4: boolean;
  readonly addPath6: boolean;
  private readonly outIntern = new Map<string, OutAttrs>();
  private nextOutId = 0;
  /** Outbound sets made since the last reset (they are never freed one by one). */
  private outCount = 0;
  private slab = new Uint8Array(SLAB);
  private slabEnd = 0;
  /**
   * Inbound set id → the outbound set (null: not exported) computed for the set with serial
   * `cacheSerial[id]` from source `cacheSource[id]`. Valid only when both match: an id is reused
   * after its set is freed, and one set from two sources keeps the last one only (rare).
   */
  private cacheSerial = new Float64Array(1024);
  private cacheSource: string[] = [];
  private cacheOut: (OutAttrs | null)[] = [];

  /** The target's CLUSTER_ID as uint32 (outbound attributes written from the stored form). */
  readonly clusterIdNum: number;

  constructor(
    readonly id: number,
    readonly key: string,
    readonly spec: GroupSpec,
  ) {
    this.clusterIdNum = ipv4ToUint32(spec.target.clusterId);
    this.addPath4 = spec.codec.addPath.some((o) => o.afi === 1 && o.send);
    this.addPath6 = spec.codec.addPath.some((o) => o.afi === 2 && o.send);
  }

  /** Paths this member holds from us. */
  advertisedTo(member: number): number {
    return this.advertisedCount - (member < this.sourcedBy.length ? this.sourcedBy[member]! : 0);
  }

  countSource(peer: number, delta: number): void {
    if (peer >= this.sourcedBy.length)
      this.sourcedBy = growTypedArray(this.sourcedBy, Math.max(peer + 1, 2 * this.sourcedBy.length));
    this.sourcedBy[peer]! += delta;
  }

  addPathFor(afi: number): boolean {
    return afi === 4 ? this.addPath4 : this.addPath6;
  }

  ensureDestCapacity(n: number): void {
    if (this.advRoute.length < n) {
      let size = this.advRoute.length;
      while (size < n) size *= 2;
      this.advRoute = growTypedArray(this.advRoute, size, NONE);
    }
  }

  ensureRouteCapacity(n: number): void {
    if (this.advBits.length < n) {
      let size = this.advBits.length;
      while (size < n) size *= 2;
      this.advBits = growTypedArray(this.advBits, size);
    }
  }

  cached(id: number, serial: number, source: string): OutAttrs | null | undefined {
    if (id < this.cacheSerial.length && this.cacheSerial[id] === serial && this.cacheSource[id] === source)
      return this.cacheOut[id]!;
    return undefined;
  }

  remember(id: number, serial: number, source: string, out: OutAttrs | null): void {
    if (id >= this.cacheSerial.length) {
      let size = this.cacheSerial.length;
      while (size <= id) size *= 2;
      const next = new Float64Array(size);
      next.set(this.cacheSerial);
      this.cacheSerial = next;
    }
    this.cacheSerial[id] = serial;
    this.cacheSource[id] = source;
    this.cacheOut[id] = out;
  }

  /**
   * An outbound set for `attrs`. With `intern` (export policy per prefix: no per-set cache in
   * front), equal contents give the same set, keyed by the encoded attributes (one flat latin1
   * string) and the next hop, so routes with equal outbound attributes share UPDATEs.
   */
  makeOut(attrs: PathAttributes, nextHop: string, linkLocal: string | undefined, intern: boolean): OutAttrs {
    return this.makeOutBytes(encodeAttributes(attrs, this.spec.codec), nextHop, linkLocal, intern);
  }

  /** makeOut for attributes already encoded for this group (`bytes` is copied). */
  makeOutBytes(bytes: Uint8Array, nextHop: string, linkLocal: string | undefined, intern: boolean): OutAttrs {
    const k = intern
      ? [Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1'), nextHop, linkLocal ?? ''].join(
          '\n',
        )
      : '';
    if (intern) {
      const o = this.outIntern.get(k);
      if (o) return o;
    }
    if (++this.outCount > 200_000) this.resetCaches();
    if (this.slabEnd + bytes.length > this.slab.length) {
      this.slab = new Uint8Array(Math.max(SLAB, bytes.length));
      this.slabEnd = 0;
    }
    this.slab.set(bytes, this.slabEnd);
    const o: OutAttrs = {
      id: this.nextOutId++,
      nextHop,
      linkLocalNextHop: linkLocal,
      slab: this.slab,
      offset: this.slabEnd,
      length: bytes.length,
    };
    this.slabEnd += bytes.length;
    if (intern) this.outIntern.set(k, o);
    return o;
  }

  /** Bytes of the encoded attributes (a view made per use; nothing is kept per set). */
  bytesOf(o: OutAttrs): Uint8Array {
    return o.slab.subarray(o.offset, o.offset + o.length);
  }

  /** Forgets every cached outbound set (export policy changed, or the intern table grew large). */
  resetCaches(): void {
    this.outIntern.clear();
    this.outCount = 0;
    this.cacheSerial.fill(0);
    this.cacheSource = [];
    this.cacheOut = [];
  }
}
