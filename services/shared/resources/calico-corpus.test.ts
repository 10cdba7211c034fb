// The Calico compatibility corpus: documents as Calico writes and accepts them (testdata/), and a
// table of validator cases across every kind with the verdict Calico's rules give. Written for
// Meshless from Calico's public API reference and validator rules, not copied from Calico.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { canonicalJson, KINDS, parseDocuments, resourceWarnings, validateResource } from './index.js';
import { assertInvalid } from './test-support.js';

const HERE = new URL('.', import.meta.url).pathname;

/** calicoctl's typed lists (`BGPConfigurationList`) expanded, as the CLI does. */
function exportDocuments(): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const d of parseDocuments(
    readFileSync(join(HERE, 'testdata', 'calico-export.yaml'), 'utf8'),
    'calico-export.yaml',
  )) {
    const kind = d.object.kind;
    if (typeof kind === 'string' && kind.endsWith('List')) out.push(...(d.object.items as Record<string, unknown>[]));
    else out.push(d.object);
  }
  return out;
}

test('a Calico export with Kubernetes metadata, other-case fields and unquoted labels imports', () => {
  const docs = exportDocuments().map((d) => validateResource(d, { source: 'calico-export.yaml' }));
  const byName = new Map(docs.map((r) => [`${r.kind}/${r.metadata.name}`, r]));
  const cfg = byName.get('BGPConfiguration/default')!;
  assert.deepEqual(Object.keys(cfg.metadata).sort(), [
    'creationTimestamp',
    'generation',
    'name',
    'resourceVersion',
    'uid',
  ]);
  assert.deepEqual((cfg.spec as { serviceClusterIPs: unknown }).serviceClusterIPs, [{ cidr: '10.96.0.0/12' }, {}]);
  assert.equal((cfg.spec as { programClusterRoutes: string }).programClusterRoutes, 'EnabledNoEncapOnly');
  const node = byName.get('Node/rack1-rr')!;
  assert.deepEqual(node.metadata.labels, { routeReflector: 'true', rack: '1' });
  assert.deepEqual((node.metadata as { finalizers?: string[] }).finalizers, ['projectcalico.org/node']);
  const gnp = byName.get('GlobalNetworkPolicy/allow-ping')!;
  assert.deepEqual((gnp.spec as { ingress: unknown }).ingress, [
    { action: 'Allow', protocol: 'ICMP', icmp: { type: 8 } },
  ]);
  assert.deepEqual((gnp.spec as { types: string[] }).types, ['Ingress', 'Egress']);
  assert.deepEqual(
    resourceWarnings(byName.get('BGPPeer/node-ttl-only')!).map((w) => w.field),
    ['spec.peerIP'],
  );
  assert.deepEqual(
    resourceWarnings(byName.get('BGPPeer/tor-ibgp')!).map((w) => w.field),
    ['spec.asNumber'],
  );
  // Validation is idempotent: what Meshless stores validates to itself (get -o yaml → apply → get).
  for (const r of docs)
    assert.equal(
      canonicalJson(validateResource(JSON.parse(JSON.stringify(r)))),
      canonicalJson(r),
      `${r.kind}/${r.metadata.name}`,
    );
});

type Verdict = 'valid' | { field: string; reason: string | RegExp };

const V3 = 'projectcalico.org/v3';
/** One case: a YAML document (apiVersion filled in) and Calico's verdict. */
const CASES: [string, string, Verdict][] = [
  // BGPFilter
  [
    'BGPFilter: cidr with operator, prefix lengths, operations on Accept',
    `kind: BGPFilter
metadata: {name: f}
spec: {importV4: [{cidr: 10.0.0.0/8, matchOperator: In, prefixLength: {min: 16, max: 24}, action: Accept, operations: [{setPriority: {value: 200}}]}]}`,
    'valid',
  ],
  [
    'BGPFilter: cidr without matchOperator',
    `kind: BGPFilter
metadata: {name: f}
spec: {exportV4: [{cidr: 10.0.0.0/8, action: Accept}]}`,
    { field: 'spec.exportV4[0].matchOperator', reason: 'cidr and matchOperator must both be set or both be empty' },
  ],
  [
    'BGPFilter: prefixLength without cidr',
    `kind: BGPFilter
metadata: {name: f}
spec: {exportV4: [{prefixLength: {min: 8}, action: Reject}]}`,
    { field: 'spec.exportV4[0].prefixLength', reason: 'cidr is required when prefixLength is set' },
  ],
  [
    'BGPFilter: operations on Reject',
    `kind: BGPFilter
metadata: {name: f}
spec: {importV6: [{action: Reject, operations: [{prependASPath: {prefix: [65000]}}]}]}`,
    { field: 'spec.importV6[0].operations', reason: 'operations may only be used with action Accept' },
  ],
  [
    'BGPFilter: IPv6 CIDR in a V4 rule',
    `kind: BGPFilter
metadata: {name: f}
spec: {importV4: [{cidr: 'fd00::/8', matchOperator: Equal, action: Accept}]}`,
    { field: 'spec.importV4[0].cidr', reason: 'is not an IPv4 CIDR' },
  ],
  [
    'BGPFilter: v4 prefix length 33',
    `kind: BGPFilter
metadata: {name: f}
spec: {importV4: [{cidr: 10.0.0.0/8, matchOperator: In, prefixLength: {max: 33}, action: Accept}]}`,
    { field: 'spec.importV4[0].prefixLength.max', reason: 'out of range' },
  ],
  [
    'BGPFilter: interface pattern and peerType',
    `kind: BGPFilter
metadata: {name: f}
spec: {exportV4: [{interface: 'eth*', peerType: iBGP, source: RemotePeers, action: Accept}]}`,
    'valid',
  ],
  [
    'BGPFilter: unknown action',
    `kind: BGPFilter
metadata: {name: f}
spec: {exportV4: [{action: Drop}]}`,
    { field: 'spec.exportV4[0].action', reason: "'Drop' is not one of Accept, Reject" },
  ],
  // FelixConfiguration
  [
    'FelixConfiguration: per-node name',
    `kind: FelixConfiguration
metadata: {name: node.worker-1}
spec: {logSeverityScreen: Debug}`,
    'valid',
  ],
  [
    'FelixConfiguration: any other name',
    `kind: FelixConfiguration
metadata: {name: worker-1}`,
    { field: 'metadata.name', reason: "is named 'default' (cluster-wide) or 'node.<node name>'" },
  ],
  [
    'FelixConfiguration: a field name in another case is that field',
    `kind: FelixConfiguration
metadata: {name: default}
spec: {ipipMtu: 1440}`,
    'valid',
  ],
  [
    'FelixConfiguration: unknown field',
    `kind: FelixConfiguration
metadata: {name: default}
spec: {ipipMtuSize: 1440}`,
    { field: 'spec.ipipMtuSize', reason: "unknown field 'ipipMtuSize'" },
  ],
  [
    'FelixConfiguration: enum value',
    `kind: FelixConfiguration
metadata: {name: default}
spec: {bpfConntrackMode: Sometimes}`,
    { field: 'spec.bpfConntrackMode', reason: 'is not one of' },
  ],
  [
    'FelixConfiguration: pattern, case-insensitive',
    `kind: FelixConfiguration
metadata: {name: default}
spec: {chainInsertMode: append, defaultEndpointToHostAction: Accept}`,
    'valid',
  ],
  [
    'FelixConfiguration: pattern mismatch',
    `kind: FelixConfiguration
metadata: {name: default}
spec: {iptablesFilterAllowAction: Drop}`,
    { field: 'spec.iptablesFilterAllowAction', reason: 'does not match' },
  ],
  [
    'FelixConfiguration: too many node port ranges',
    `kind: FelixConfiguration
metadata: {name: default}
spec: {kubeNodePortRanges: ['1:2', '3:4', '5:6', '7:8', '9:10', '11:12', '13:14', '15:16']}`,
    { field: 'spec.kubeNodePortRanges', reason: 'too long (max 7)' },
  ],
  [
    'FelixConfiguration: named node port',
    `kind: FelixConfiguration
metadata: {name: default}
spec: {kubeNodePortRanges: [http]}`,
    { field: 'spec.kubeNodePortRanges[0]', reason: 'should not contain named ports' },
  ],
  [
    'FelixConfiguration: IPv6 external node',
    `kind: FelixConfiguration
metadata: {name: default}
spec: {externalNodesList: ['fd00::/64']}`,
    { field: 'spec.externalNodesList[0]', reason: 'is not an IPv4 CIDR' },
  ],
  [
    'FelixConfiguration: duration',
    `kind: FelixConfiguration
metadata: {name: default}
spec: {routeRefreshInterval: soon}`,
    { field: 'spec.routeRefreshInterval', reason: 'is not a duration' },
  ],
  [
    'FelixConfiguration: integer range',
    `kind: FelixConfiguration
metadata: {name: default}
spec: {wireguardListeningPort: 70000}`,
    { field: 'spec.wireguardListeningPort', reason: 'out of range' },
  ],
  [
    'FelixConfiguration: zero is unset (omitempty)',
    `kind: FelixConfiguration
metadata: {name: default}
spec: {wireguardListeningPort: 0, vxlanVNI: 4096}`,
    'valid',
  ],
  [
    'FelixConfiguration: NAT outgoing address',
    `kind: FelixConfiguration
metadata: {name: default}
spec: {natOutgoingAddress: 10.0.0.300}`,
    { field: 'spec.natOutgoingAddress', reason: '' },
  ],
  // KubeControllersConfiguration, ClusterInformation, IPAMConfiguration, CalicoNodeStatus
  [
    'KubeControllersConfiguration: controllers',
    `kind: KubeControllersConfiguration
metadata: {name: default}
spec: {controllers: {node: {syncLabels: Enabled, hostEndpoint: {autoCreate: Enabled}}, namespace: {reconcilerPeriod: 5m}}}`,
    'valid',
  ],
  [
    'KubeControllersConfiguration: bad mode',
    `kind: KubeControllersConfiguration
metadata: {name: default}
spec: {controllers: {node: {syncLabels: Yes}}}`,
    { field: 'spec.controllers.node.syncLabels', reason: 'is not one of Enabled, Disabled' },
  ],
  [
    'KubeControllersConfiguration: name',
    `kind: KubeControllersConfiguration
metadata: {name: mine}`,
    { field: 'metadata.name', reason: "must be named 'default'" },
  ],
  [
    'ClusterInformation: name',
    `kind: ClusterInformation
metadata: {name: prod}`,
    { field: 'metadata.name', reason: "must be named 'default'" },
  ],
  [
    'IPAMConfiguration: negative maxBlocksPerHost',
    `kind: IPAMConfiguration
metadata: {name: default}
spec: {maxBlocksPerHost: -1}`,
    { field: 'spec.maxBlocksPerHost', reason: 'out of range' },
  ],
  [
    'CalicoNodeStatus: classes required',
    `kind: CalicoNodeStatus
metadata: {name: s}
spec: {node: n1, updatePeriodSeconds: 10}`,
    { field: 'spec.classes', reason: 'is required' },
  ],
  [
    'CalicoNodeStatus: update period over a day',
    `kind: CalicoNodeStatus
metadata: {name: s}
spec: {node: n1, classes: [BGP], updatePeriodSeconds: 86401}`,
    { field: 'spec.updatePeriodSeconds', reason: 'out of range' },
  ],
  [
    'CalicoNodeStatus: duplicate class',
    `kind: CalicoNodeStatus
metadata: {name: s}
spec: {node: n1, classes: [BGP, BGP], updatePeriodSeconds: 0}`,
    { field: 'spec.classes[1]', reason: 'duplicates' },
  ],
  // IPAMHandle (Calico's IPAM handle: the addresses one pod holds, by block)
  [
    'IPAMHandle: a pod network handle',
    `kind: IPAMHandle
metadata: {name: k8s-pod-network.4f2a9c}
spec: {handleID: k8s-pod-network.4f2a9c, block: {10.65.0.0/26: 1}}`,
    'valid',
  ],
  [
    'IPAMHandle: named after its handle',
    `kind: IPAMHandle
metadata: {name: other}
spec: {handleID: k8s-pod-network.4f2a9c}`,
    { field: 'metadata.name', reason: "must be named 'k8s-pod-network.4f2a9c'" },
  ],
  [
    'IPAMHandle: canonical block CIDR',
    `kind: IPAMHandle
metadata: {name: h1}
spec: {handleID: h1, block: {10.65.0.1/26: 1}}`,
    { field: 'spec.block["10.65.0.1/26"]', reason: 'host bits are set' },
  ],
  // Sets and reservations
  [
    'GlobalNetworkSet: nets and bare addresses',
    `kind: GlobalNetworkSet
metadata: {name: s, labels: {role: db}}
spec: {nets: [10.0.0.0/8, 192.0.2.1, 'fd00::/64']}`,
    'valid',
  ],
  [
    'GlobalNetworkSet: reserved namespace label',
    `kind: GlobalNetworkSet
metadata: {name: s, labels: {projectcalico.org/namespace: x}}`,
    { field: 'metadata.labels["projectcalico.org/namespace"]', reason: 'is not a valid label name' },
  ],
  [
    'NetworkSet: host bits',
    `kind: NetworkSet
metadata: {name: s, namespace: ns}
spec: {nets: [10.0.0.1/8]}`,
    { field: 'spec.nets[0]', reason: 'not strictly masked' },
  ],
  [
    'IPReservation: not a CIDR',
    `kind: IPReservation
metadata: {name: r}
spec: {reservedCIDRs: [10.0.0.0/33]}`,
    { field: 'spec.reservedCIDRs[0]', reason: '' },
  ],
  // Tier and staged policies
  [
    'Tier: dotted name',
    `kind: Tier
metadata: {name: a.b}`,
    { field: 'metadata.name', reason: 'DNS-1123 label' },
  ],
  [
    'Tier: default tier order is fixed',
    `kind: Tier
metadata: {name: default}
spec: {order: 5}`,
    { field: 'spec.order', reason: "the 'default' tier must have order 1000000" },
  ],
  [
    'Tier: kube-admin passes',
    `kind: Tier
metadata: {name: kube-admin}
spec: {order: 1000, defaultAction: Pass}`,
    'valid',
  ],
  [
    'Tier: kube-baseline cannot deny',
    `kind: Tier
metadata: {name: kube-baseline}
spec: {defaultAction: Deny}`,
    { field: 'spec.defaultAction', reason: "must have default action 'Pass'" },
  ],
  [
    'StagedNetworkPolicy: Set with rules',
    `kind: StagedNetworkPolicy
metadata: {name: p, namespace: ns}
spec: {stagedAction: Set, selector: all(), ingress: [{action: Allow, protocol: TCP, destination: {ports: [80]}}]}`,
    'valid',
  ],
  [
    'StagedNetworkPolicy: Delete with a selector',
    `kind: StagedNetworkPolicy
metadata: {name: p, namespace: ns}
spec: {stagedAction: Delete, selector: all()}`,
    { field: 'spec.selector', reason: 'must be empty when stagedAction is Delete' },
  ],
  [
    'StagedNetworkPolicy: knp.default name',
    `kind: StagedNetworkPolicy
metadata: {name: knp.default.x, namespace: ns}`,
    { field: 'metadata.name', reason: "names starting with 'knp.default.'" },
  ],
  [
    'StagedGlobalNetworkPolicy: preDNAT with egress',
    `kind: StagedGlobalNetworkPolicy
metadata: {name: p}
spec: {preDNAT: true, applyOnForward: true, egress: [{action: Allow}]}`,
    { field: 'spec.egress', reason: 'a preDNAT policy cannot have egress rules' },
  ],
  [
    'StagedGlobalNetworkPolicy: bad stagedAction',
    `kind: StagedGlobalNetworkPolicy
metadata: {name: p}
spec: {stagedAction: Remove}`,
    { field: 'spec.stagedAction', reason: 'is not one of Set, Delete' },
  ],
  [
    'StagedKubernetesNetworkPolicy: ipBlock with except',
    `kind: StagedKubernetesNetworkPolicy
metadata: {name: p, namespace: ns}
spec: {podSelector: {}, egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}}], ports: [{port: 5000, endPort: 5010, protocol: TCP}]}]}`,
    'valid',
  ],
  [
    'StagedKubernetesNetworkPolicy: ipBlock with podSelector',
    `kind: StagedKubernetesNetworkPolicy
metadata: {name: p, namespace: ns}
spec: {ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}]}]}`,
    { field: 'spec.ingress[0].from[0].ipBlock', reason: 'cannot be combined' },
  ],
  [
    'StagedKubernetesNetworkPolicy: In without values',
    `kind: StagedKubernetesNetworkPolicy
metadata: {name: p, namespace: ns}
spec: {podSelector: {matchExpressions: [{key: app, operator: In}]}}`,
    { field: 'spec.podSelector.matchExpressions[0].values', reason: 'must be non-empty' },
  ],
  [
    'StagedKubernetesNetworkPolicy: endPort below port',
    `kind: StagedKubernetesNetworkPolicy
metadata: {name: p, namespace: ns}
spec: {ingress: [{ports: [{port: 80, endPort: 79}]}]}`,
    { field: 'spec.ingress[0].ports[0].endPort', reason: 'greater than or equal to port' },
  ],
  // Parsing rules shared by every kind
  [
    'any kind: field names in another case',
    `Kind: IPPool
Metadata: {Name: p}
Spec: {CIDR: 10.1.0.0/16, IPIPMode: Always}`,
    'valid',
  ],
  [
    'any kind: one field in two cases',
    `kind: IPPool
metadata: {name: p}
spec: {cidr: 10.1.0.0/16, CIDR: 10.2.0.0/16}`,
    { field: 'spec.cidr', reason: 'is given twice' },
  ],
  [
    'any kind: ownerReferences need a uid',
    `kind: Profile
metadata: {name: p, ownerReferences: [{apiVersion: v1, kind: Namespace, name: x}]}`,
    { field: 'metadata.ownerReferences[0].uid', reason: 'is required' },
  ],
  [
    'NetworkPolicy: knp.default is refused',
    `kind: NetworkPolicy
metadata: {name: knp.default.allow, namespace: ns}`,
    { field: 'metadata.name', reason: "names starting with 'knp.default.'" },
  ],
  [
    'BGPConfiguration: EnabledIPIPOnly',
    `kind: BGPConfiguration
metadata: {name: default}
spec: {programClusterRoutes: EnabledIPIPOnly, ipv4NormalRoutePriority: 1024}`,
    'valid',
  ],
  [
    'calicoctl.cfg is not a resource',
    `kind: CalicoAPIConfig
metadata: {}
spec: {datastoreType: etcdv3, etcdEndpoints: 'http://127.0.0.1:2379'}`,
    { field: 'kind', reason: "CalicoAPIConfig is calicoctl's client configuration" },
  ],
  [
    'BGPPeer: peerSelector with asNumber',
    `kind: BGPPeer
metadata: {name: p}
spec: {peerSelector: all(), asNumber: 65000}`,
    { field: 'spec.asNumber', reason: 'must be empty when peerSelector is set' },
  ],
];

test("validator table: Calico's verdict for each case", () => {
  for (const [what, text, verdict] of CASES) {
    const obj = { apiVersion: V3, ...(parse(text) as Record<string, unknown>) };
    if (verdict === 'valid') {
      assert.doesNotThrow(() => validateResource(obj), what);
      continue;
    }
    try {
      assertInvalid(obj, verdict.field, verdict.reason);
    } catch (err) {
      throw new Error(`${what}: ${(err as Error).message}`, { cause: err });
    }
  }
});

test('errors name kind and name given under other-case field names', () => {
  const e = assertInvalid(
    { apiVersion: V3, Kind: 'IPPool', Metadata: { Name: 'p' }, Spec: { CIDR: '10.0.0.1/16' } },
    'spec.cidr',
    'not strictly masked',
  );
  assert.match(e.message, /^IPPool 'p': spec\.cidr: /);
});

test('the corpus covers every Calico kind with at least one case', () => {
  const covered = new Set(CASES.map(([, text]) => /^(?:kind|Kind): (\w+)/m.exec(text)![1]));
  for (const doc of exportDocuments()) covered.add(String(doc.kind));
  const missing = KINDS.map((k) => k.kind).filter(
    (k) =>
      k !== 'LearnedRoute' &&
      !covered.has(k) &&
      !['IPAMBlock', 'BlockAffinity', 'WorkloadEndpoint', 'HostEndpoint'].includes(k),
  );
  assert.deepEqual(missing, []);
});
