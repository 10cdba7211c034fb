// The RIB: one shared table of every peer's routes (Adj-RIB-In + Loc-RIB), interned attribute
// sets, best path (RFC 4271 §9.1 with RFC 4456 §9). Readers go through RibReader (store.ts).
export { Rib, NONE, RouteFlag } from './rib.js';
export type {
  ApplyResult,
  BestChangeListener,
  PeerKind,
  RibOptions,
  RibPeer,
  RibPeerInfo,
  RouteListener,
  RouteView,
} from './rib.js';
export type { RibReader } from './store.js';
export { attrKey, DEFAULT_LOCAL_PREF, LLGR_STALE, NO_LLGR } from './attr-set.js';
export type { AttrSet, AttrSetReader } from './attr-set.js';
export { SetFlag } from './attr-wire.js';
export { growTypedArray } from './dest-table.js';
