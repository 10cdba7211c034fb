// Address IPAM through the real API on a real nats-server: concurrency across two datastore
// replicas, borrowing, strict affinity, specific addresses, release, and bad input.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError } from '../../../shared/errors/index.js';
import {
  createDatastoreClient,
  type DatastoreClient,
  type ResourceObject,
} from '../../../shared/datastore-client/index.js';
import { createLogger } from '../../../shared/log/index.js';
import { cidrContains } from '../../../shared/resources/index.js';
import { runDatastore, type DatastoreHandle } from '../run.js';
import { startTestDatastore, testConfig, type TestDatastore } from '../testing/index.js';

let t: TestDatastore;
let replica: DatastoreHandle;
let strict: DatastoreHandle;
before(async () => {
  t = await startTestDatastore();
  // A second replica on the same NATS: the KV compare-and-set is the only arbiter between them.
  replica = await runDatastore(testConfig(t.nats.url), createLogger('datastore-replica'));
  strict = await runDatastore(testConfig(t.nats.url, { ipamStrictAffinity: true }), createLogger('datastore-strict'));
});
after(async () => {
  await strict.close();
  await replica.close();
  await t.stop();
});

const V3 = 'projectcalico.org/v3';
const node = (name: string) => ({ apiVersion: V3, kind: 'Node', metadata: { name }, spec: {} });
const pool = (name: string, cidr: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: V3,
  kind: 'IPPool',
  metadata: { name },
  spec: { cidr, ...spec },
});
type BlockSpec = {
  cidr: string;
  affinity?: string;
  allocations: (number | null)[];
  attributes: { handle_id?: string; secondary?: Record<string, string> }[];
};
const blockSpec = (r: ResourceObject) => r.spec as BlockSpec;

async function blocksIn(cidr: string): Promise<ResourceObject[]> {
  return (await t.client.list('IPAMBlock')).items.filter((b) => cidrContains(cidr, blockSpec(b).cidr));
}

test('200 pods at once on 10 nodes through two replicas: 200 distinct addresses, no block claimed twice, nothing leaked after 200 deletes', async () => {
  // /28 blocks (16 addresses): 20 pods per node need two blocks each, so nodes claim while others assign.
  await t.client.create(pool('conc', '10.200.0.0/22', { blockSize: 28 }));
  const nodes = Array.from({ length: 10 }, (_, i) => `conc-${i}`);
  await Promise.all(nodes.map((n) => t.client.create(node(n))));
  const clients: DatastoreClient[] = [];
  for (let i = 0; i < 6; i++) clients.push(createDatastoreClient(i % 2 === 0 ? t.datastore.address : replica.address));
  try {
    const pods = Array.from({ length: 200 }, (_, i) => ({
      node: nodes[i % 10]!,
      handleId: `k8s-pod-network.pod${i}`,
      pod: `pod-${i}`,
    }));
    const results = await Promise.all(
      pods.map((p, i) =>
        clients[i % clients.length]!.autoAssign({
          node: p.node,
          handleId: p.handleId,
          numIpv4: 1,
          ipv4Pools: ['conc'],
          attributes: { namespace: 'default', pod: p.pod },
        }),
      ),
    );
    const addresses = results.map((r) => r.ipv4[0]!.address);
    assert.equal(new Set(addresses).size, 200, 'every pod has its own address');
    results.forEach((r) => {
      assert.equal(r.ipv4.length, 1);
      assert.equal(r.ipv6.length, 0);
      assert.equal(r.ipv4[0]!.borrowed, false, 'the pool had free blocks: nothing is borrowed');
    });

    const blocks = await blocksIn('10.200.0.0/22');
    assert.equal(blocks.length, 20, 'two /28 blocks per node');
    const owners = new Map<string, string>();
    for (const b of blocks) {
      const s = blockSpec(b);
      assert.match(String(s.affinity), /^host:conc-\d$/);
      owners.set(s.cidr, s.affinity!.slice(5));
    }
    const affinities = (await t.client.list('BlockAffinity')).items.filter((a) =>
      cidrContains('10.200.0.0/22', (a.spec as { cidr: string }).cidr),
    );
    assert.equal(affinities.length, 20, 'one BlockAffinity per block: no block claimed twice');
    assert.equal(new Set(affinities.map((a) => (a.spec as { cidr: string }).cidr)).size, 20);
    results.forEach((r, i) => {
      const a = r.ipv4[0]!;
      assert.ok(cidrContains(a.block, a.address));
      assert.equal(owners.get(a.block), pods[i]!.node, 'the address comes from a block affine to its node');
    });
    // What the blocks record matches: handle, node, pod.
    const inUse = blocks.flatMap((b) => {
      const s = blockSpec(b);
      return s.allocations.flatMap((x) => (x === null ? [] : [s.attributes[x]!]));
    });
    assert.equal(inUse.length, 200);
    assert.equal(new Set(inUse.map((a) => a.handle_id)).size, 200);
    const handles = (await t.client.list('IPAMHandle')).items.filter((h) =>
      h.metadata.name.startsWith('k8s-pod-network.pod'),
    );
    assert.equal(handles.length, 200);
    assert.deepEqual(await t.client.handleAddresses('k8s-pod-network.pod7'), results[7]!.ipv4);

    const released = await Promise.all(
      pods.map((p, i) => clients[(i + 1) % clients.length]!.releaseHandle(p.handleId)),
    );
    released.forEach((r, i) => assert.deepEqual(r, [addresses[i]]));
    for (const b of await blocksIn('10.200.0.0/22')) {
      const s = blockSpec(b);
      assert.equal(s.allocations.filter((x) => x !== null).length, 0, `${s.cidr} has no allocation left`);
      assert.equal(s.attributes.length, 0, `${s.cidr} has no attribute left`);
      assert.equal((b.spec as { unallocated: number[] }).unallocated.length, 16);
    }
    assert.equal(
      (await t.client.list('IPAMHandle')).items.filter((h) => h.metadata.name.startsWith('k8s-pod-network.pod')).length,
      0,
      'no handle left',
    );
    // Releasing again is a no-op (a repeated CNI DEL).
    assert.deepEqual(await t.client.releaseHandle('k8s-pod-network.pod0'), []);
  } finally {
    for (const c of clients) c.close();
  }
});

test('borrowing: only when the pool has no free block, recorded with the borrowing node; strict affinity refuses', async () => {
  // Two /28 blocks in the pool.
  await t.client.create(pool('small', '10.210.0.0/27', { blockSize: 28 }));
  await Promise.all(['bo-a', 'bo-b', 'bo-c'].map((n) => t.client.create(node(n))));
  const a = await t.client.autoAssign({ node: 'bo-a', handleId: 'h-a', numIpv4: 10, ipv4Pools: ['10.210.0.0/27'] });
  const b = await t.client.autoAssign({ node: 'bo-b', handleId: 'h-b', numIpv4: 16, ipv4Pools: ['small'] });
  assert.equal(new Set([...a.ipv4, ...b.ipv4].map((x) => x.block)).size, 2);
  assert.ok(b.ipv4.every((x) => !x.borrowed));

  // bo-c: no unclaimed block left, bo-a's block has 6 free addresses.
  const c = await t.client.autoAssign({
    node: 'bo-c',
    handleId: 'h-c',
    numIpv4: 2,
    ipv4Pools: ['small'],
    attributes: { pod: 'c' },
  });
  assert.equal(c.ipv4.length, 2);
  assert.ok(c.ipv4.every((x) => x.borrowed && x.block === a.ipv4[0]!.block));
  const donor = await t.client.get('IPAMBlock', a.ipv4[0]!.block.replace(/[./]/g, '-'));
  const s = blockSpec(donor);
  assert.equal(s.affinity, 'host:bo-a', "the block stays bo-a's");
  const borrowed = s.attributes.filter((x) => x.handle_id === 'h-c');
  assert.equal(borrowed.length, 1);
  assert.equal(borrowed[0]!.secondary!.node, 'bo-c', 'the borrowing node is recorded for the reflectors');
  assert.equal(borrowed[0]!.secondary!.pod, 'c');
  assert.deepEqual(
    (await t.client.handleAddresses('h-c')).map((x) => x.borrowed),
    [true, true],
  );

  // The strict-affinity replica never borrows; the request fails and leaves nothing behind.
  const strictClient = createDatastoreClient(strict.address);
  try {
    await assert.rejects(
      strictClient.autoAssign({ node: 'bo-c', handleId: 'h-strict', numIpv4: 1, ipv4Pools: ['small'] }),
      (e: unknown) =>
        e instanceof FailedPreconditionError && /exhausted/.test(e.message) && /strict affinity/.test(e.message),
    );
    assert.deepEqual(await strictClient.handleAddresses('h-strict'), []);
  } finally {
    strictClient.close();
  }

  // Asking for more than is left anywhere: all or nothing.
  await assert.rejects(
    t.client.autoAssign({ node: 'bo-c', handleId: 'h-big', numIpv4: 10, ipv4Pools: ['small'] }),
    FailedPreconditionError,
  );
  assert.deepEqual(await t.client.handleAddresses('h-big'), []);
  const donorAfter = blockSpec(await t.client.get('IPAMBlock', donor.metadata.name));
  assert.equal(
    donorAfter.allocations.filter((x) => x !== null).length,
    12,
    'the failed request rolled back its borrowed addresses',
  );

  // Releasing the borrowed addresses by IP; the handle follows.
  const rel = await t.client.releaseIps([...c.ipv4.map((x) => x.address), '10.210.0.99', '10.99.0.1']);
  assert.deepEqual(rel.released.sort(), c.ipv4.map((x) => x.address).sort());
  assert.deepEqual(rel.notAllocated.sort(), ['10.210.0.99', '10.99.0.1'].sort());
  assert.deepEqual(await t.client.handleAddresses('h-c'), []);
  await assert.rejects(t.client.get('IPAMHandle', 'h-c'));
});

test('IPv4 + IPv6 together; a family without a pool fails and leaks nothing', async () => {
  await t.client.create(pool('dual4', '10.220.0.0/24'));
  await t.client.create(pool('dual6', 'fd00:220::/120', { blockSize: 122 }));
  await t.client.create(node('dual-1'));
  const r = await t.client.autoAssign({
    node: 'dual-1',
    handleId: 'h-dual',
    numIpv4: 1,
    numIpv6: 2,
    ipv4Pools: ['dual4'],
    ipv6Pools: ['dual6'],
  });
  assert.equal(r.ipv4.length, 1);
  assert.equal(r.ipv6.length, 2);
  assert.ok(cidrContains('fd00:220::/120', r.ipv6[0]!.address));
  const h = await t.client.get('IPAMHandle', 'h-dual');
  assert.deepEqual((h.spec as { block: Record<string, number> }).block, {
    [r.ipv4[0]!.block]: 1,
    [r.ipv6[0]!.block]: 2,
  });
  assert.deepEqual(
    (await t.client.releaseHandle('h-dual')).sort(),
    [...r.ipv4, ...r.ipv6].map((x) => x.address).sort(),
  );

  await assert.rejects(
    t.client.autoAssign({
      node: 'dual-1',
      handleId: 'h-bad',
      numIpv4: 1,
      numIpv6: 1,
      ipv4Pools: ['dual4'],
      ipv6Pools: ['dual4'],
    }),
    (e: unknown) => e instanceof InvalidArgumentError && e.field === 'ipv6_pools[0]',
  );
  assert.deepEqual(await t.client.handleAddresses('h-bad'), []);
});

test('assigning a specific address: claims its block, refuses one in use', async () => {
  await t.client.create(pool('spec', '10.230.0.0/24', { blockSize: 26 }));
  await t.client.create(node('sp-1'));
  await t.client.create(node('sp-2'));
  const one = await t.client.assignIp({
    node: 'sp-1',
    handleId: 'h-sp1',
    address: '10.230.0.70',
    attributes: { pod: 'x' },
  });
  assert.deepEqual(one, { address: '10.230.0.70', block: '10.230.0.64/26', borrowed: false });
  const block = await t.client.get('IPAMBlock', '10-230-0-64-26');
  assert.equal(blockSpec(block).affinity, 'host:sp-1');
  await t.client.get('BlockAffinity', 'sp-1-10-230-0-64-26');
  await assert.rejects(
    t.client.assignIp({ node: 'sp-2', handleId: 'h-sp2', address: '10.230.0.70' }),
    AlreadyExistsError,
  );
  assert.deepEqual(await t.client.handleAddresses('h-sp2'), [], 'the refused assignment left no handle count');
  const other = await t.client.assignIp({ node: 'sp-2', handleId: 'h-sp2', address: '10.230.0.71' });
  assert.equal(other.borrowed, true, "sp-2 uses an address of sp-1's block");
  await assert.rejects(
    t.client.assignIp({ node: 'sp-1', handleId: 'h-x', address: '192.0.2.1' }),
    FailedPreconditionError,
  );
  assert.deepEqual(await t.client.releaseIps(['10.230.0.70', '10.230.0.71']), {
    released: ['10.230.0.70', '10.230.0.71'],
    notAllocated: [],
  });
});

test('bad input names the field', async () => {
  const field = (f: string) => (e: unknown) => e instanceof InvalidArgumentError && e.field === f;
  await assert.rejects(t.client.autoAssign({ node: 'x', handleId: '', numIpv4: 1 }), field('handle_id'));
  await assert.rejects(t.client.autoAssign({ node: 'x', handleId: 'Bad Handle!', numIpv4: 1 }), field('handle_id'));
  await assert.rejects(t.client.autoAssign({ node: 'Bad_Node', handleId: 'h', numIpv4: 1 }), field('node'));
  await assert.rejects(t.client.autoAssign({ node: 'x', handleId: 'h' }), field('num_ipv4'));
  await assert.rejects(t.client.autoAssign({ node: 'x', handleId: 'h', numIpv4: 100000 }), field('num_ipv4'));
  await assert.rejects(
    t.client.autoAssign({ node: 'x', handleId: 'h', numIpv4: 1, attributes: { node: 'y' } }),
    field('attributes'),
  );
  await assert.rejects(t.client.assignIp({ node: 'x', handleId: 'h', address: '10.0.0.300' }), field('address'));
  await assert.rejects(t.client.releaseIps([]), field('addresses'));
  await assert.rejects(t.client.releaseIps(['nope']), field('addresses[0]'));
});
