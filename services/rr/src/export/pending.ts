// What one update group sends after one exporter phase: announcements grouped into buckets keyed
// by (outbound attribute set, family, excluded member), withdrawals for every member, and
// split-horizon withdrawals for one member. `encode` turns it into as few buffers as possible:
// one shared by every member, plus one per excluded member that others get; every UPDATE of a
// step is packed into those buffers (codec MessageBuffer), so a member gets one writev per step.
//
// Designed for many small attribute sets (a realistic table: most sets carry 1-3 prefixes, so a
// step of 2,048 destinations touches ~1,500 buckets): an announcement is three integers in
// typed arrays (bucket, destination, path id), a bucket three array slots; prefixes are written
// in wire form (RFC 4271 §4.3, with the RFC 7911 path id for ADD-PATH) straight from the
// destination arrays at encode time, bucket by bucket after a counting sort. Rejected: one
// growable byte list per bucket (a 256-octet array each, ~1,500 per step) and one Buffer per
// UPDATE handed to every member's socket (an object, a write request and a syscall per UPDATE
// per member: at 300k prefixes × 100k sets, socket writes were the top of the CPU profile).

import {
  MessageBuffer,
  packUpdatesWireInto,
  packWithdrawalsWireInto,
  updatesWireSize,
  withdrawalsWireSize,
  type CodecOptions,
  type MpNextHop,
} from '../../../bgp/index.js';
import { growTypedArray as grow, type RibReader } from '../rib/index.js';
import type { OutAttrs, UpdateGroup } from './update-group.js';

/** Octets one prefix can take in wire form: path id (4) + length (1) + IPv6 network (16). */
const MAX_WIRE_PREFIX = 21;

/** Writes prefix `d` (with `pathId` when `addPath`) at `out[o]`; returns the end offset. */
function writePrefix(out: Uint8Array, o: number, rib: RibReader, d: number, pathId: number, addPath: boolean): number {
  if (addPath) {
    out[o] = pathId >>> 24;
    out[o + 1] = (pathId >>> 16) & 255;
    out[o + 2] = (pathId >>> 8) & 255;
    out[o + 3] = pathId & 255;
    o += 4;
  }
  return rib.writeDestPrefix(out, o, d);
}

/**
 * Withdrawn prefixes of one family in wire form, written at once: the exporter frees a
 * destination whose last route went right after exporting it, before the step is encoded.
 */
class WireList {
  bytes = new Uint8Array(64);
  end = 0;
  length = 0;

  constructor(private readonly addPath: boolean) {}

  reset(): void {
    this.end = 0;
    this.length = 0;
  }

  add(rib: RibReader, d: number, pathId: number): void {
    if (this.end + MAX_WIRE_PREFIX > this.bytes.length) this.bytes = grow(this.bytes, this.bytes.length * 2);
    this.end = writePrefix(this.bytes, this.end, rib, d, pathId, this.addPath);
    this.length++;
  }
}

/** The encoded output of one Pending: what each member gets, in order. */
export interface Encoded {
  /** UPDATEs every target gets (withdrawals first). */
  readonly shared: Uint8Array | undefined;
  readonly sharedCount: number;
  /** member → UPDATEs every target except that member gets. */
  readonly except: ReadonlyMap<number, { bytes: Uint8Array; count: number }>;
  /** member → UPDATEs only that member gets (split-horizon withdrawals). */
  readonly only: ReadonlyMap<number, { bytes: Uint8Array; count: number }>;
  readonly announced: number;
  readonly withdrawn: number;
}

export class Pending {
  /** Announcements: bucket index, destination, path id. */
  private eBucket = new Int32Array(64);
  private eDest = new Int32Array(64);
  private ePath = new Int32Array(64);
  private entries = 0;
  /** (out id, family, exclude) → bucket index. */
  private readonly bucketOf = new Map<number, number>();
  private readonly bOut: OutAttrs[] = [];
  private readonly bAfi: (4 | 6)[] = [];
  private readonly bExclude: number[] = [];
  private readonly withdraw4: WireList;
  private readonly withdraw6: WireList;
  /**
   * Withdrawals of routes a member was the source of: every member but that one (it never got
   * the route from us, so it gets no withdrawal either).
   */
  private readonly withdrawExcept = new Map<number, { v4: WireList; v6: WireList }>();
  /** Split-horizon withdrawals: member → prefixes it alone must drop (never ADD-PATH). */
  private readonly memberWithdraw = new Map<number, { v4: WireList; v6: WireList }>();
  size = 0;
  /** Scratch for one bucket's prefixes in wire form (kept across steps). */
  private wire = new Uint8Array(256);

  constructor(
    private readonly rib: RibReader,
    private readonly group: UpdateGroup,
  ) {
    this.withdraw4 = new WireList(group.addPath4);
    this.withdraw6 = new WireList(group.addPath6);
  }

  /**
   * Empties it for the next phase. The exporter keeps one Pending per group and reuses it: the
   * arrays keep their size, so a step allocates nothing per prefix (a withdrawal phase is many
   * steps of thousands of prefixes each).
   */
  reset(): void {
    this.entries = 0;
    this.bucketOf.clear();
    this.bOut.length = 0;
    this.bAfi.length = 0;
    this.bExclude.length = 0;
    this.withdraw4.reset();
    this.withdraw6.reset();
    this.withdrawExcept.clear();
    this.memberWithdraw.clear();
    this.size = 0;
  }

  announce(out: OutAttrs, afi: 4 | 6, exclude: number, d: number, pathId: number): void {
    const key = (out.id * 2 + (afi === 6 ? 1 : 0)) * 1_048_576 + exclude + 1;
    let b = this.bucketOf.get(key);
    if (b === undefined) {
      b = this.bOut.length;
      this.bucketOf.set(key, b);
      this.bOut.push(out);
      this.bAfi.push(afi);
      this.bExclude.push(exclude);
    }
    const i = this.entries++;
    if (i === this.eBucket.length) {
      this.eBucket = grow(this.eBucket, i * 2);
      this.eDest = grow(this.eDest, i * 2);
      this.ePath = grow(this.ePath, i * 2);
    }
    this.eBucket[i] = b;
    this.eDest[i] = d;
    this.ePath[i] = pathId;
    this.size++;
  }

  /** Withdraws `d` from every member except `exclude` (-1: from all). */
  withdraw(d: number, pathId: number, exclude: number): void {
    if (exclude === -1) (this.rib.destAfi(d) === 4 ? this.withdraw4 : this.withdraw6).add(this.rib, d, pathId);
    else {
      let l = this.withdrawExcept.get(exclude);
      if (!l)
        this.withdrawExcept.set(
          exclude,
          (l = { v4: new WireList(this.group.addPath4), v6: new WireList(this.group.addPath6) }),
        );
      (this.rib.destAfi(d) === 4 ? l.v4 : l.v6).add(this.rib, d, pathId);
    }
    this.size++;
  }

  withdrawFor(member: number, d: number): void {
    let l = this.memberWithdraw.get(member);
    if (!l) this.memberWithdraw.set(member, (l = { v4: new WireList(false), v6: new WireList(false) }));
    (this.rib.destAfi(d) === 4 ? l.v4 : l.v6).add(this.rib, d, 0);
    this.size++;
  }

  /**
   * Encodes everything for `targets` (members of the group that get this output). Every output
   * buffer is sized up front from the octets going into it (codec updatesWireSize /
   * withdrawalsWireSize): a step allocates each buffer once and hands it over without a copy,
   * and no buffer is made for output nobody gets (a withdrawal step whose routes all came from
   * one member writes nothing shared).
   */
  encode(targets: readonly number[], codec: CodecOptions, maxMessageLength: number): Encoded {
    const g = this.group;
    const w4 = this.withdraw4;
    const w6 = this.withdraw6;
    const wsize = (l: { v4: WireList; v6: WireList }): number =>
      withdrawalsWireSize(l.v4.end, 4, codec, maxMessageLength) +
      withdrawalsWireSize(l.v6.end, 6, codec, maxMessageLength);
    /** Octets per output: -1 the shared buffer, else the member the buffer excludes. */
    const size = new Map<number, number>([[-1, wsize({ v4: w4, v6: w6 })]]);
    let withdrawn = w4.length + w6.length;
    for (const [member, l] of this.withdrawExcept) {
      withdrawn += l.v4.length + l.v6.length;
      const key = targets.includes(member) ? member : -1;
      size.set(key, (size.get(key) ?? 0) + wsize(l));
    }
    const only = new Map<number, { bytes: Uint8Array; count: number }>();
    for (const [member, l] of this.memberWithdraw) {
      if (!targets.includes(member)) continue;
      const mb = new MessageBuffer(wsize(l));
      packLists(mb, l, codec, maxMessageLength);
      only.set(member, { bytes: mb.take(), count: mb.count });
    }

    // Announcements: counting sort of the entries by bucket, then every bucket's prefixes in wire
    // form one after the other (offsets in `from`), each output's size summed, then the UPDATEs.
    const buckets = this.bOut.length;
    const start = new Int32Array(buckets + 1);
    for (let i = 0; i < this.entries; i++) start[this.eBucket[i]! + 1]!++;
    for (let b = 0; b < buckets; b++) start[b + 1]! += start[b]!;
    const order = new Int32Array(this.entries);
    const fill = start.slice(0, buckets);
    for (let i = 0; i < this.entries; i++) order[fill[this.eBucket[i]!]!++] = i;
    if (this.wire.length < this.entries * MAX_WIRE_PREFIX) this.wire = new Uint8Array(this.entries * MAX_WIRE_PREFIX);
    const wire = this.wire;
    const from = new Int32Array(buckets + 1);
    const nextHops: (MpNextHop | undefined)[] = [];
    let end = 0;
    for (let b = 0; b < buckets; b++) {
      from[b] = end;
      const addPath = g.addPathFor(this.bAfi[b]!);
      for (let k = start[b]!; k < start[b + 1]!; k++) {
        const i = order[k]!;
        end = writePrefix(wire, end, this.rib, this.eDest[i]!, this.ePath[i]!, addPath);
      }
      const out = this.bOut[b]!;
      const afi = this.bAfi[b]!;
      const nh =
        afi === 6
          ? { nextHop: out.nextHop, ...(out.linkLocalNextHop ? { linkLocalNextHop: out.linkLocalNextHop } : {}) }
          : undefined;
      nextHops.push(nh);
      const exclude = this.bExclude[b]!;
      const key = exclude !== -1 && targets.includes(exclude) ? exclude : -1;
      const bytes = updatesWireSize(end - from[b]!, afi, g.bytesOf(out).length, codec, maxMessageLength, nh);
      size.set(key, (size.get(key) ?? 0) + bytes);
    }
    from[buckets] = end;

    const bufs = new Map<number, MessageBuffer>();
    const buf = (key: number): MessageBuffer => {
      let mb = bufs.get(key);
      if (!mb) bufs.set(key, (mb = new MessageBuffer(Math.max(64, size.get(key) ?? 0))));
      return mb;
    };
    // Withdrawals first: shared, then those every member but one gets.
    if (w4.length || w6.length) packLists(buf(-1), { v4: w4, v6: w6 }, codec, maxMessageLength);
    for (const [member, l] of this.withdrawExcept)
      packLists(buf(targets.includes(member) ? member : -1), l, codec, maxMessageLength);
    for (let b = 0; b < buckets; b++) {
      const out = this.bOut[b]!;
      const exclude = this.bExclude[b]!;
      const mb = buf(exclude !== -1 && targets.includes(exclude) ? exclude : -1);
      packUpdatesWireInto(
        mb,
        wire,
        from[b]!,
        from[b + 1]!,
        this.bAfi[b]!,
        g.bytesOf(out),
        codec,
        maxMessageLength,
        nextHops[b],
      );
    }
    const shared = bufs.get(-1);
    const except = new Map<number, { bytes: Uint8Array; count: number }>();
    for (const [m, mb] of bufs) if (m !== -1) except.set(m, { bytes: mb.take(), count: mb.count });
    return {
      shared: shared?.end ? shared.take() : undefined,
      sharedCount: shared?.count ?? 0,
      except,
      only,
      announced: this.entries,
      withdrawn,
    };
  }
}

/** Packs a pair of withdrawal lists (IPv4, then IPv6) into `mb`. */
function packLists(mb: MessageBuffer, l: { v4: WireList; v6: WireList }, codec: CodecOptions, max: number): void {
  if (l.v4.length) packWithdrawalsWireInto(mb, l.v4.bytes, l.v4.end, 4, codec, max);
  if (l.v6.length) packWithdrawalsWireInto(mb, l.v6.bytes, l.v6.end, 6, codec, max);
}
