// The Calico v3 resources of the Meshless run, as `meshless apply` reads them: what an operator
// (Node, IPPool, BGPConfiguration, BGPPeer) and the CNI plugin with Calico IPAM (IPAMBlock,
// BlockAffinity, WorkloadEndpoint) would have written. IPAM records every address in use in its
// block with the node using it (attributes[].secondary.node), which is how a borrowed address is
// known to the block's owner and to the reflectors.
import { stringify } from 'yaml';
import { BLOCK_SIZE, POOL } from './scenario.js';
import { ordinalIn } from './classic.js';
import type { Pod } from './topology.js';

export const CLUSTER_ID = '244.0.0.1';
export const RR_LABEL = 'route-reflector';

type Doc = Record<string, unknown>;

const doc = (kind: string, name: string, spec: Doc, extra: Doc = {}): Doc => ({ apiVersion: 'projectcalico.org/v3', kind, metadata: { name, ...extra }, spec });

export function toYaml(docs: readonly Doc[]): string {
  return docs.map((d) => stringify(d)).join('---\n');
}

export function clusterResources(options: { nodes: ReadonlyArray<{ name: string; address: string }>; reflectors: ReadonlyArray<{ name: string; address: string }>; switchAddress: string; switchAs: number; clusterAs: number }): Doc[] {
  return [
    doc('IPPool', 'e2e-pool', { cidr: POOL, blockSize: BLOCK_SIZE, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: false, nodeSelector: 'all()' }),
    // bindMode NodeIP: each reflector binds its own address (two share the control namespace).
    doc('BGPConfiguration', 'default', { nodeToNodeMeshEnabled: false, asNumber: options.clusterAs, logSeverityScreen: 'Info', listenPort: 179, bindMode: 'NodeIP' }),
    ...options.nodes.map((n) => doc('Node', n.name, { bgp: { ipv4Address: `${n.address}/24` } })),
    ...options.reflectors.map((r) => doc('Node', r.name, { bgp: { ipv4Address: `${r.address}/24`, routeReflectorClusterID: CLUSTER_ID } }, { labels: { [RR_LABEL]: 'true' } })),
    // The switch peers with the reflectors only: no node runs BGP.
    doc('BGPPeer', 'tor', { peerIP: options.switchAddress, asNumber: options.switchAs, nodeSelector: `has(${RR_LABEL})` }),
  ];
}

/** IPAMBlock and BlockAffinity of `node`'s block, with an allocation for every pod whose address is in it. */
export function blockResources(node: string, cidr: string, pods: Iterable<Pod>): Doc[] {
  const size = 2 ** (32 - Number(cidr.split('/')[1]));
  const allocations: (number | null)[] = new Array<number | null>(size).fill(null);
  const attributes: Doc[] = [];
  for (const p of pods) {
    const o = ordinalIn(cidr, p.ip);
    if (o < 0 || o >= size) continue;
    allocations[o] = attributes.length;
    attributes.push({ handle_id: `k8s-pod-network.${p.name}`, secondary: { namespace: 'default', node: p.node, pod: p.name } });
  }
  const unallocated = allocations.flatMap((a, i) => (a === null ? [i] : []));
  const name = cidr.replace(/[./]/g, '-');
  return [
    doc('IPAMBlock', name, { cidr, affinity: `host:${node}`, strictAffinity: false, allocations, unallocated, attributes, deleted: false }),
    doc('BlockAffinity', `${node}-${name}`, { node, cidr, state: 'confirmed', deleted: false }),
  ];
}

export function workloadEndpointName(pod: Pod): string {
  return `${pod.node}-k8s-${pod.name}-eth0`;
}

export function workloadResource(pod: Pod): Doc {
  return doc(
    'WorkloadEndpoint',
    workloadEndpointName(pod),
    { orchestrator: 'k8s', node: pod.node, pod: pod.name, endpoint: 'eth0', interfaceName: pod.hostInterface, ipNetworks: [`${pod.ip}/32`], profiles: ['kns.default'] },
    { namespace: 'default' },
  );
}
