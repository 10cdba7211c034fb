// A configured peer (PeerSettings) in the terms of each part of the reflector: the RIB's peer
// record (kind, import policy, prefix limit), the BGP session's configuration (families,
// ADD-PATH, graceful restart, local address) and, once the OPENs settled, its update group.

import type { AddPathMode, NegotiatedOptions, PeerConfig } from '../../../bgp/index.js';
import type { RibPeerInfo } from '../rib/rib.js';
import type { GroupSpec } from '../export/update-group.js';
import type { TargetKind } from '../export/rules.js';
import { PeerPolicy } from '../policy/peer-policy.js';
import type { FamilyName, PeerSettings, ReflectorSettings } from '../config/types.js';
import { kindOf } from './peer-entry.js';

const AFI_OF: Record<number, 4 | 6> = { 1: 4, 2: 6 };

function addPathMode(s: PeerSettings): AddPathMode | undefined {
  switch (s.addPaths) {
    case 'tx':
      return 'send';
    case 'rx':
      return 'receive';
    case 'both':
      return 'both';
    default:
      return undefined;
  }
}

/** The RIB's view of a configured peer. */
export function ribPeerInfo(settings: ReflectorSettings, s: PeerSettings): RibPeerInfo {
  const kind = kindOf(s, settings.asNumber);
  return {
    address: s.address,
    kind,
    asn: s.asNumber,
    routerId: '0.0.0.0',
    policy: new PeerPolicy(
      kind === 'ebgp' ? 'eBGP' : 'iBGP',
      s.filters,
      s.acceptImportByDefault ? { acceptImportByDefault: true } : {},
    ),
    ...(s.maxPrefixes !== undefined ? { maxPrefixes: s.maxPrefixes } : {}),
  };
}

/** The session's configuration of a configured peer (`restarting`: our own graceful restart). */
export function sessionConfig(settings: ReflectorSettings, s: PeerSettings, restarting: boolean): PeerConfig {
  const mode = addPathMode(s);
  const addPath: Partial<Record<FamilyName, AddPathMode>> = {};
  if (mode) for (const f of s.families) addPath[f] = mode;
  const gr = settings.gracefulRestart;
  const listen = settings.listen;
  const localAddress =
    s.localAddress ??
    (listen && !isWildcard(listen.address) && sameFamily(listen.address, s.address) ? listen.address : undefined);
  return {
    address: s.address,
    remoteAs: s.asNumber,
    port: s.port,
    ...(localAddress ? { localAddress } : {}),
    passive: s.passive,
    holdTime: s.holdTime ?? settings.holdTime,
    families: s.families,
    addPath,
    extendedMessage: true,
    routeRefresh: true,
    gracefulRestart: {
      restartTime: s.restartTime ?? gr.restartTime,
      restarting: restarting,
      forwardingState: restarting,
      stalePathTime: gr.stalePathTime,
    },
    longLivedGracefulRestart: gr.longLivedStaleTime > 0 ? { staleTime: gr.longLivedStaleTime } : null,
    ...(s.description ? { description: s.description } : {}),
    ...(s.tcpMd5 ? { tcpMd5: s.tcpMd5 } : {}),
    ...(s.ttlSecurity ? { ttlSecurity: s.ttlSecurity } : {}),
  };
}

/** Our address towards a peer, per family: the "self" next hop. */
function selfAddresses(settings: ReflectorSettings, s: PeerSettings): { v4?: string; v6?: string } {
  const out: { v4?: string; v6?: string } = {};
  const listen = settings.listen;
  for (const a of [s.localAddress, listen && !isWildcard(listen.address) ? listen.address : undefined]) {
    if (!a) continue;
    if (a.includes(':')) out.v6 ??= a;
    else out.v4 ??= a;
  }
  out.v4 ??= settings.routerId;
  return out;
}

/** The update group a peer joins once its session is up, from what the OPENs settled. */
export function groupSpec(
  settings: ReflectorSettings,
  s: PeerSettings,
  policy: PeerPolicy,
  n: NegotiatedOptions,
): GroupSpec {
  const kind = kindOf(s, settings.asNumber) as TargetKind;
  const self = selfAddresses(settings, s);
  return {
    target: {
      kind,
      localAs: settings.asNumber,
      clusterId: settings.clusterId,
      nextHopMode: s.nextHopMode,
      ...(self.v4 ? { selfNextHop4: self.v4 } : {}),
      ...(self.v6 ? { selfNextHop6: self.v6 } : {}),
      llgr: n.peerLongLivedGracefulRestart !== undefined,
    },
    policy,
    codec: { fourOctetAs: n.fourOctetAs, extendedMessage: n.extendedMessage, addPath: n.addPath },
    families: n.families.filter((f) => f.safi === 1 && AFI_OF[f.afi]).map((f) => AFI_OF[f.afi]!),
    maxMessageLength: n.maxMessageLength,
  };
}

function isWildcard(a: string): boolean {
  return a === '0.0.0.0' || a === '::';
}

function sameFamily(a: string, b: string): boolean {
  return a.includes(':') === b.includes(':');
}
