// The Calico v3 resources of the Meshless run that an operator writes with `meshless apply`:
// Node, IPPool, BGPConfiguration, BGPPeer. IPAM blocks, affinities, handles and
// WorkloadEndpoints are the CNI plugin's (cni-pods.ts): nothing here writes them.
import { stringify } from 'yaml';

export const CLUSTER_ID = '244.0.0.1';
export const RR_LABEL = 'route-reflector';

/**
 * The Meshless run's pool: four /31 blocks of two addresses, so that a handful of pods fills a
 * block (the node claims the last free one) and then the pool (the next pod's node borrows an
 * address from another node's block, Calico's behaviour without strict affinity).
 */
export const MESHLESS_POOL = '10.65.0.0/29';
export const MESHLESS_BLOCK_SIZE = 31;

type Doc = Record<string, unknown>;

const doc = (kind: string, name: string, spec: Doc, extra: Doc = {}): Doc => ({
  apiVersion: 'projectcalico.org/v3',
  kind,
  metadata: { name, ...extra },
  spec,
});

export function toYaml(docs: readonly Doc[]): string {
  return docs.map((d) => stringify(d)).join('---\n');
}

export function clusterResources(options: {
  nodes: ReadonlyArray<{ name: string; address: string }>;
  reflectors: ReadonlyArray<{ name: string; address: string }>;
  switchAddress: string;
  switchAs: number;
  clusterAs: number;
}): Doc[] {
  return [
    doc('IPPool', 'e2e-pool', {
      cidr: MESHLESS_POOL,
      blockSize: MESHLESS_BLOCK_SIZE,
      ipipMode: 'Never',
      vxlanMode: 'Never',
      natOutgoing: false,
      nodeSelector: 'all()',
    }),
    // bindMode NodeIP: each reflector binds its own address (two share the control namespace).
    doc('BGPConfiguration', 'default', {
      nodeToNodeMeshEnabled: false,
      asNumber: options.clusterAs,
      logSeverityScreen: 'Info',
      listenPort: 179,
      bindMode: 'NodeIP',
    }),
    ...options.nodes.map((n) => doc('Node', n.name, { bgp: { ipv4Address: `${n.address}/24` } })),
    ...options.reflectors.map((r) =>
      doc(
        'Node',
        r.name,
        { bgp: { ipv4Address: `${r.address}/24`, routeReflectorClusterID: CLUSTER_ID } },
        { labels: { [RR_LABEL]: 'true' } },
      ),
    ),
    // The switch peers with the reflectors only: no node runs BGP.
    doc('BGPPeer', 'tor', {
      peerIP: options.switchAddress,
      asNumber: options.switchAs,
      nodeSelector: `has(${RR_LABEL})`,
    }),
  ];
}
