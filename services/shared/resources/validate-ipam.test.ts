import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  blockAffinityName,
  ipamBlockName,
  ipamHandleName,
  type BlockAffinity,
  type IPAMBlock,
  type IPAMHandle,
  type IPPool,
} from './index.js';
import { assertInvalid, resource, valid, withField, withFields } from './test-support.js';

const pool = resource('IPPool', 'pool-a', { cidr: '10.0.0.0/16' });
const pool6 = resource('IPPool', 'pool-6', { cidr: 'fd00:10::/48' });

test('IPPool: valid pools get Calico defaults', () => {
  const p = valid(pool) as IPPool;
  assert.deepEqual(p.spec, {
    cidr: '10.0.0.0/16',
    blockSize: 26,
    ipipMode: 'Never',
    vxlanMode: 'Never',
    natOutgoing: false,
    disabled: false,
    disableBGPExport: false,
    nodeSelector: 'all()',
    allowedUses: ['Workload', 'Tunnel'],
    assignmentMode: 'Automatic',
  });
  assert.equal((valid(pool6) as IPPool).spec.blockSize, 122);
  assert.equal(
    (valid(withField(pool, 'spec.blockSize', 0)) as IPPool).spec.blockSize,
    26,
    'blockSize 0 means the default',
  );
  assert.equal(
    (valid(withField(pool, 'spec.nodeSelector', '')) as IPPool).spec.nodeSelector,
    'all()',
    'an empty nodeSelector means all()',
  );
  assert.equal(
    (valid(withField(pool6, 'spec.cidr', 'FD00:10:0::/48')) as IPPool).spec.cidr,
    'fd00:10::/48',
    'IPv6 text is normalized',
  );
  const full = valid(
    withFields(pool, {
      'spec.blockSize': 20,
      'spec.ipipMode': 'CrossSubnet',
      'spec.natOutgoing': true,
      'spec.nodeSelector': "rack == 'a'",
      'spec.assignmentMode': 'Manual',
      'spec.allowedUses': ['Workload'],
      'spec.disableBGPExport': true,
    }),
  ) as IPPool;
  assert.equal(full.spec.ipipMode, 'CrossSubnet');
  assert.equal(valid(withFields(pool, { 'spec.cidr': '10.0.0.0/32', 'spec.blockSize': 32 })).kind, 'IPPool');
  assert.equal(valid(withFields(pool6, { 'spec.vxlanMode': 'Always', 'spec.blockSize': 128 })).kind, 'IPPool');
});

test('IPPool: CIDR rules', () => {
  assertInvalid(withField(pool, 'spec.cidr', undefined), 'spec.cidr', 'is required');
  assertInvalid(withField(pool, 'spec', undefined), 'spec.cidr', 'is required');
  assertInvalid(
    withField(pool, 'spec.cidr', '10.0.0.0'),
    'spec.cidr',
    "'10.0.0.0' is not a CIDR (expected address/prefix-length)",
  );
  assertInvalid(
    withField(pool, 'spec.cidr', '10.0.0.0/40'),
    'spec.cidr',
    "'10.0.0.0/40' is not a valid CIDR: prefix length must be 0-32",
  );
  assertInvalid(
    withField(pool, 'spec.cidr', '10.0.0.300/24'),
    'spec.cidr',
    "'10.0.0.300/24' is not a valid CIDR: '10.0.0.300' is not a valid IP address",
  );
  assertInvalid(
    withField(pool, 'spec.cidr', '10.0.0.1/16'),
    'spec.cidr',
    '10.0.0.1/16 is not strictly masked: host bits are set (the network is 10.0.0.0/16)',
  );
  assertInvalid(
    withField(pool6, 'spec.cidr', 'fd00::1/64'),
    'spec.cidr',
    'fd00::1/64 is not strictly masked: host bits are set (the network is fd00::/64)',
  );
  assertInvalid(withField(pool, 'spec.cidr', 'x'.repeat(65)), 'spec.cidr', 'is longer than 64 characters');
  assertInvalid(
    withField(pool, 'spec.cidr', '169.254.0.0/24'),
    'spec.cidr',
    '169.254.0.0/24 overlaps the link-local range 169.254.0.0/16',
  );
  assertInvalid(
    withFields(pool, { 'spec.cidr': '128.0.0.0/1', 'spec.blockSize': 26 }),
    'spec.cidr',
    'overlaps the link-local range',
  );
  assertInvalid(
    withField(pool6, 'spec.cidr', 'fe80::/64'),
    'spec.cidr',
    'fe80::/64 overlaps the link-local range fe80::/10',
  );
});

test('IPPool: block size ranges per family, and the block must fit in the pool', () => {
  assertInvalid(withField(pool, 'spec.blockSize', 19), 'spec.blockSize', '19 is out of range for IPv4 (20-32)');
  assertInvalid(withField(pool, 'spec.blockSize', 33), 'spec.blockSize', '33 is out of range for IPv4 (20-32)');
  assertInvalid(withField(pool, 'spec.blockSize', 122), 'spec.blockSize', '122 is out of range for IPv4 (20-32)');
  assertInvalid(withField(pool6, 'spec.blockSize', 115), 'spec.blockSize', '115 is out of range for IPv6 (116-128)');
  assertInvalid(withField(pool6, 'spec.blockSize', 129), 'spec.blockSize', '129 is out of range for IPv6 (116-128)');
  assertInvalid(withField(pool6, 'spec.blockSize', 26), 'spec.blockSize', '26 is out of range for IPv6 (116-128)');
  assertInvalid(withField(pool, 'spec.blockSize', -1), 'spec.blockSize', '-1 is out of range');
  assertInvalid(
    withField(pool, 'spec.cidr', '10.0.0.0/27'),
    'spec.blockSize',
    'a /26 block does not fit in 10.0.0.0/27: the pool must be at least as large as one block',
  );
  assertInvalid(
    withFields(pool6, { 'spec.cidr': 'fd00::/126', 'spec.blockSize': 124 }),
    'spec.blockSize',
    'a /124 block does not fit in fd00::/126',
  );
  assert.equal(
    valid(withFields(pool, { 'spec.cidr': '10.0.0.0/27', 'spec.disabled': true })).kind,
    'IPPool',
    'a disabled pool may be small',
  );
});

test('IPPool: encapsulation, allowed uses and selectors', () => {
  assertInvalid(
    withField(pool, 'spec.vxlanMode', 'Sometimes'),
    'spec.vxlanMode',
    "'Sometimes' is not one of Never, Always, CrossSubnet",
  );
  assertInvalid(
    withFields(pool, { 'spec.ipipMode': 'Always', 'spec.vxlanMode': 'CrossSubnet' }),
    'spec.vxlanMode',
    'ipipMode (Always) and vxlanMode (CrossSubnet) cannot both be enabled',
  );
  assertInvalid(withField(pool6, 'spec.ipipMode', 'Always'), 'spec.ipipMode', 'IPIP is not supported on IPv6 pools');
  assertInvalid(
    withField(pool, 'spec.allowedUses', ['Pods']),
    'spec.allowedUses[0]',
    "'Pods' is not one of Workload, Tunnel, LoadBalancer",
  );
  assertInvalid(
    withField(pool, 'spec.allowedUses', ['Workload', 'Workload']),
    'spec.allowedUses[1]',
    'duplicates spec.allowedUses[0]',
  );
  assertInvalid(
    withField(pool, 'spec.allowedUses', ['LoadBalancer', 'Workload']),
    'spec.allowedUses',
    'LoadBalancer cannot be combined with Workload or Tunnel',
  );
  assertInvalid(
    withFields(pool, { 'spec.allowedUses': ['LoadBalancer'], 'spec.vxlanMode': 'Always' }),
    'spec.allowedUses',
    'a LoadBalancer pool cannot have IPIP or VXLAN enabled',
  );
  assertInvalid(
    withFields(pool, { 'spec.allowedUses': ['LoadBalancer'], 'spec.disableBGPExport': true }),
    'spec.disableBGPExport',
    'a LoadBalancer pool cannot disable BGP export',
  );
  assertInvalid(
    withFields(pool, { 'spec.allowedUses': ['LoadBalancer'], 'spec.nodeSelector': 'has(x)' }),
    'spec.nodeSelector',
    "a LoadBalancer pool must have nodeSelector 'all()'",
  );
  assertInvalid(
    withField(pool, 'spec.namespaceSelector', "name == 'x'"),
    'spec.namespaceSelector',
    'a pool with allowed use Tunnel cannot have a namespaceSelector',
  );
  assert.equal(
    valid(withFields(pool, { 'spec.namespaceSelector': "name == 'x'", 'spec.allowedUses': ['Workload'] })).kind,
    'IPPool',
  );
  assertInvalid(
    withField(pool, 'spec.nodeSelector', 'rack = a'),
    'spec.nodeSelector',
    "invalid selector at position 5: expected '=='",
  );
  assertInvalid(
    withField(pool, 'spec.nodeSelector', 'global()'),
    'spec.nodeSelector',
    'global() is not valid in an IPPool nodeSelector',
  );
  assertInvalid(
    withFields(pool, { 'spec.allowedUses': ['Workload'], 'spec.namespaceSelector': 'global()' }),
    'spec.namespaceSelector',
    'global() is not valid in an IPPool namespaceSelector',
  );
  assertInvalid(
    withField(pool, 'spec.nodeSelector', 7),
    'spec.nodeSelector',
    'expected a selector string, got a number (7)',
  );
  assertInvalid(
    withField(pool, 'spec.nodeSelector', `a == '${'x'.repeat(1100)}'`),
    'spec.nodeSelector',
    'selector is longer than 1024 characters',
  );
  assertInvalid(
    withField(pool, 'spec.assignmentMode', 'Auto'),
    'spec.assignmentMode',
    "'Auto' is not one of Automatic, Manual",
  );
});

const attrs = [
  {
    handle_id: 'k8s-pod-network.3f1a2b4c5d6e',
    secondary: { namespace: 'default', node: 'node-a1', pod: 'frontend-7d4b9c' },
  },
  { handle_id: 'ipip-tunnel-addr-node-a1', secondary: { node: 'node-a1', type: 'ipipTunnelAddress' } },
];
const block = resource('IPAMBlock', '10-244-0-4-30', {
  cidr: '10.244.0.4/30',
  affinity: 'host:node-a1',
  allocations: [1, 0, null, null],
  unallocated: [2, 3],
  attributes: attrs,
  sequenceNumber: 2,
  sequenceNumberForAllocation: { '0': 0, '1': 1 },
});

test('IPAMBlock: Calico shape, name derived from the CIDR', () => {
  const b = valid(block) as IPAMBlock;
  assert.equal(b.spec.strictAffinity, false);
  assert.equal(b.spec.deleted, false);
  assert.deepEqual(b.spec.allocations, [1, 0, null, null]);
  assert.equal(ipamBlockName('10.244.0.4/30'), '10-244-0-4-30');
  assert.equal(ipamBlockName('fd00:10:244::40/122'), 'fd00-10-244--40-122');
  assert.equal(ipamBlockName('::/120'), '0--0-120');
  assert.equal(blockAffinityName('node-a1', '10.244.0.64/26'), 'node-a1-10-244-0-64-26');
  const v6 = resource('IPAMBlock', ipamBlockName('fd00::/126'), {
    cidr: 'fd00::/126',
    allocations: [null, null, null, null],
    unallocated: [0, 1, 2, 3],
  });
  assert.equal((valid(v6) as IPAMBlock).spec.attributes.length, 0);
  const empty = resource('IPAMBlock', '10-0-0-0-20', {
    cidr: '10.0.0.0/20',
    allocations: new Array(4096).fill(null),
    unallocated: Array.from({ length: 4096 }, (_, i) => i),
  });
  assert.equal((valid(empty) as IPAMBlock).spec.unallocated.length, 4096);
});

test('IPAMBlock: every rule', () => {
  assertInvalid(
    withField(block, 'metadata.name', 'block-1'),
    'metadata.name',
    "an IPAMBlock for 10.244.0.4/30 must be named '10-244-0-4-30'",
  );
  assertInvalid(withField(block, 'spec.cidr', '10.244.0.5/30'), 'spec.cidr', 'is not strictly masked');
  assertInvalid(
    withFields(block, { 'spec.cidr': '10.244.0.0/16' }),
    'spec.cidr',
    'a block must be /20 to /32 for IPv4, got /16',
  );
  assertInvalid(
    withFields(block, { 'spec.cidr': 'fd00::/64' }),
    'spec.cidr',
    'a block must be /116 to /128 for IPv6, got /64',
  );
  assertInvalid(withField(block, 'spec.allocations', undefined), 'spec.allocations', 'is required');
  assertInvalid(withField(block, 'spec.unallocated', undefined), 'spec.unallocated', 'is required');
  assertInvalid(withField(block, 'spec.allocations', {}), 'spec.allocations', 'expected a list, got a mapping');
  assertInvalid(
    withField(block, 'spec.allocations', [1, 0, null]),
    'spec.allocations',
    'has 3 entries; a 10.244.0.4/30 block needs exactly 4',
  );
  assertInvalid(
    withField(block, 'spec.allocations[0]', 2),
    'spec.allocations[0]',
    'refers to attribute 2, but there are 2 attributes',
  );
  assertInvalid(withField(block, 'spec.allocations[0]', -1), 'spec.allocations[0]', '-1 is out of range');
  assertInvalid(withField(block, 'spec.allocations[0]', 'a'), 'spec.allocations[0]', 'expected an integer');
  assertInvalid(withField(block, 'spec.unallocated', [2, 4]), 'spec.unallocated[1]', '4 is outside the block (0-3)');
  assertInvalid(withField(block, 'spec.unallocated', [2, 2]), 'spec.unallocated[1]', '2 is listed twice');
  assertInvalid(
    withField(block, 'spec.unallocated', [2, 0]),
    'spec.unallocated[1]',
    '0 is listed as free but allocations[0] is 1',
  );
  assertInvalid(
    withField(block, 'spec.unallocated', [2]),
    'spec.unallocated',
    'lists 1 free addresses, but allocations has 2 free entries',
  );
  assertInvalid(
    withField(block, 'spec.affinity', 'node-a1'),
    'spec.affinity',
    "'node-a1' is not an affinity (expected 'host:NODE' or 'virtual:NAME')",
  );
  assertInvalid(
    withField(block, 'spec.affinity', 'host:Node_A'),
    'spec.affinity',
    "node name 'Node_A' is not a valid name",
  );
  assertInvalid(
    withField(block, 'spec.attributes[0].handle', 'x'),
    'spec.attributes[0].handle',
    "unknown field 'handle' (did you mean 'handle_id'?)",
  );
  assertInvalid(
    withField(block, 'spec.sequenceNumberForAllocation', { '0': 'x' }),
    'spec.sequenceNumberForAllocation["0"]',
    'expected an integer',
  );
  assertInvalid(withField(block, 'spec.strictAffinity', 'no'), 'spec.strictAffinity', 'expected true or false');
});

const affinity = resource('BlockAffinity', blockAffinityName('node-a1', '10.244.0.64/26'), {
  state: 'confirmed',
  node: 'node-a1',
  cidr: '10.244.0.64/26',
  deleted: 'false',
});

test('BlockAffinity: valid, Calico string booleans accepted', () => {
  const a = valid(affinity) as BlockAffinity;
  assert.equal(a.spec.deleted, false);
  assert.equal((valid(withField(affinity, 'spec.deleted', true)) as BlockAffinity).spec.deleted, true);
  assert.equal((valid(withField(affinity, 'spec.state', undefined)) as BlockAffinity).spec.state, 'confirmed');
  assert.equal(
    (valid(withField(affinity, 'spec.state', 'pendingDeletion')) as BlockAffinity).spec.state,
    'pendingDeletion',
  );
});

test('BlockAffinity: every rule', () => {
  assertInvalid(
    withField(affinity, 'spec.state', 'Confirmed'),
    'spec.state',
    "'Confirmed' is not one of confirmed, pending, pendingDeletion (did you mean 'confirmed'?)",
  );
  assertInvalid(withField(affinity, 'spec.node', undefined), 'spec.node', 'is required');
  assertInvalid(withField(affinity, 'spec.node', 'Node A'), 'spec.node', 'is not a valid name');
  assertInvalid(withField(affinity, 'spec.cidr', undefined), 'spec.cidr', 'is required');
  assertInvalid(
    withField(affinity, 'spec.cidr', '10.244.0.0/16'),
    'spec.cidr',
    'a block must be /20 to /32 for IPv4, got /16',
  );
  assertInvalid(
    withField(affinity, 'spec.deleted', 'maybe'),
    'spec.deleted',
    "expected true or false, got a string ('maybe')",
  );
  assertInvalid(withField(affinity, 'spec.type', 'vm'), 'spec.type', "'vm' is not one of host, virtual");
});

const handle = resource('IPAMHandle', ipamHandleName('k8s-pod-network.0a1b'), {
  handleID: 'k8s-pod-network.0a1b',
  block: { '10.244.0.64/26': 2 },
});

test('IPAMHandle: valid, named after its handle id', () => {
  const h = valid(handle) as IPAMHandle;
  assert.deepEqual(h.spec, { handleID: 'k8s-pod-network.0a1b', block: { '10.244.0.64/26': 2 }, deleted: false });
  assert.equal(ipamHandleName('K8s-Pod-Network.ABC'), 'k8s-pod-network.abc');
});

test('IPAMHandle: every rule', () => {
  assertInvalid(withField(handle, 'spec.handleID', undefined), 'spec.handleID', 'is required');
  assertInvalid(withField(handle, 'spec.handleID', 'other'), 'metadata.name', "must be named 'other'");
  assertInvalid(
    withField(handle, 'spec.block', { '10.244.0.64/26': -1 }),
    'spec.block["10.244.0.64/26"]',
    'out of range',
  );
  assertInvalid(withField(handle, 'spec.block', { '10.244.0.65/26': 1 }), 'spec.block["10.244.0.65/26"]', '');
  assertInvalid(withField(handle, 'spec.block', []), 'spec.block', 'expected a mapping');
});
