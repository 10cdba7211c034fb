// The kinds Meshless stores: names, plurals and calicoctl's aliases, and whether each is namespaced.

import type { Kind } from './types.js';

export interface KindInfo {
  kind: Kind;
  /** Lower-case plural, as in `meshless get ippools`. */
  plural: string;
  /** Every accepted spelling (lower case): singular, plural and calicoctl's short forms. */
  aliases: readonly string[];
  namespaced: boolean;
}

/** One row per kind. Aliases follow calicoctl's resource manager where calicoctl has the kind. */
export const KINDS: readonly KindInfo[] = [
  { kind: 'Node', plural: 'nodes', aliases: ['node', 'nodes', 'no', 'nos'], namespaced: false },
  {
    kind: 'IPPool',
    plural: 'ippools',
    aliases: ['ippool', 'ippools', 'ipp', 'ipps', 'pool', 'pools'],
    namespaced: false,
  },
  {
    kind: 'IPAMBlock',
    plural: 'ipamblocks',
    aliases: ['ipamblock', 'ipamblocks', 'block', 'blocks'],
    namespaced: false,
  },
  {
    kind: 'BlockAffinity',
    plural: 'blockaffinities',
    aliases: ['blockaffinity', 'blockaffinities', 'affinity', 'affinities'],
    namespaced: false,
  },
  {
    kind: 'IPAMHandle',
    plural: 'ipamhandles',
    aliases: ['ipamhandle', 'ipamhandles', 'handle', 'handles'],
    namespaced: false,
  },
  {
    kind: 'WorkloadEndpoint',
    plural: 'workloadendpoints',
    aliases: ['workloadendpoint', 'workloadendpoints', 'wep', 'weps'],
    namespaced: true,
  },
  {
    kind: 'HostEndpoint',
    plural: 'hostendpoints',
    aliases: ['hostendpoint', 'hostendpoints', 'hep', 'heps'],
    namespaced: false,
  },
  { kind: 'Profile', plural: 'profiles', aliases: ['profile', 'profiles', 'pro', 'pros'], namespaced: false },
  {
    kind: 'NetworkPolicy',
    plural: 'networkpolicies',
    aliases: ['networkpolicy', 'networkpolicies', 'policy', 'np', 'policies', 'pol', 'pols'],
    namespaced: true,
  },
  {
    kind: 'GlobalNetworkPolicy',
    plural: 'globalnetworkpolicies',
    aliases: ['globalnetworkpolicy', 'globalnetworkpolicies', 'gnp', 'gnps'],
    namespaced: false,
  },
  {
    kind: 'BGPPeer',
    plural: 'bgppeers',
    aliases: ['bgppeer', 'bgppeers', 'bgpp', 'bgpps', 'bp', 'bps'],
    namespaced: false,
  },
  {
    kind: 'BGPConfiguration',
    plural: 'bgpconfigurations',
    aliases: ['bgpconfiguration', 'bgpconfigurations', 'bgpconfig', 'bgpconfigs'],
    namespaced: false,
  },
  {
    kind: 'BGPFilter',
    plural: 'bgpfilters',
    aliases: ['bgpfilter', 'bgpfilters', 'bgpf', 'bgpfs', 'bf', 'bfs'],
    namespaced: false,
  },
  {
    kind: 'FelixConfiguration',
    plural: 'felixconfigurations',
    aliases: ['felixconfiguration', 'felixconfigurations', 'felixconfig', 'felixconfigs'],
    namespaced: false,
  },
  {
    kind: 'KubeControllersConfiguration',
    plural: 'kubecontrollersconfigurations',
    aliases: [
      'kubecontrollersconfiguration',
      'kubecontrollersconfigurations',
      'kubecontrollersconfig',
      'kubecontrollersconfigs',
    ],
    namespaced: false,
  },
  {
    kind: 'ClusterInformation',
    plural: 'clusterinformations',
    aliases: ['clusterinformation', 'clusterinformations', 'clusterinfo', 'clusterinfos'],
    namespaced: false,
  },
  {
    kind: 'IPAMConfiguration',
    plural: 'ipamconfigurations',
    aliases: ['ipamconfiguration', 'ipamconfigurations', 'ipamconfig', 'ipamconfigs'],
    namespaced: false,
  },
  {
    kind: 'IPReservation',
    plural: 'ipreservations',
    aliases: ['ipreservation', 'ipreservations', 'reservation', 'reservations'],
    namespaced: false,
  },
  {
    kind: 'GlobalNetworkSet',
    plural: 'globalnetworksets',
    aliases: ['globalnetworkset', 'globalnetworksets', 'gnetsets'],
    namespaced: false,
  },
  { kind: 'NetworkSet', plural: 'networksets', aliases: ['networkset', 'networksets', 'netsets'], namespaced: true },
  { kind: 'Tier', plural: 'tiers', aliases: ['tier', 'tiers'], namespaced: false },
  {
    kind: 'StagedNetworkPolicy',
    plural: 'stagednetworkpolicies',
    aliases: ['stagednetworkpolicy', 'stagednetworkpolicies', 'stagedpolicy', 'snp', 'stagedpolicies', 'spol', 'spols'],
    namespaced: true,
  },
  {
    kind: 'StagedGlobalNetworkPolicy',
    plural: 'stagedglobalnetworkpolicies',
    aliases: ['stagedglobalnetworkpolicy', 'stagedglobalnetworkpolicies', 'sgnp', 'sgnps'],
    namespaced: false,
  },
  {
    kind: 'StagedKubernetesNetworkPolicy',
    plural: 'stagedkubernetesnetworkpolicies',
    aliases: [
      'stagedkubernetesnetworkpolicy',
      'stagedkubernetesnetworkpolicies',
      'stagedkubernetespolicy',
      'sknp',
      'stagedkubernetespolicies',
      'skpol',
      'skpols',
    ],
    namespaced: true,
  },
  {
    kind: 'CalicoNodeStatus',
    plural: 'caliconodestatuses',
    aliases: ['caliconodestatus', 'caliconodestatuses', 'nodestatus', 'nodestatuses'],
    namespaced: false,
  },
  {
    kind: 'LearnedRoute',
    plural: 'learnedroutes',
    aliases: ['learnedroute', 'learnedroutes', 'lr', 'lrs', 'route', 'routes'],
    namespaced: false,
  },
];

const BY_ALIAS = new Map<string, KindInfo>();
for (const info of KINDS) {
  BY_ALIAS.set(info.kind.toLowerCase(), info);
  for (const alias of info.aliases) BY_ALIAS.set(alias, info);
}

/** The kind named by `text` (case-insensitive; kind, plural or alias), or undefined. */
export function resolveKind(text: string): Kind | undefined {
  return BY_ALIAS.get(text.trim().toLowerCase())?.kind;
}

/** The table row of a kind (exact kind name), or undefined for unknown kinds. */
export function kindInfo(kind: string): KindInfo | undefined {
  return KINDS.find((k) => k.kind === kind);
}

export function isNamespaced(kind: Kind): boolean {
  return kindInfo(kind)?.namespaced ?? false;
}
