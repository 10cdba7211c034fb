// Shapes of the Calico v3 kinds Meshless stores mostly for compatibility (see types.ts for the
// conventions). Specs with many fields Meshless does not interpret (FelixConfiguration,
// KubeControllersConfiguration, CalicoNodeStatus status) are typed as field maps.

import type { ObjectMeta, PolicyType, Rule } from './types.js';

interface Base<K extends string, S> {
  apiVersion: 'projectcalico.org/v3';
  kind: K;
  metadata: ObjectMeta;
  spec: S;
}

export interface BGPFilterRule {
  cidr?: string;
  prefixLength?: { min?: number; max?: number };
  source?: 'RemotePeers';
  interface?: string;
  matchOperator?: 'Equal' | 'NotEqual' | 'In' | 'NotIn';
  peerType?: 'eBGP' | 'iBGP';
  communities?: { values: string[] };
  asPathPrefix?: number[];
  priority?: number;
  action: 'Accept' | 'Reject';
  operations?: Array<{
    addCommunity?: { value: string };
    prependASPath?: { prefix: number[] };
    setPriority?: { value: number };
  }>;
}

export interface BGPFilterSpec {
  exportV4?: BGPFilterRule[];
  importV4?: BGPFilterRule[];
  exportV6?: BGPFilterRule[];
  importV6?: BGPFilterRule[];
}
export type BGPFilter = Base<'BGPFilter', BGPFilterSpec>;

/** Felix's settings by Calico's field names (see kinds-felix.ts for the fields and their rules). */
export type FelixConfiguration = Base<'FelixConfiguration', Record<string, unknown>>;

export interface KubeControllersConfiguration extends Base<'KubeControllersConfiguration', Record<string, unknown>> {
  status?: { runningConfig?: Record<string, unknown>; environmentVars?: Record<string, string> };
}

export type ClusterInformation = Base<
  'ClusterInformation',
  { clusterGUID?: string; clusterType?: string; calicoVersion?: string; datastoreReady?: boolean; variant?: string }
>;

export interface IPAMConfigurationSpec {
  /** Default false. */
  strictAffinity: boolean;
  /** 0 or absent: no limit. */
  maxBlocksPerHost?: number;
  /** Default true. */
  autoAllocateBlocks: boolean;
  kubeVirtVMAddressPersistence?: 'Enabled' | 'Disabled';
  ipCooldownSeconds?: number;
}
export type IPAMConfiguration = Base<'IPAMConfiguration', IPAMConfigurationSpec>;

/** Addresses IPAM never allocates: canonical CIDRs (a bare address becomes /32 or /128). */
export type IPReservation = Base<'IPReservation', { reservedCIDRs?: string[] }>;

export type GlobalNetworkSet = Base<'GlobalNetworkSet', { nets?: string[] }>;
export type NetworkSet = Base<'NetworkSet', { nets?: string[] }>;

export interface TierSpec {
  order?: number;
  /** Default Deny; the well-known tiers have fixed values. */
  defaultAction: 'Deny' | 'Pass';
}
export type Tier = Base<'Tier', TierSpec>;

interface StagedFields {
  /** Absent means Set. With Delete, only tier may be set. */
  stagedAction?: 'Set' | 'Delete';
}

export interface StagedPolicySpec extends StagedFields {
  tier?: string;
  order?: number;
  selector?: string;
  types?: PolicyType[];
  ingress?: Rule[];
  egress?: Rule[];
  serviceAccountSelector?: string;
  performanceHints?: 'AssumeNeededOnEveryNode'[];
}
export type StagedNetworkPolicy = Base<'StagedNetworkPolicy', StagedPolicySpec>;

export interface StagedGlobalPolicySpec extends StagedPolicySpec {
  namespaceSelector?: string;
  doNotTrack?: boolean;
  preDNAT?: boolean;
  applyOnForward?: boolean;
}
export type StagedGlobalNetworkPolicy = Base<'StagedGlobalNetworkPolicy', StagedGlobalPolicySpec>;

/** Kubernetes NetworkPolicySpec plus stagedAction. */
export type StagedKubernetesNetworkPolicy = Base<
  'StagedKubernetesNetworkPolicy',
  StagedFields & Record<string, unknown>
>;

export interface CalicoNodeStatus
  extends Base<
    'CalicoNodeStatus',
    { node: string; classes: ('Agent' | 'BGP' | 'Routes')[]; updatePeriodSeconds: number }
  > {
  status?: Record<string, unknown>;
}
