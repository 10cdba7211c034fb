// The Calico v3 resource model: types, kinds, parsing, validation, selectors and IP arithmetic.
// A pure library: no I/O beyond the text and objects it is given.

export { API_VERSION } from './types.js';
export type {
  Resource,
  Kind,
  ResourceOf,
  ObjectMeta,
  Node,
  NodeSpec,
  NodeBGPSpec,
  NodeAddress,
  NodeStatus,
  OrchRef,
  IPPool,
  IPPoolSpec,
  EncapMode,
  IPPoolAllowedUse,
  IPAMBlock,
  IPAMBlockSpec,
  AllocationAttribute,
  BlockAffinity,
  BlockAffinitySpec,
  BlockAffinityState,
  IPAMHandle,
  IPAMHandleSpec,
  WorkloadEndpoint,
  WorkloadEndpointSpec,
  WorkloadEndpointPort,
  IPNAT,
  HostEndpoint,
  HostEndpointSpec,
  EndpointPort,
  Profile,
  ProfileSpec,
  NetworkPolicy,
  NetworkPolicySpec,
  GlobalNetworkPolicy,
  GlobalNetworkPolicySpec,
  Rule,
  EntityRule,
  RuleAction,
  PolicyType,
  Protocol,
  Port,
  ICMPFields,
  BGPPeer,
  BGPPeerSpec,
  BGPPassword,
  BGPConfiguration,
  BGPConfigurationSpec,
  Community,
  PrefixAdvertisement,
  ServiceCIDR,
  LearnedRoute,
  LearnedRouteSpec,
} from './types.js';
export type {
  BGPFilter,
  BGPFilterSpec,
  BGPFilterRule,
  FelixConfiguration,
  KubeControllersConfiguration,
  ClusterInformation,
  IPAMConfiguration,
  IPAMConfigurationSpec,
  IPReservation,
  GlobalNetworkSet,
  NetworkSet,
  Tier,
  TierSpec,
  StagedNetworkPolicy,
  StagedGlobalNetworkPolicy,
  StagedKubernetesNetworkPolicy,
  StagedPolicySpec,
  StagedGlobalPolicySpec,
  CalicoNodeStatus,
} from './types-more.js';

export { ResourceError, CONVERTED_METADATA } from './errors.js';
export type { ResourceContext, ResourceErrorDetails } from './errors.js';

export { KINDS, resolveKind, kindInfo, isNamespaced } from './kinds.js';
export type { KindInfo } from './kinds.js';

export { parseDocuments, MAX_DOCUMENT_BYTES, MAX_SOURCE_BYTES } from './parse.js';
export type { ParsedDocument } from './parse.js';

export { validateResource, resourceName } from './validate.js';
export { resourceWarnings } from './warnings.js';
export type { ResourceWarning } from './warnings.js';
export { checkPoolOverlap } from './overlap.js';
export { BLOCK_SIZE, ipamBlockName, blockAffinityName, ipamHandleName } from './kinds-ipam.js';
export { learnedRouteName } from './kinds-bgp.js';
export { canonicalJson } from './canonical.js';

export {
  parseIp,
  tryParseIp,
  parseCidr,
  tryParseCidr,
  tryParseInterfaceAddress,
  ipToString,
  formatCidr,
  cidrContains,
  cidrsOverlap,
  cidrSize,
  blockAt,
  blockCount,
  blockIndex,
  addressAt,
  addressOrdinal,
  ipToBigInt,
  bigIntToIp,
  familyBits,
} from './net.js';
export type { IpAddress, IpFamily, Cidr, InterfaceAddress } from './net.js';

export { parseSelector, SelectorError, MAX_SELECTOR_DEPTH, MAX_SELECTOR_LENGTH } from './selector.js';
export type { Selector, SelectorNode, Labels } from './selector.js';
export { parseLabelSelector, LabelSelectorError } from './label-selector.js';
export type { LabelSelector, LabelRequirement } from './label-selector.js';

export { checkDns1123Subdomain, checkDns1123Label, checkLabelKey, checkLabelValue } from './names.js';
export { checkCommunity, splitPeerAddress, durationMs } from './fields.js';
