import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateResource, type Resource } from '../../shared/resources/index.js';
import { headingsFor, needsClusterAsNumber, tableRows } from './columns.js';
import { tabTable } from './table.js';

const v = (kind: string, metadata: object, spec: object): Resource =>
  validateResource({ apiVersion: 'projectcalico.org/v3', kind, metadata, spec });

test("IPPool: calicoctl's ps and wide columns", () => {
  const pools = [
    v(
      'IPPool',
      { name: 'default-ipv4-ippool' },
      { cidr: '192.168.0.0/16', natOutgoing: true, ipipMode: 'CrossSubnet' },
    ),
    v('IPPool', { name: 'manual' }, { cidr: '10.9.0.0/16', nodeSelector: '!all()', disabled: true }),
  ];
  assert.equal(
    tabTable(tableRows('IPPool', pools, { wide: false, printNamespace: false })),
    'NAME                  CIDR             SELECTOR\n' +
      'default-ipv4-ippool   192.168.0.0/16   all()\n' +
      'manual                10.9.0.0/16      !all()\n',
  );
  assert.deepEqual(tableRows('IPPool', pools, { wide: true, printNamespace: false }), [
    ['NAME', 'CIDR', 'NAT', 'IPIPMODE', 'VXLANMODE', 'DISABLED', 'DISABLEBGPEXPORT', 'SELECTOR', 'ASSIGNMENTMODE'],
    ['default-ipv4-ippool', '192.168.0.0/16', 'true', 'CrossSubnet', 'Never', 'false', 'false', 'all()', 'Automatic'],
    ['manual', '10.9.0.0/16', 'false', 'Never', 'Never', 'true', 'false', '!all()', 'Automatic'],
  ]);
});

test('Node wide shows an inherited ASN in brackets, from the cluster AS number', () => {
  const nodes = [
    v('Node', { name: 'rr-1' }, { bgp: { asNumber: 64513, ipv4Address: '10.244.0.1/24' } }),
    v('Node', { name: 'n-2' }, { bgp: { ipv4Address: '10.244.0.2/24', ipv6Address: 'fd00::2/64' } }),
    v('Node', { name: 'bare' }, {}),
  ];
  assert.equal(needsClusterAsNumber('Node', true, nodes), true);
  assert.equal(needsClusterAsNumber('Node', false, nodes), false);
  assert.deepEqual(
    tableRows('Node', nodes, { wide: true, printNamespace: false, context: { clusterAsNumber: '65000' } }),
    [
      ['NAME', 'ASN', 'IPV4', 'IPV6'],
      ['rr-1', '64513', '10.244.0.1/24', ''],
      ['n-2', '(65000)', '10.244.0.2/24', 'fd00::2/64'],
      ['bare', '', '', ''],
    ],
  );
  assert.deepEqual(tableRows('Node', nodes, { wide: false, printNamespace: false }), [
    ['NAME'],
    ['rr-1'],
    ['n-2'],
    ['bare'],
  ]);
});

test('BGPPeer NODE column: the node, else the node selector, else (global)', () => {
  const peers = [
    v('BGPPeer', { name: 'rack1-tor' }, { peerIP: '192.20.30.40', asNumber: 64567, nodeSelector: "rack == 'rack-1'" }),
    v('BGPPeer', { name: 'node-peer' }, { peerIP: '10.0.0.9', asNumber: 64512, node: 'node1' }),
    v('BGPPeer', { name: 'global' }, { peerIP: '10.0.0.1', asNumber: 64512 }),
    v('BGPPeer', { name: 'to-rrs' }, { nodeSelector: 'all()', peerSelector: "route-reflector == 'true'" }),
  ];
  assert.deepEqual(tableRows('BGPPeer', peers, { wide: false, printNamespace: false }), [
    ['NAME', 'PEERIP', 'NODE', 'ASN'],
    ['rack1-tor', '192.20.30.40', "rack == 'rack-1'", '64567'],
    ['node-peer', '10.0.0.9', 'node1', '64512'],
    ['global', '10.0.0.1', '(global)', '64512'],
    ['to-rrs', '', 'all()', ''],
  ]);
});

test('namespaced kinds gain a NAMESPACE column only when asked (-n or -A)', () => {
  const wep = v(
    'WorkloadEndpoint',
    { name: 'node1-k8s-my--nginx--b1337a-eth0', namespace: 'default' },
    {
      node: 'node1',
      orchestrator: 'k8s',
      pod: 'my-nginx-b1337a',
      endpoint: 'eth0',
      interfaceName: 'cali0ef24ba',
      ipNetworks: ['192.168.0.0/32'],
      profiles: ['p1', 'p2'],
    },
  );
  assert.deepEqual(tableRows('WorkloadEndpoint', [wep], { wide: false, printNamespace: false }), [
    ['WORKLOAD', 'NODE', 'NETWORKS', 'INTERFACE'],
    ['my-nginx-b1337a', 'node1', '192.168.0.0/32', 'cali0ef24ba'],
  ]);
  assert.deepEqual(headingsFor('WorkloadEndpoint', { wide: true, printNamespace: true }), [
    'NAMESPACE',
    'NAME',
    'WORKLOAD',
    'NODE',
    'NETWORKS',
    'INTERFACE',
    'PROFILES',
    'NATS',
  ]);
  assert.deepEqual(tableRows('WorkloadEndpoint', [wep], { wide: true, printNamespace: true })[1], [
    'default',
    'node1-k8s-my--nginx--b1337a-eth0',
    'my-nginx-b1337a',
    'node1',
    '192.168.0.0/32',
    'cali0ef24ba',
    'p1,p2',
    '',
  ]);
  // Cluster-scoped kinds never get one.
  assert.deepEqual(headingsFor('GlobalNetworkPolicy', { wide: false, printNamespace: true }), ['NAME', 'TIER']);
});

test('policies, profiles, host endpoints and BGP configuration follow calicoctl', () => {
  const np = v('NetworkPolicy', { name: 'allow-web', namespace: 'prod' }, { order: 500, selector: "app == 'web'" });
  assert.deepEqual(tableRows('NetworkPolicy', [np], { wide: true, printNamespace: true }), [
    ['NAMESPACE', 'NAME', 'TIER', 'ORDER', 'SELECTOR'],
    ['prod', 'allow-web', 'default', '500', "app == 'web'"],
  ]);
  const prof = v('Profile', { name: 'dev-apps' }, { labelsToApply: { stage: 'development', a: 'b' } });
  assert.deepEqual(tableRows('Profile', [prof], { wide: true, printNamespace: false })[1], [
    'dev-apps',
    'a=b,stage=development',
  ]);
  const hep = v(
    'HostEndpoint',
    { name: 'test-hep' },
    { node: 'kind-worker', interfaceName: 'eth0', expectedIPs: ['10.0.0.1', '10.0.0.2'] },
  );
  assert.deepEqual(tableRows('HostEndpoint', [hep], { wide: true, printNamespace: false })[1], [
    'test-hep',
    'kind-worker',
    'eth0',
    '10.0.0.1,10.0.0.2',
    '',
  ]);
  const cfg = v('BGPConfiguration', { name: 'default' }, { nodeToNodeMeshEnabled: false, asNumber: 64512 });
  assert.deepEqual(tableRows('BGPConfiguration', [cfg], { wide: false, printNamespace: false }), [
    ['NAME', 'LOGSEVERITY', 'MESHENABLED', 'ASNUMBER'],
    ['default', 'Info', '-', '64512'],
  ]);
});

test('IPAM kinds, which calicoctl does not list, get NAME-first columns in the same style', () => {
  const aff = v(
    'BlockAffinity',
    { name: 'node1-192-168-10-0-26' },
    { cidr: '192.168.10.0/26', node: 'node1', state: 'confirmed', deleted: false },
  );
  assert.deepEqual(tableRows('BlockAffinity', [aff], { wide: false, printNamespace: false }), [
    ['NAME', 'NODE', 'CIDR', 'STATE'],
    ['node1-192-168-10-0-26', 'node1', '192.168.10.0/26', 'confirmed'],
  ]);
  assert.deepEqual(headingsFor('IPAMBlock', { wide: true, printNamespace: false }), [
    'NAME',
    'CIDR',
    'AFFINITY',
    'STRICTAFFINITY',
    'INUSE',
    'FREE',
  ]);
});

test('an empty listing is the heading line alone', () => {
  assert.equal(
    tabTable(tableRows('BGPPeer', [], { wide: false, printNamespace: false })),
    'NAME   PEERIP   NODE   ASN\n',
  );
});
