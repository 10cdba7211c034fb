import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeDesired, type DesiredOptions } from './desired.js';
import { blockAffinity, deletion, ipamBlock, nodeResource, workloadEndpoint } from './fixtures.js';
import { DataplaneView, type ResourceChange } from './view.js';

const opts: DesiredOptions = { node: 'node-1', blockRouteType: 'unreachable', remoteBlocks: false };

function desired(changes: ResourceChange[], options: Partial<DesiredOptions> = {}) {
  const view = new DataplaneView();
  view.apply(changes);
  const d = computeDesired(view, { ...opts, ...options });
  const routes = [...d.routes.values()]
    .map(
      (r) =>
        `${r.type === 'unicast' ? '' : `${r.type} `}${r.dst}${r.via ? ` via ${r.via}` : ''}${r.dev ? ` dev ${r.dev}` : ''}${r.scope === 'link' ? ' scope link' : ''} metric ${r.metric} (${r.reason})`,
    )
    .sort();
  return { ...d, list: routes };
}

test('local workloads get a host route to their interface and proxy ARP; blocks of this node an unreachable route', () => {
  const d = desired([
    workloadEndpoint('a', 'node-1', 'cali1', ['10.65.0.5/32']),
    workloadEndpoint('b', 'node-1', 'cali2', ['10.65.0.6/32', 'fd00:65::6/128']),
    ipamBlock('10.65.0.0/26', 'node-1'),
    ipamBlock('10.65.0.64/26', 'node-2'),
    blockAffinity('node-1', 'fd00:65::/122'),
    blockAffinity('node-1', '10.65.1.0/26', 'pending'),
  ]);
  assert.deepEqual(d.list, [
    '10.65.0.5/32 dev cali1 scope link metric 0 (workload)',
    '10.65.0.6/32 dev cali2 scope link metric 0 (workload)',
    'fd00:65::6/128 dev cali2 metric 1024 (workload)',
    'unreachable 10.65.0.0/26 metric 0 (local-block)',
    'unreachable fd00:65::/122 metric 1024 (local-block)',
  ]);
  assert.deepEqual([...d.proxyArpInterfaces].sort(), ['cali1', 'cali2']);
  assert.deepEqual([...d.families].sort(), [4, 6]);
  assert.deepEqual(desired([ipamBlock('10.65.0.0/26', 'node-1')], { blockRouteType: 'blackhole' }).list, [
    'blackhole 10.65.0.0/26 metric 0 (local-block)',
  ]);
});

test('the IPAMBlock decides the owner over a stale affinity; deleted blocks and affinities route nothing', () => {
  const moved = ipamBlock('10.65.0.0/26', 'node-2');
  const gone = ipamBlock('10.65.0.64/26', 'node-1');
  (gone.value as { spec: { deleted: boolean } }).spec.deleted = true;
  assert.deepEqual(desired([moved, blockAffinity('node-1', '10.65.0.0/26'), gone]).list, []);
  assert.deepEqual(
    desired([blockAffinity('node-1', '10.65.0.0/26'), deletion(blockAffinity('node-1', '10.65.0.0/26'))]).list,
    [],
  );
});

test("borrowed addresses: our workload in another node's block gets its /32; our block's address used elsewhere goes upstream", () => {
  const changes = [
    ipamBlock('10.65.0.0/26', 'node-1', { used: { 5: 'node-1', 9: 'node-2', 10: 'node-1' } }),
    ipamBlock('10.65.0.64/26', 'node-2', { used: { 3: 'node-1' } }),
    workloadEndpoint('borrower', 'node-1', 'cali3', ['10.65.0.67/32']),
  ];
  const without = desired(changes);
  assert.deepEqual([...without.needsUpstream], [4]);
  assert.ok(without.problems.some((p) => p.includes('10.65.0.9') && p.includes('would swallow it')));
  const d = desired(changes, { upstream: { 4: { via: '198.18.0.1', dev: 'fab0' } } });
  assert.deepEqual(d.list, [
    '10.65.0.67/32 dev cali3 scope link metric 0 (workload)',
    '10.65.0.9/32 via 198.18.0.1 dev fab0 metric 0 (borrowed-hole)',
    'unreachable 10.65.0.0/26 metric 0 (local-block)',
  ]);
  assert.equal(d.needsUpstream.size, 0);
});

test("remoteBlocks: other nodes' blocks and borrowed addresses go straight to the node that has them", () => {
  const changes = [
    nodeResource('node-1', '198.18.0.11/24'),
    nodeResource('node-2', '198.18.0.12/24', 'fd00::12/64'),
    nodeResource('node-3', '198.18.0.13'),
    ipamBlock('10.65.0.0/26', 'node-1', { used: { 9: 'node-3' } }),
    ipamBlock('10.65.0.64/26', 'node-2', { used: { 1: 'node-3', 2: 'node-1' } }),
    blockAffinity('node-2', 'fd00:65::/122'),
    ipamBlock('10.65.0.192/26', 'node-4'),
  ];
  const d = desired(changes, { remoteBlocks: true });
  assert.deepEqual(d.list, [
    '10.65.0.64/26 via 198.18.0.12 metric 0 (remote-block)',
    '10.65.0.65/32 via 198.18.0.13 metric 0 (remote-borrowed)',
    '10.65.0.9/32 via 198.18.0.13 metric 0 (remote-borrowed)',
    'fd00:65::/122 via fd00::12 metric 1024 (remote-block)',
    'unreachable 10.65.0.0/26 metric 0 (local-block)',
  ]);
  assert.ok(d.problems.some((p) => p.includes('10.65.0.192/26') && p.includes('node-4 has no IPv4 address')));
});

test('bad or foreign endpoints are reported and route nothing; a duplicate address goes to the first endpoint by name', () => {
  const d = desired([
    workloadEndpoint('other', 'node-2', 'cali1', ['10.65.0.5/32']),
    workloadEndpoint('bad', 'node-1', 'cali2', ['10.65.0.300/32', '10.65.0.7']),
    workloadEndpoint('a-first', 'node-1', 'cali4', ['10.65.0.8/32']),
    workloadEndpoint('b-second', 'node-1', 'cali5', ['10.65.0.8/32']),
    { kind: 'WorkloadEndpoint', namespace: 'default', name: 'broken', value: Buffer.from('{not json') },
    {
      kind: 'WorkloadEndpoint',
      namespace: 'default',
      name: 'noiface',
      value: { spec: { node: 'node-1', ipNetworks: ['10.65.0.9/32'] } },
    },
    { kind: 'IPPool', namespace: '', name: 'ignored', value: Buffer.from('whatever') },
  ]);
  assert.deepEqual(d.list, [
    '10.65.0.7/32 dev cali2 scope link metric 0 (workload)',
    '10.65.0.8/32 dev cali4 scope link metric 0 (workload)',
  ]);
  assert.ok(d.problems.some((p) => p.includes('default/other') && p.includes("spec.node is 'node-2'")));
  assert.ok(d.problems.some((p) => p.includes('default/bad') && p.includes('10.65.0.300/32')));
  assert.ok(
    d.problems.some(
      (p) => p.includes('default/b-second') && p.includes('also claimed by WorkloadEndpoint default/a-first'),
    ),
  );
  const view = new DataplaneView();
  view.apply([
    { kind: 'WorkloadEndpoint', namespace: 'default', name: 'broken', value: Buffer.from('{not json') },
    {
      kind: 'WorkloadEndpoint',
      namespace: 'default',
      name: 'noiface',
      value: { spec: { node: 'node-1', ipNetworks: ['10.65.0.9/32'] } },
    },
    { kind: 'IPAMBlock', namespace: '', name: 'b', value: { spec: { cidr: '10.0.0.0/26', allocations: 'x' } } },
  ]);
  assert.match(view.invalid.get('WorkloadEndpoint default/broken')!, /not JSON/);
  assert.equal(view.invalid.get('WorkloadEndpoint default/noiface'), 'spec.interfaceName: expected a non-empty string');
  assert.equal(view.invalid.get('IPAMBlock b'), 'spec.allocations: expected a list');
  view.apply([deletion(workloadEndpoint('broken', 'x', 'y', []))]);
  assert.equal(view.invalid.has('WorkloadEndpoint default/broken'), false);
});
