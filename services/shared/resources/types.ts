// Calico v3 resource shapes (apiVersion projectcalico.org/v3), with Calico's JSON field names.
// These are the types of a *validated* resource: defaults are filled in, CIDRs and IPs are in
// canonical text, ASNs are numbers. Optional fields stay optional when Calico has no default.

export const API_VERSION = 'projectcalico.org/v3';

export interface ObjectMeta {
  name: string;
  /** Set for namespaced kinds only (WorkloadEndpoint, NetworkPolicy); defaults to "default". */
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Server-managed fields; accepted on input (calicoctl exports them), owned by the datastore. */
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
  generation?: number;
}

interface ResourceBase<K extends string, S> {
  apiVersion: typeof API_VERSION;
  kind: K;
  metadata: ObjectMeta;
  spec: S;
}

// ---------------------------------------------------------------- Node

export interface NodeBGPSpec {
  asNumber?: number;
  /** IPv4 address and prefix of the node, e.g. "10.0.0.1/24" (canonical IP, prefix kept). */
  ipv4Address?: string;
  ipv6Address?: string;
  ipv4IPIPTunnelAddr?: string;
  routeReflectorClusterID?: string;
}

export interface NodeAddress {
  address: string;
  type?: 'InternalIP' | 'ExternalIP' | 'CalicoNodeIP';
}

export interface OrchRef {
  nodeName?: string;
  orchestrator: string;
}

export interface NodeWireguardSpec {
  interfaceIPv4Address?: string;
  interfaceIPv6Address?: string;
}

export interface NodeInterface {
  name?: string;
  addresses?: string[];
}

export interface NodeSpec {
  bgp?: NodeBGPSpec;
  interfaces?: NodeInterface[];
  ipv4VXLANTunnelAddr?: string;
  ipv6VXLANTunnelAddr?: string;
  vxlanTunnelMACAddr?: string;
  vxlanTunnelMACAddrV6?: string;
  orchRefs?: OrchRef[];
  addresses?: NodeAddress[];
  wireguard?: NodeWireguardSpec;
}

export interface NodeStatus {
  wireguardPublicKey?: string;
  wireguardPublicKeyV6?: string;
  podCIDRs?: string[];
}

export interface Node extends ResourceBase<'Node', NodeSpec> {
  status?: NodeStatus;
}

// ---------------------------------------------------------------- IPPool

export type EncapMode = 'Never' | 'Always' | 'CrossSubnet';
export type IPPoolAllowedUse = 'Workload' | 'Tunnel' | 'LoadBalancer';

export interface IPPoolSpec {
  cidr: string;
  /** Default 26 for IPv4, 122 for IPv6. */
  blockSize: number;
  /** Default "Never". */
  ipipMode: EncapMode;
  /** Default "Never". */
  vxlanMode: EncapMode;
  natOutgoing: boolean;
  disabled: boolean;
  disableBGPExport: boolean;
  /** Default "all()". */
  nodeSelector: string;
  /** Default ["Workload", "Tunnel"]. */
  allowedUses: IPPoolAllowedUse[];
  /** Default "Automatic". */
  assignmentMode: 'Automatic' | 'Manual';
  namespaceSelector?: string;
}

export type IPPool = ResourceBase<'IPPool', IPPoolSpec>;

// ---------------------------------------------------------------- IPAM

export interface AllocationAttribute {
  handle_id?: string;
  secondary?: Record<string, string>;
  alternateOwnerAttrs?: Record<string, string>;
  releasedAt?: string;
}

export interface IPAMBlockSpec {
  cidr: string;
  /** "host:NODE" (or "virtual:NAME"); absent when the block has no affinity. */
  affinity?: string;
  affinityClaimTime?: string;
  strictAffinity: boolean;
  /** One entry per address of the block: index into `attributes`, or null when free. */
  allocations: (number | null)[];
  /** Ordinals of the free addresses, in allocation order. */
  unallocated: number[];
  attributes: AllocationAttribute[];
  sequenceNumber?: number;
  sequenceNumberForAllocation?: Record<string, number>;
  deleted: boolean;
}

export type IPAMBlock = ResourceBase<'IPAMBlock', IPAMBlockSpec>;

export type BlockAffinityState = 'confirmed' | 'pending' | 'pendingDeletion';

export interface BlockAffinitySpec {
  state: BlockAffinityState;
  node: string;
  cidr: string;
  /** Calico stores this as a string ("true" / "false"); we accept either and keep a boolean. */
  deleted: boolean;
  type?: 'host' | 'virtual';
}

export type BlockAffinity = ResourceBase<'BlockAffinity', BlockAffinitySpec>;

/** Calico's IPAMHandle: which blocks hold a handle's addresses, and how many in each. */
export interface IPAMHandleSpec {
  handleID: string;
  /** Block CIDR → number of the handle's addresses in that block. */
  block: Record<string, number>;
  deleted: boolean;
}

export type IPAMHandle = ResourceBase<'IPAMHandle', IPAMHandleSpec>;

// ---------------------------------------------------------------- Endpoints

export interface IPNAT {
  internalIP: string;
  externalIP: string;
}

export interface WorkloadEndpointPort {
  name: string;
  protocol: Protocol;
  port: number;
  hostPort?: number;
  hostIP?: string;
}

export interface WorkloadEndpointSpec {
  orchestrator?: string;
  workload?: string;
  /** Required: the node the workload runs on. */
  node: string;
  containerID?: string;
  pod?: string;
  endpoint?: string;
  serviceAccountName?: string;
  ipNetworks?: string[];
  ipv4Gateway?: string;
  ipv6Gateway?: string;
  ipNATs?: IPNAT[];
  profiles?: string[];
  /** Required: the host side of the workload's veth, e.g. "cali0123456789a". */
  interfaceName: string;
  mac?: string;
  ports?: WorkloadEndpointPort[];
  allowSpoofedSourcePrefixes?: string[];
  qosControls?: Record<string, number>;
}

export type WorkloadEndpoint = ResourceBase<'WorkloadEndpoint', WorkloadEndpointSpec>;

export interface EndpointPort {
  name: string;
  protocol: Protocol;
  port: number;
}

export interface HostEndpointSpec {
  node: string;
  interfaceName?: string;
  expectedIPs?: string[];
  profiles?: string[];
  ports?: EndpointPort[];
}

export type HostEndpoint = ResourceBase<'HostEndpoint', HostEndpointSpec>;

// ---------------------------------------------------------------- Policy

/** A protocol name (TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite) or number 1..255. */
export type Protocol = string | number;
/** A port number, a range "lo:hi", or a named port. */
export type Port = number | string;
export type RuleAction = 'Allow' | 'Deny' | 'Log' | 'Pass';
export type PolicyType = 'Ingress' | 'Egress';

export interface ICMPFields {
  type?: number;
  code?: number;
}

export interface ServiceAccountMatch {
  names?: string[];
  selector?: string;
}

export interface ServiceMatch {
  name: string;
  namespace?: string;
}

export interface EntityRule {
  nets?: string[];
  notNets?: string[];
  selector?: string;
  notSelector?: string;
  namespaceSelector?: string;
  ports?: Port[];
  notPorts?: Port[];
  serviceAccounts?: ServiceAccountMatch;
  services?: ServiceMatch;
}

export interface HTTPPath {
  exact?: string;
  prefix?: string;
}

export interface HTTPMatch {
  methods?: string[];
  paths?: HTTPPath[];
}

export interface Rule {
  action: RuleAction;
  ipVersion?: 4 | 6;
  protocol?: Protocol;
  notProtocol?: Protocol;
  icmp?: ICMPFields;
  notICMP?: ICMPFields;
  source?: EntityRule;
  destination?: EntityRule;
  http?: HTTPMatch;
  metadata?: { annotations?: Record<string, string> };
}

export interface NetworkPolicySpec {
  tier?: string;
  order?: number;
  /** Default "all()". */
  selector: string;
  types?: PolicyType[];
  ingress?: Rule[];
  egress?: Rule[];
  serviceAccountSelector?: string;
  performanceHints?: 'AssumeNeededOnEveryNode'[];
}

export type NetworkPolicy = ResourceBase<'NetworkPolicy', NetworkPolicySpec>;

export interface GlobalNetworkPolicySpec extends NetworkPolicySpec {
  namespaceSelector?: string;
  doNotTrack: boolean;
  preDNAT: boolean;
  applyOnForward: boolean;
}

export type GlobalNetworkPolicy = ResourceBase<'GlobalNetworkPolicy', GlobalNetworkPolicySpec>;

export interface ProfileSpec {
  ingress?: Rule[];
  egress?: Rule[];
  labelsToApply?: Record<string, string>;
}

export type Profile = ResourceBase<'Profile', ProfileSpec>;

// ---------------------------------------------------------------- BGP

export interface SecretKeySelector {
  name: string;
  key: string;
  optional?: boolean;
}

export interface BGPPassword {
  secretKeyRef: SecretKeySelector;
}

export interface BGPPeerSpec {
  node?: string;
  /** IPv4 or IPv6 address, optionally with a port: "10.0.0.1:1790", "[fd00::1]:1790". */
  peerIP?: string;
  /** Required with peerIP; forbidden with peerSelector. */
  asNumber?: number;
  localASNumber?: number;
  nodeSelector?: string;
  peerSelector?: string;
  keepOriginalNextHop?: boolean;
  password?: BGPPassword;
  /** Duration text like "120s" or "2m". */
  maxRestartTime?: string;
  keepaliveTime?: string;
  sourceAddress?: 'UseNodeIP' | 'None';
  failureDetectionMode?: 'None' | 'BFDIfDirectlyConnected';
  restartMode?: 'GracefulRestart' | 'LongLivedGracefulRestart';
  birdGatewayMode?: 'Recursive' | 'DirectIfDirectlyConnected';
  numAllowedLocalASNumbers?: number;
  ttlSecurity?: number;
  filters?: string[];
  reachableBy?: string;
  localWorkloadSelector?: string;
  nextHopMode?: 'Auto' | 'Self' | 'Keep';
  reversePeering?: 'Auto' | 'Manual';
}

export type BGPPeer = ResourceBase<'BGPPeer', BGPPeerSpec>;

export interface Community {
  name: string;
  /** "aa:nn" (standard) or "aa:nn:mm" (large). */
  value: string;
}

export interface PrefixAdvertisement {
  cidr: string;
  /** Community names (from `communities`) or literal values. */
  communities?: string[];
}

export interface ServiceCIDR {
  cidr: string;
}

export interface BGPConfigurationSpec {
  /** Default "Info". */
  logSeverityScreen: 'Trace' | 'Debug' | 'Info' | 'Warning' | 'Error' | 'Fatal';
  /** Only on the configuration named "default", where it defaults to true. */
  nodeToNodeMeshEnabled?: boolean;
  /** Only on the configuration named "default", where it defaults to 64512. */
  asNumber?: number;
  /** Default 179. */
  listenPort: number;
  serviceLoadBalancerAggregation?: 'Enabled' | 'Disabled';
  programClusterRoutes?: 'Enabled' | 'Disabled';
  serviceClusterIPs?: ServiceCIDR[];
  serviceExternalIPs?: ServiceCIDR[];
  serviceLoadBalancerIPs?: ServiceCIDR[];
  communities?: Community[];
  prefixAdvertisements?: PrefixAdvertisement[];
  nodeMeshPassword?: BGPPassword;
  nodeMeshMaxRestartTime?: string;
  bindMode?: 'None' | 'NodeIP';
  ignoredInterfaces?: string[];
  localWorkloadPeeringIPV4?: string;
  localWorkloadPeeringIPV6?: string;
}

export type BGPConfiguration = ResourceBase<'BGPConfiguration', BGPConfigurationSpec>;

// ---------------------------------------------------------------- LearnedRoute (Meshless)

/** A route a Meshless route reflector learned from a BGP peer (not a Calico kind). */
export interface LearnedRouteSpec {
  /** Canonical CIDR. */
  prefix: string;
  nextHop: string;
  /** AS numbers, first = neighbour AS. */
  asPath: number[];
  /** "aa:nn" / "aa:nn:mm" values. */
  communities: string[];
  /** Name of the route reflector that learned it. */
  learnedBy: string;
  /** Address of the peer it came from. */
  peer: string;
}

export type LearnedRoute = ResourceBase<'LearnedRoute', LearnedRouteSpec>;

// ---------------------------------------------------------------- unions

export type Resource =
  | Node
  | IPPool
  | IPAMBlock
  | BlockAffinity
  | IPAMHandle
  | WorkloadEndpoint
  | HostEndpoint
  | Profile
  | NetworkPolicy
  | GlobalNetworkPolicy
  | BGPPeer
  | BGPConfiguration
  | LearnedRoute;

export type Kind = Resource['kind'];

export type ResourceOf<K extends Kind> = Extract<Resource, { kind: K }>;
