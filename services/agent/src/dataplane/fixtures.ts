// Calico v3 resources as the dataplane receives them, for tests and the end-to-end harness.
import type { ResourceChange } from './view.js';

export function workloadEndpoint(
  name: string,
  node: string,
  interfaceName: string,
  ipNetworks: string[],
  namespace = 'default',
): ResourceChange {
  return {
    kind: 'WorkloadEndpoint',
    namespace,
    name,
    value: {
      apiVersion: 'projectcalico.org/v3',
      kind: 'WorkloadEndpoint',
      metadata: { name, namespace },
      spec: { node, interfaceName, ipNetworks, orchestrator: 'k8s', pod: name, endpoint: 'eth0' },
    },
  };
}

/**
 * An IPAMBlock affine to `node` (undefined: no affinity); `borrowed` maps ordinals in the block
 * to the node using that address (recorded as Calico's CNI does, attributes[].secondary.node).
 */
export function ipamBlock(
  cidr: string,
  node: string | undefined,
  options: { size?: number; used?: Record<number, string> } = {},
): ResourceChange {
  const size = options.size ?? 64;
  const allocations: (number | null)[] = new Array<number | null>(size).fill(null);
  const attributes: { handle_id: string; secondary: Record<string, string> }[] = [];
  for (const [ordinal, user] of Object.entries(options.used ?? {})) {
    allocations[Number(ordinal)] = attributes.length;
    attributes.push({
      handle_id: `k8s-pod-network.${user}-${ordinal}`,
      secondary: { node: user, namespace: 'default', pod: `pod-${ordinal}` },
    });
  }
  const name = cidr.replace(/[./:]/g, '-');
  return {
    kind: 'IPAMBlock',
    namespace: '',
    name,
    value: {
      apiVersion: 'projectcalico.org/v3',
      kind: 'IPAMBlock',
      metadata: { name },
      spec: {
        cidr,
        ...(node ? { affinity: `host:${node}` } : {}),
        strictAffinity: false,
        allocations,
        unallocated: [],
        attributes,
        deleted: false,
      },
    },
  };
}

export function blockAffinity(
  node: string,
  cidr: string,
  state: 'confirmed' | 'pending' | 'pendingDeletion' = 'confirmed',
): ResourceChange {
  const name = `${node}-${cidr.replace(/[./:]/g, '-')}`;
  return {
    kind: 'BlockAffinity',
    namespace: '',
    name,
    value: {
      apiVersion: 'projectcalico.org/v3',
      kind: 'BlockAffinity',
      metadata: { name },
      spec: { node, cidr, state, deleted: false },
    },
  };
}

export function nodeResource(name: string, ipv4Address?: string, ipv6Address?: string): ResourceChange {
  return {
    kind: 'Node',
    namespace: '',
    name,
    value: {
      apiVersion: 'projectcalico.org/v3',
      kind: 'Node',
      metadata: { name },
      spec: { bgp: { ...(ipv4Address ? { ipv4Address } : {}), ...(ipv6Address ? { ipv6Address } : {}) } },
    },
  };
}

export function deletion(change: ResourceChange): ResourceChange {
  return { kind: change.kind, namespace: change.namespace, name: change.name, value: undefined };
}
