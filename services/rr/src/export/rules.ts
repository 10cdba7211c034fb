// What a route reflector may send to whom (RFC 4456 §6), and the attributes it sends (RFC 4271
// §5.1, RFC 4456 §8, RFC 1997 well-known communities, RFC 9494 LLGR).
//
//   learned from \ sent to     client    non-client (iBGP)    eBGP
//   originated here             yes       yes                  yes
//   eBGP peer                   yes       yes                  yes
//   client                      yes       yes                  yes
//   non-client (iBGP)           yes       no                   yes
//
// A route is never sent back to the peer it came from (update groups skip that member).
// Reflected routes (iBGP to iBGP) get ORIGINATOR_ID (when absent) and our CLUSTER_ID prepended to
// CLUSTER_LIST; the next hop is kept unless the peer is configured next-hop-self. Towards eBGP:
// our AS prepended, LOCAL_PREF / ORIGINATOR_ID / CLUSTER_LIST removed, a MED learned from
// another AS removed (RFC 4271 §5.1.4), next hop = ourselves unless configured "keep" (a route we
// originate with an explicit next hop, e.g. a node's IPAM block, keeps it in "auto" mode).

import { WellKnownCommunity, type PathAttributes } from '../../../bgp/index.js';
import { DEFAULT_LOCAL_PREF } from '../rib/attr-set.js';
import type { PeerKind } from '../rib/rib.js';
import { prependAsPath } from '../policy/evaluate.js';

/** The receiving side of an update group: never 'local'. */
export type TargetKind = Exclude<PeerKind, 'local'>;

/** RFC 4456 §6 as a table lookup. */
export function mayReflect(from: PeerKind, to: TargetKind): boolean {
  return !(from === 'ibgp' && to === 'ibgp');
}

/** Next-hop handling per peer (Calico BGPPeer nextHopMode; keepOriginalNextHop = Keep). */
export type NextHopMode = 'auto' | 'self' | 'keep';

export interface TargetSpec {
  readonly kind: TargetKind;
  readonly localAs: number;
  readonly clusterId: string;
  readonly nextHopMode: NextHopMode;
  /** Our address on the session, per family: the "self" next hop. */
  readonly selfNextHop4?: string;
  readonly selfNextHop6?: string;
  /** The peer advertised long-lived graceful restart: it may receive LLGR_STALE routes (RFC 9494 §4.5). */
  readonly llgr: boolean;
}

/** Well-known communities that stop a route before any policy (RFC 1997, RFC 9494 §4.5). */
export function blockedByCommunity(a: PathAttributes, to: TargetSpec): boolean {
  const cs = a.communities;
  if (!cs || cs.length === 0) return false;
  for (const c of cs) {
    if (c === WellKnownCommunity.NoAdvertise) return true;
    if (to.kind === 'ebgp' && (c === WellKnownCommunity.NoExport || c === WellKnownCommunity.NoExportSubconfed))
      return true;
    if (c === WellKnownCommunity.LlgrStale && !to.llgr) return true;
  }
  return false;
}

export interface OutRoute {
  /** For IPv4 the NEXT_HOP is set here; for IPv6 it is `nextHop` (into MP_REACH_NLRI). */
  readonly attrs: PathAttributes;
  readonly nextHop: string;
  readonly linkLocalNextHop?: string;
}

/**
 * The attributes sent to `to` for a route with (post-export-policy) attributes `a` and next hop
 * `nextHop` ('' = originated with "self"), learned from a peer of kind `from` whose BGP
 * identifier is `fromRouterId`. Undefined when no usable next hop exists for the family.
 */
export function outboundAttributes(
  a: PathAttributes,
  afi: 4 | 6,
  nextHop: string,
  linkLocal: string | undefined,
  from: PeerKind,
  fromRouterId: string,
  to: TargetSpec,
): OutRoute | undefined {
  let out: PathAttributes;
  let keepNextHop: boolean;
  if (to.kind === 'ebgp') {
    const { localPref: _lp, originatorId: _o, clusterList: _c, med, ...rest } = a;
    out = prependAsPath(from === 'ebgp' || med === undefined ? rest : { ...rest, med }, [to.localAs]);
    keepNextHop = to.nextHopMode === 'keep' || (to.nextHopMode === 'auto' && from === 'local' && nextHop !== '');
  } else {
    out = a.localPref === undefined ? { ...a, localPref: DEFAULT_LOCAL_PREF } : a;
    if (from === 'client' || from === 'ibgp') {
      // RFC 4456 §8: ORIGINATOR_ID set once, by the first reflector; CLUSTER_ID prepended.
      out = {
        ...out,
        originatorId: a.originatorId ?? fromRouterId,
        clusterList: [to.clusterId, ...(a.clusterList ?? [])],
      };
    }
    keepNextHop = to.nextHopMode !== 'self' && nextHop !== '';
  }
  const self = afi === 4 ? to.selfNextHop4 : to.selfNextHop6;
  const nh = keepNextHop ? nextHop : self;
  if (!nh) return undefined;
  const ll = keepNextHop ? linkLocal : undefined;
  if (afi === 4) return { attrs: out.nextHop === nh ? out : { ...out, nextHop: nh }, nextHop: nh };
  const { nextHop: _drop, ...noNh } = out;
  return { attrs: noNh, nextHop: nh, ...(ll ? { linkLocalNextHop: ll } : {}) };
}
