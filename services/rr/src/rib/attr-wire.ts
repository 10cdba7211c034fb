// Reading the stored form of an attribute set (the path attributes as encodeStoredForm writes
// them: ascending types, 4-octet ASNs, no NEXT_HOP / MP_*; see the codec's update.ts) without
// decoding it: the fields best path and the reflection rules need, in one pass over the headers.

import { AsPathSegmentType, AttrType, WellKnownCommunity, u32 } from '../../../bgp/index.js';

/** Bits of `WireFields.flags`. */
export const SetFlag = {
  HasMed: 1,
  HasLocalPref: 2,
  HasOriginatorId: 4,
  /** RFC 9494 §4.3. */
  LlgrStale: 8,
  /** RFC 9494 §4.4. */
  NoLlgr: 16,
  /** RFC 1997 NO_ADVERTISE. */
  NoAdvertise: 32,
  /** RFC 1997 NO_EXPORT or NO_EXPORT_SUBCONFED. */
  NoExport: 64,
} as const;

/** The decoded fields of one set, filled by `scanStoredForm` (one object reused by the table). */
export interface WireFields {
  origin: number;
  /** RFC 4271 §9.1.2.2 a: AS_SET counts 1, confederation segments 0. */
  asPathLength: number;
  /** First AS of the leftmost AS_SEQUENCE (§9.1.2.2 c), 0 when none. */
  neighborAs: number;
  med: number;
  localPref: number;
  originatorId: number;
  clusterListLength: number;
  flags: number;
}

/** Calls `fn(type, valueStart, valueEnd)` for every attribute of `b[start, end)`. */
export function forEachAttribute(
  b: Uint8Array,
  start: number,
  end: number,
  fn: (type: number, v: number, vEnd: number, headerStart: number) => void,
): void {
  for (let p = start; p < end; ) {
    const hdr = b[p]! & 0x10 ? 4 : 3;
    const len = hdr === 4 ? (b[p + 2]! << 8) | b[p + 3]! : b[p + 2]!;
    fn(b[p + 1]!, p + hdr, p + hdr + len, p);
    p += hdr + len;
  }
}

/** Fills `f` from the stored form `b[start, end)`. */
export function scanStoredForm(b: Uint8Array, start: number, end: number, f: WireFields): void {
  f.origin = 2;
  f.asPathLength = 0;
  f.neighborAs = 0;
  f.med = 0;
  f.localPref = 0;
  f.originatorId = 0;
  f.clusterListLength = 0;
  f.flags = 0;
  for (let p = start; p < end; ) {
    const hdr = b[p]! & 0x10 ? 4 : 3;
    const type = b[p + 1]!;
    const len = hdr === 4 ? (b[p + 2]! << 8) | b[p + 3]! : b[p + 2]!;
    const v = p + hdr;
    const vEnd = v + len;
    switch (type) {
      case AttrType.Origin:
        f.origin = b[v]!;
        break;
      case AttrType.AsPath: {
        let neighborDone = false;
        for (let s = v; s + 2 <= vEnd; ) {
          const segType = b[s]!;
          const n = b[s + 1]!;
          if (segType === AsPathSegmentType.AsSequence) {
            f.asPathLength += n;
            if (!neighborDone && n > 0) {
              f.neighborAs = u32(b, s + 2);
              neighborDone = true;
            }
          } else if (segType === AsPathSegmentType.AsSet) {
            f.asPathLength += 1;
            neighborDone = true;
          }
          s += 2 + 4 * n;
        }
        break;
      }
      case AttrType.MultiExitDisc:
        f.med = u32(b, v);
        f.flags |= SetFlag.HasMed;
        break;
      case AttrType.LocalPref:
        f.localPref = u32(b, v);
        f.flags |= SetFlag.HasLocalPref;
        break;
      case AttrType.Communities:
        for (let c = v; c + 4 <= vEnd; c += 4) {
          const x = u32(b, c);
          if (x === WellKnownCommunity.LlgrStale) f.flags |= SetFlag.LlgrStale;
          else if (x === WellKnownCommunity.NoLlgr) f.flags |= SetFlag.NoLlgr;
          else if (x === WellKnownCommunity.NoAdvertise) f.flags |= SetFlag.NoAdvertise;
          else if (x === WellKnownCommunity.NoExport || x === WellKnownCommunity.NoExportSubconfed)
            f.flags |= SetFlag.NoExport;
        }
        break;
      case AttrType.OriginatorId:
        f.originatorId = u32(b, v);
        f.flags |= SetFlag.HasOriginatorId;
        break;
      case AttrType.ClusterList:
        f.clusterListLength = len >> 2;
        break;
    }
    p = vEnd;
  }
}
