// GlobalNetworkSet, NetworkSet, IPReservation, IPAMConfiguration, Tier and ClusterInformation:
// the small Calico kinds, each a few fields with Calico's rules (libcalico-go validator and the
// kubebuilder markers of api/pkg/apis/projectcalico/v3).

import { checkDns1123Label } from './names.js';
import { cidr } from './fields.js';
import { boolean, fail, finiteNumber, integer, list, object, oneOf, optional, string, withDefault } from './schema.js';
import type { KindSpec } from './kind-spec.js';

/** Calico keeps this label for its own v1 mapping of namespaces; a v3 set may not carry it. */
const RESERVED_NAMESPACE_LABEL = 'projectcalico.org/namespace';

const noReservedLabel: KindSpec['finish'] = ({ labels }) => {
  if (labels && RESERVED_NAMESPACE_LABEL in labels) {
    fail(
      `metadata.labels[${JSON.stringify(RESERVED_NAMESPACE_LABEL)}]`,
      `${RESERVED_NAMESPACE_LABEL} is not a valid label name (Calico reserves it)`,
    );
  }
};

// Calico's network sets take CIDRs or bare addresses ("cidr" tag: ParseCIDROrIP); like policy
// nets they must be strictly masked here and are normalized.
const nets = list(cidr({ allowBareIp: true }), { maxItems: 65536 });

export const GLOBALNETWORKSET: KindSpec = { spec: object({ nets: optional(nets) }), finish: noReservedLabel };
export const NETWORKSET: KindSpec = { spec: object({ nets: optional(nets) }), finish: noReservedLabel };

/** IPReservation: addresses IPAM must never hand out (Calico's `cidrs` tag: CIDRs or addresses). */
export const IPRESERVATION: KindSpec = {
  spec: object({ reservedCIDRs: optional(list(cidr({ allowBareIp: true }), { maxItems: 65536 })) }),
};

const mustBeDefault = (kind: string) => (name: string) =>
  name === 'default' ? undefined : `a ${kind} must be named 'default' (there is one per cluster), got '${name}'`;

export const IPAMCONFIGURATION: KindSpec = {
  nameRule: mustBeDefault('IPAMConfiguration'),
  spec: object({
    strictAffinity: withDefault(boolean, false),
    maxBlocksPerHost: optional(integer(0, 2147483647, 'maxBlocksPerHost')),
    autoAllocateBlocks: withDefault(boolean, true),
    kubeVirtVMAddressPersistence: optional(oneOf(['Enabled', 'Disabled'] as const)),
    ipCooldownSeconds: optional(integer(0, 2147483647, 'ipCooldownSeconds')),
  }),
};

/**
 * Calico's well-known tiers, with the order and default action each must have (its CEL rules on
 * Tier). Absent values are filled in with these; other values are refused.
 */
const WELL_KNOWN_TIERS: Record<string, { order: number; defaultAction: 'Deny' | 'Pass' }> = {
  default: { order: 1_000_000, defaultAction: 'Deny' },
  'kube-admin': { order: 1_000, defaultAction: 'Pass' },
  'kube-baseline': { order: 10_000_000, defaultAction: 'Pass' },
};

export const TIER: KindSpec = {
  // Tier names appear inside policy names and label values: a DNS-1123 label, no '.'.
  nameRule: (name) => checkDns1123Label(name),
  spec: object({
    order: optional(finiteNumber),
    defaultAction: optional(oneOf(['Deny', 'Pass'] as const)),
  }),
  finish: ({ name }, spec) => {
    const known = WELL_KNOWN_TIERS[name];
    if (known) {
      spec.order ??= known.order;
      spec.defaultAction ??= known.defaultAction;
      if (spec.order !== known.order) fail('spec.order', `the '${name}' tier must have order ${known.order}`);
      if (spec.defaultAction !== known.defaultAction)
        fail('spec.defaultAction', `the '${name}' tier must have default action '${known.defaultAction}'`);
    }
    spec.defaultAction ??= 'Deny';
  },
};

export const CLUSTERINFORMATION: KindSpec = {
  nameRule: mustBeDefault('ClusterInformation'),
  spec: object({
    clusterGUID: optional(string({ maxLength: 253 })),
    clusterType: optional(string({ maxLength: 1024 })),
    calicoVersion: optional(string({ maxLength: 253 })),
    datastoreReady: optional(boolean),
    variant: optional(string({ maxLength: 253 })),
  }),
};
