// BGPPeer, BGPConfiguration and Meshless's LearnedRoute.

import { ipToString, parseCidr, parseIp } from './net.js';
import { nameToken } from './kinds-ipam.js';
import {
  asNumber,
  checkCommunity,
  cidr,
  community,
  duration,
  interfacePattern,
  ipAddress,
  peerAddress,
  nameField,
  selector,
  splitPeerAddress,
} from './fields.js';
import {
  boolean,
  fail,
  integer,
  list,
  object,
  oneOf,
  optional,
  required,
  string,
  withDefault,
  type Check,
} from './schema.js';
import type { KindSpec } from './kind-spec.js';

const password = object({
  secretKeyRef: required(
    object({
      name: required(nameField),
      key: required(string({ nonEmpty: true, maxLength: 253 })),
      optional: optional(boolean),
    }),
  ),
});

const bgpPeerSpec = object({
  node: optional(nameField),
  nodeSelector: optional(selector({ noGlobal: 'global() is not valid in a BGPPeer nodeSelector' })),
  peerIP: optional(peerAddress),
  asNumber: optional(asNumber),
  localASNumber: optional(asNumber),
  peerSelector: optional(selector({ noGlobal: 'global() is not valid in a BGPPeer peerSelector' })),
  keepOriginalNextHop: optional(boolean),
  nextHopMode: optional(oneOf(['Auto', 'Self', 'Keep'] as const)),
  password: optional(password),
  sourceAddress: optional(oneOf(['UseNodeIP', 'None'] as const)),
  failureDetectionMode: optional(oneOf(['None', 'BFDIfDirectlyConnected'] as const)),
  restartMode: optional(oneOf(['GracefulRestart', 'LongLivedGracefulRestart'] as const)),
  maxRestartTime: optional(duration),
  keepaliveTime: optional(duration),
  birdGatewayMode: optional(oneOf(['Recursive', 'DirectIfDirectlyConnected'] as const)),
  numAllowedLocalASNumbers: optional(integer(0, 2147483647)),
  ttlSecurity: optional(integer(0, 255, 'ttlSecurity hops')),
  reachableBy: optional(ipAddress()),
  filters: optional(list(nameField, { unique: true })),
  localWorkloadSelector: optional(selector({ noGlobal: 'global() is not valid in a BGPPeer localWorkloadSelector' })),
  reversePeering: optional(oneOf(['Auto', 'Manual'] as const)),
});

/**
 * What Meshless notes about a valid BGPPeer that Calico accepts but that may not do what was
 * meant: one `{ field, message }` per remark.
 */
export function bgpPeerWarnings(spec: Record<string, unknown>): { field: string; message: string }[] {
  const set = (k: string) => spec[k] !== undefined && spec[k] !== '';
  const out: { field: string; message: string }[] = [];
  if (!set('peerIP') && !set('peerSelector') && !set('localWorkloadSelector')) {
    out.push({
      field: 'spec.peerIP',
      message: 'neither peerIP, peerSelector nor localWorkloadSelector is set: this peer selects no BGP speaker',
    });
  }
  if (set('peerIP') && !set('asNumber')) {
    out.push({ field: 'spec.asNumber', message: 'is not set: the peer is taken to be in the local AS (iBGP)' });
  }
  return out;
}

export const BGPPEER: KindSpec = {
  spec: (value, path) => {
    const s = bgpPeerSpec(value, path);
    const set = (k: string) => s[k] !== undefined && s[k] !== '';
    if (set('node') && set('nodeSelector')) fail(`${path}.nodeSelector`, 'node and nodeSelector cannot both be set');
    if (set('peerIP') && set('peerSelector'))
      fail(`${path}.peerSelector`, 'peerIP and peerSelector cannot both be set');
    if (set('localWorkloadSelector')) {
      if (set('peerIP')) fail(`${path}.peerIP`, 'must be empty when localWorkloadSelector is set');
      if (set('peerSelector')) fail(`${path}.peerSelector`, 'must be empty when localWorkloadSelector is set');
      if (!set('asNumber')) fail(`${path}.asNumber`, 'is required when localWorkloadSelector is set');
    }
    // A peer with neither peerIP nor peerSelector, or peerIP without asNumber, is valid for
    // Calico; bgpPeerWarnings says what such a peer does (nothing, or iBGP in the local AS).
    if (set('peerSelector') && set('asNumber')) {
      fail(`${path}.asNumber`, 'must be empty when peerSelector is set (the peers use their own AS numbers)');
    }
    if (set('reachableBy')) {
      if (!set('peerIP')) fail(`${path}.reachableBy`, 'must be empty when peerIP is empty');
      const peer = parseIp(splitPeerAddress(s.peerIP as string).ip);
      if (parseIp(s.reachableBy as string).family !== peer.family) {
        fail(`${path}.reachableBy`, `${s.reachableBy} is not the same address family as peerIP ${s.peerIP}`);
      }
    }
    if (s.keepOriginalNextHop === true && set('nextHopMode')) {
      fail(
        `${path}.nextHopMode`,
        'keepOriginalNextHop and nextHopMode cannot both be set (keepOriginalNextHop is deprecated: use nextHopMode Keep)',
      );
    }
    return s;
  },
};

// Calico's ServiceClusterIPBlock has `cidr,omitempty`: an empty `{}` item is valid (and ignored).
const serviceCidrs = list(object({ cidr: optional(cidr({ allowBareIp: true })) }));

/** Calico's four programClusterRoutes values (BGPConfiguration and FelixConfiguration). */
export const PROGRAM_CLUSTER_ROUTES = ['Enabled', 'Disabled', 'EnabledIPIPOnly', 'EnabledNoEncapOnly'] as const;

const LOG_LEVELS = ['Trace', 'Debug', 'Info', 'Warning', 'Error', 'Fatal'] as const;

export const logSeverity: Check<string> = (value, path) => {
  if (typeof value === 'string') {
    const level = LOG_LEVELS.find((l) => l.toLowerCase() === value.toLowerCase());
    if (level) return level;
  }
  return fail(path, `${JSON.stringify(value)} is not one of ${LOG_LEVELS.join(', ')}`);
};

const bgpConfigurationSpec = object({
  logSeverityScreen: withDefault(logSeverity, 'Info'),
  nodeToNodeMeshEnabled: optional(boolean),
  asNumber: optional(asNumber),
  serviceLoadBalancerIPs: optional(serviceCidrs),
  serviceExternalIPs: optional(serviceCidrs),
  serviceClusterIPs: optional(serviceCidrs),
  serviceLoadBalancerAggregation: optional(oneOf(['Enabled', 'Disabled'] as const)),
  communities: optional(list(object({ name: required(nameField), value: required(community) }), { maxItems: 500 })),
  prefixAdvertisements: optional(
    list(
      object({
        cidr: required(cidr({ allowBareIp: true })),
        communities: required(list(string({ nonEmpty: true, maxLength: 253 }), { maxItems: 50 })),
      }),
      { maxItems: 500 },
    ),
  ),
  listenPort: optional(integer(1, 65535, 'a port')),
  nodeMeshPassword: optional(password),
  nodeMeshMaxRestartTime: optional(duration),
  bindMode: optional(oneOf(['None', 'NodeIP'] as const)),
  ignoredInterfaces: optional(list(interfacePattern)),
  localWorkloadPeeringIPV4: optional(ipAddress(4)),
  localWorkloadPeeringIPV6: optional(ipAddress(6)),
  programClusterRoutes: optional(oneOf(PROGRAM_CLUSTER_ROUTES)),
  ipv4NormalRoutePriority: optional(integer(1, 2147483646, 'a route priority')),
  ipv6NormalRoutePriority: optional(integer(1, 2147483646, 'a route priority')),
});

/** Fields Calico allows only on the cluster-wide BGPConfiguration named "default". */
const DEFAULT_ONLY = [
  'nodeToNodeMeshEnabled',
  'asNumber',
  'serviceLoadBalancerIPs',
  'serviceExternalIPs',
  'serviceClusterIPs',
  'nodeMeshPassword',
  'nodeMeshMaxRestartTime',
] as const;

export const BGPCONFIGURATION: KindSpec = {
  spec: (value, path) => {
    const s = bgpConfigurationSpec(value, path);
    if (s.nodeToNodeMeshEnabled === false) {
      if (s.nodeMeshPassword !== undefined)
        fail(`${path}.nodeMeshPassword`, 'cannot be set when nodeToNodeMeshEnabled is false');
      if (s.nodeMeshMaxRestartTime !== undefined)
        fail(`${path}.nodeMeshMaxRestartTime`, 'cannot be set when nodeToNodeMeshEnabled is false');
    }
    const communities = (s.communities as { name: string; value: string }[] | undefined) ?? [];
    communities.forEach((c, i) => {
      if (communities.findIndex((o) => o.name === c.name) !== i)
        fail(`${path}.communities[${i}].name`, `'${c.name}' is defined twice`);
    });
    const adverts = (s.prefixAdvertisements as { communities: string[] }[] | undefined) ?? [];
    if (communities.length > 0 && adverts.length === 0) {
      fail(`${path}.communities`, 'communities are defined but not used in prefixAdvertisements');
    }
    adverts.forEach((a, i) =>
      a.communities.forEach((c, j) => {
        if (communities.some((d) => d.name === c)) return;
        const problem = checkCommunity(c);
        if (problem) {
          fail(
            `${path}.prefixAdvertisements[${i}].communities[${j}]`,
            `'${c}' is neither a community value ('aa:nn' or 'aa:nn:mm') nor a name defined in communities`,
          );
        }
      }),
    );
    return s;
  },
  finish: ({ name }, spec) => {
    if (name === 'default') {
      spec.nodeToNodeMeshEnabled ??= true;
      spec.asNumber ??= 64512;
    } else {
      const bad = DEFAULT_ONLY.find((f) => spec[f] !== undefined);
      if (bad)
        fail(
          `spec.${bad}`,
          `only the BGPConfiguration named 'default' may set ${bad} (per-node configurations are named 'node.<name>')`,
        );
    }
    spec.listenPort ??= 179;
  },
};

const asPath: Check<number[]> = list(asNumber, { maxItems: 1024 });

export const LEARNEDROUTE: KindSpec = {
  spec: object({
    prefix: required(cidr()),
    nextHop: required(ipAddress()),
    asPath: withDefault(asPath, []),
    communities: withDefault(list(community, { maxItems: 1024 }), []),
    learnedBy: required(nameField),
    peer: required(ipAddress()),
  }),
};

/**
 * A deterministic name for a LearnedRoute: "<learnedBy>.<peer>.<prefix>" with the addresses'
 * '.', ':' and '/' written as '-', e.g. "rr-0.10-0-0-1.192-168-0-0-24".
 */
export function learnedRouteName(learnedBy: string, peer: string, prefix: string): string {
  return `${learnedBy}.${nameToken(ipToString(parseIp(peer)))}.${nameToken(parseCidr(prefix).text)}`;
}
