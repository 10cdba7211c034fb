// A realistic cluster for the fan-out benchmark, as Calico v3 JSON under the datastore's keys:
// nodes (each with an IPAM block and its affinity), workload endpoints spread over the nodes,
// network policies over a few namespaces, profiles, pools, BGP configuration and peers.
import { resourceKey, type StoredKind } from '../../services/shared/nats/index.js';

export interface DatasetSize {
  nodes: number;
  endpoints: number;
  policies: number;
}

export interface Item {
  key: string;
  json: string;
}

const API = 'projectcalico.org/v3';
const NAMESPACES = 20;

function doc(kind: StoredKind, namespace: string, name: string, spec: unknown, labels?: Record<string, string>): Item {
  return {
    key: resourceKey(kind, namespace, name),
    json: JSON.stringify({
      apiVersion: API,
      kind,
      metadata: { name, ...(namespace ? { namespace } : {}), ...(labels ? { labels } : {}) },
      spec,
    }),
  };
}

export function nodeName(i: number): string {
  return `node-${String(i).padStart(5, '0')}`;
}

export function* dataset(size: DatasetSize): Generator<Item> {
  yield doc('IPPool', '', 'default-ipv4', {
    cidr: '10.64.0.0/10',
    blockSize: 26,
    ipipMode: 'Never',
    vxlanMode: 'Never',
    natOutgoing: true,
    nodeSelector: 'all()',
  });
  yield doc('BGPConfiguration', '', 'default', {
    asNumber: 64512,
    nodeToNodeMeshEnabled: false,
    logSeverityScreen: 'Info',
  });
  yield doc('BGPPeer', '', 'tor', { peerIP: '10.0.0.254', asNumber: 65000, nodeSelector: 'all()' });
  for (let n = 0; n < NAMESPACES; n++)
    yield doc('Profile', '', `kns.ns-${n}`, {
      ingress: [{ action: 'Allow' }],
      egress: [{ action: 'Allow' }],
      labelsToApply: { 'projectcalico.org/name': `ns-${n}` },
    });
  for (let i = 0; i < size.nodes; i++) {
    const name = nodeName(i);
    const a = (i >> 8) & 255;
    const b = i & 255;
    yield doc(
      'Node',
      '',
      name,
      {
        bgp: { ipv4Address: `10.${a}.${b}.1/16`, asNumber: 64512 },
        addresses: [{ address: `10.${a}.${b}.1`, type: 'InternalIP' }],
        orchRefs: [{ nodeName: name, orchestrator: 'k8s' }],
      },
      { 'kubernetes.io/hostname': name, rack: `rack-${i % 40}` },
    );
    const cidr = `10.${64 + (i >> 10)}.${(i >> 2) & 255}.${(i & 3) * 64}/26`;
    const block = cidr.replace(/[./]/g, '-');
    yield doc('IPAMBlock', '', block, {
      cidr,
      affinity: `host:${name}`,
      allocations: [],
      unallocated: [],
      attributes: [],
      deleted: false,
    });
    yield doc('BlockAffinity', '', `${name}-${block}`, { node: name, cidr, state: 'confirmed', deleted: 'false' });
  }
  for (let i = 0; i < size.endpoints; i++) {
    const node = nodeName(i % size.nodes);
    const ns = `ns-${i % NAMESPACES}`;
    const pod = `app-${i}-7d4b9c-x${i % 97}`;
    yield doc(
      'WorkloadEndpoint',
      ns,
      `${node}-k8s-${pod}-eth0`,
      {
        orchestrator: 'k8s',
        node,
        pod,
        endpoint: 'eth0',
        interfaceName: `cali${((i * 2654435761) >>> 0).toString(16).padStart(11, '0')}`,
        ipNetworks: [`10.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`],
        profiles: [`kns.${ns}`, `ksa.${ns}.default`],
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      },
      { app: `app-${i % 200}`, 'projectcalico.org/namespace': ns, 'projectcalico.org/orchestrator': 'k8s' },
    );
  }
  for (let i = 0; i < size.policies; i++) {
    const ns = `ns-${i % NAMESPACES}`;
    yield doc('NetworkPolicy', ns, `policy-${i}`, {
      order: 100 + i,
      selector: `app == 'app-${i % 200}'`,
      types: ['Ingress', 'Egress'],
      ingress: [
        {
          action: 'Allow',
          protocol: 'TCP',
          source: { selector: `app == 'app-${(i + 1) % 200}'` },
          destination: { ports: [8080, 8443] },
        },
      ],
      egress: [{ action: 'Allow', protocol: 'UDP', destination: { selector: "k8s-app == 'kube-dns'", ports: [53] } }],
    });
  }
}

/** The resource the benchmark changes: cluster-wide, so every agent receives each change. */
export const MARKER_KEY = resourceKey('GlobalNetworkPolicy', '', 'bench-marker');

export function markerJson(change: number, t0: number): string {
  return JSON.stringify({
    apiVersion: API,
    kind: 'GlobalNetworkPolicy',
    metadata: { name: 'bench-marker', annotations: { 'bench/change': String(change), 'bench/t0': String(t0) } },
    spec: {
      order: 1000,
      selector: 'all()',
      types: ['Ingress'],
      ingress: [{ action: 'Allow', source: { nets: [`10.${change % 250}.0.0/16`] } }],
    },
  });
}
