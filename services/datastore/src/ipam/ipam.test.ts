// IPAM through the real API: concurrent allocation, idempotence, pool choice, release.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '../../../shared/errors/index.js';
import { createDatastoreClient } from '../../../shared/datastore-client/index.js';
import { ipamBlockName } from '../../../shared/resources/index.js';
import { startTestDatastore, type TestDatastore } from '../testing/index.js';

let t: TestDatastore;
before(async () => {
  t = await startTestDatastore();
});
after(async () => {
  await t.stop();
});

const V3 = 'projectcalico.org/v3';
const node = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: V3,
  kind: 'Node',
  metadata: { name, labels },
  spec: {},
});
const pool = (name: string, cidr: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: V3,
  kind: 'IPPool',
  metadata: { name },
  spec: { cidr, ...spec },
});
const specOf = (r: { spec?: unknown }) => r.spec as Record<string, unknown>;

test('200 nodes allocating at once get 200 distinct blocks, and allocate again idempotently', async () => {
  await t.client.create(pool('big', '10.100.0.0/16', { blockSize: 26 }));
  const names = Array.from({ length: 200 }, (_, i) => `rack1-node-${i}`);
  await Promise.all(names.map((n) => t.client.create(node(n, { rack: '1' }))));

  // Several clients (connections), as 200 independent node agents would be.
  const clients = Array.from({ length: 8 }, () => createDatastoreClient(t.datastore.address));
  try {
    const first = await Promise.all(
      names.map((n, i) => clients[i % clients.length]!.allocateBlock(n, { pool: 'big' })),
    );
    const cidrs = first.map((r) => String(specOf(r.block).cidr));
    assert.equal(new Set(cidrs).size, 200, 'every node has its own block');
    first.forEach((r, i) => {
      assert.equal(r.allocated, true);
      assert.equal(specOf(r.block).affinity, `host:${names[i]}`);
      assert.equal(r.block.metadata.name, String(specOf(r.block).cidr).replace(/[./]/g, '-'));
      assert.equal(r.affinity.metadata.name, `${names[i]}-${r.block.metadata.name}`);
      assert.equal(specOf(r.affinity).state, 'confirmed');
      assert.equal(specOf(r.affinity).node, names[i]);
    });
    for (const c of cidrs) assert.match(c, /^10\.100\.\d+\.(0|64|128|192)\/26$/);

    const again = await Promise.all(
      names.map((n, i) => clients[(i + 3) % clients.length]!.allocateBlock(n, { pool: 'big' })),
    );
    again.forEach((r, i) => {
      assert.equal(r.allocated, false, 'a node that has a block gets it back');
      assert.equal(String(specOf(r.block).cidr), cidrs[i]);
    });

    const blocks = await t.client.list('IPAMBlock');
    assert.equal(blocks.items.filter((b) => String(specOf(b).cidr).startsWith('10.100.')).length, 200);
    const show = await t.client.ipamShow();
    const big = show.pools.find((p) => p.name === 'big')!;
    assert.equal(big.blocksAllocated, 200);
    assert.equal(big.blocksTotal, 1024);
    assert.equal(big.addressesTotal, 65536);
    assert.equal(show.blocks.filter((b) => b.pool === 'big' && b.affinityState === 'confirmed').length, 200);
  } finally {
    for (const c of clients) c.close();
  }
});

test('pool choice: nodeSelector, disabled pools, IP version, exhaustion', async () => {
  await t.client.create(pool('rack-a', '10.110.0.0/24', { blockSize: 25, nodeSelector: "rack == 'a'" }));
  await t.client.create(pool('off', '10.111.0.0/24', { disabled: true }));
  await t.client.create(pool('v6', 'fd00:110::/120', { blockSize: 122 }));
  await t.client.create(node('a-1', { rack: 'a' }));
  await t.client.create(node('a-2', { rack: 'a' }));
  await t.client.create(node('a-3', { rack: 'a' }));
  await t.client.create(node('b-1', { rack: 'b' }));

  const a1 = await t.client.allocateBlock('a-1', { pool: 'rack-a' });
  assert.equal(specOf(a1.block).cidr, '10.110.0.0/25');
  const a2 = await t.client.allocateBlock('a-2', { pool: 'rack-a' });
  assert.equal(specOf(a2.block).cidr, '10.110.0.128/25');
  await assert.rejects(
    t.client.allocateBlock('a-3', { pool: 'rack-a' }),
    (e: unknown) => e instanceof FailedPreconditionError && /no free block/.test(e.message),
  );
  await assert.rejects(
    t.client.allocateBlock('b-1', { pool: 'rack-a' }),
    (e: unknown) => e instanceof FailedPreconditionError && /does not select node 'b-1'/.test(e.message),
  );
  await assert.rejects(
    t.client.allocateBlock('a-1', { pool: 'off' }),
    (e: unknown) => e instanceof FailedPreconditionError && /disabled/.test(e.message),
  );
  await assert.rejects(t.client.allocateBlock('a-1', { pool: 'missing' }), NotFoundError);
  await assert.rejects(
    t.client.allocateBlock('nobody', { pool: 'rack-a' }),
    (e: unknown) => e instanceof NotFoundError && /Node 'nobody'/.test(e.message),
  );
  await assert.rejects(
    t.client.allocateBlock('Bad_Name'),
    (e: unknown) => e instanceof InvalidArgumentError && e.field === 'node',
  );

  const v6 = await t.client.allocateBlock('b-1', { ipVersion: 6 });
  assert.equal(specOf(v6.block).cidr, 'fd00:110::/122');
  assert.equal(v6.block.metadata.name, ipamBlockName('fd00:110::/122'));
  assert.equal((specOf(v6.block).allocations as unknown[]).length, 64);
});

test('releasing a node: empty blocks are deleted, blocks with allocations are kept without affinity; deleting a Node releases', async () => {
  await t.client.create(pool('rel', '10.120.0.0/24', { blockSize: 26 }));
  await t.client.create(node('r-1'));
  await t.client.create(node('r-2'));
  const b1 = await t.client.allocateBlock('r-1', { pool: 'rel' });
  const b2 = await t.client.allocateBlock('r-2', { pool: 'rel' });

  // r-1's block gets an address allocated (as a CNI plugin would write it).
  const used = structuredClone(b1.block) as { spec: Record<string, unknown> };
  const allocations = used.spec.allocations as (number | null)[];
  allocations[5] = 0;
  used.spec.unallocated = (used.spec.unallocated as number[]).filter((o) => o !== 5);
  used.spec.attributes = [{ handle_id: 'k8s-pod-network.abc' }];
  await t.client.update(used);

  const released = await t.client.releaseBlocks('r-1');
  assert.deepEqual(released, { released: ['10.120.0.0/26'], deleted: [] });
  const kept = await t.client.get('IPAMBlock', b1.block.metadata.name);
  assert.equal(specOf(kept).affinity, undefined, 'the block in use stays, without owner');
  assert.equal((specOf(kept).allocations as unknown[])[5], 0);
  await assert.rejects(t.client.get('BlockAffinity', b1.affinity.metadata.name), NotFoundError);
  assert.deepEqual(await t.client.releaseBlocks('r-1'), { released: [], deleted: [] });

  // The kept block is not handed out again; r-1 gets a fresh one.
  const again = await t.client.allocateBlock('r-1', { pool: 'rel' });
  assert.notEqual(specOf(again.block).cidr, '10.120.0.0/26');
  assert.notEqual(specOf(again.block).cidr, specOf(b2.block).cidr);

  await t.client.delete('Node', 'r-2');
  await assert.rejects(t.client.get('IPAMBlock', b2.block.metadata.name), NotFoundError);
  await assert.rejects(t.client.get('BlockAffinity', b2.affinity.metadata.name), NotFoundError);
  const show = await t.client.ipamShow();
  assert.equal(
    show.blocks.some((b) => b.node === 'r-2'),
    false,
  );
});

test('the orphan sweep releases blocks of nodes that vanished without a release', async () => {
  await t.client.create(pool('orph', '10.130.0.0/24', { blockSize: 26 }));
  await t.client.create(node('o-1'));
  await t.client.create(node('o-2'));
  const b1 = await t.client.allocateBlock('o-1', { pool: 'orph' });
  const b2 = await t.client.allocateBlock('o-2', { pool: 'orph' });
  // A BlockAffinity (and its block) written for a node that does not exist, as a crash between
  // the Node deletion and its release would leave them.
  await t.client.create({
    apiVersion: V3,
    kind: 'IPAMBlock',
    metadata: { name: '10-130-0-192-26' },
    spec: {
      cidr: '10.130.0.192/26',
      affinity: 'host:ghost',
      allocations: new Array(64).fill(null),
      unallocated: Array.from({ length: 64 }, (_, i) => i),
    },
  });
  await t.client.create({
    apiVersion: V3,
    kind: 'BlockAffinity',
    metadata: { name: 'ghost-10-130-0-192-26' },
    spec: { node: 'ghost', cidr: '10.130.0.192/26' },
  });

  const orphans = await t.datastore.releaseOrphansNow();
  assert.ok(orphans.includes('ghost'));
  assert.ok(!orphans.includes('o-1') && !orphans.includes('o-2'));
  await assert.rejects(t.client.get('IPAMBlock', '10-130-0-192-26'), NotFoundError);
  await assert.rejects(t.client.get('BlockAffinity', 'ghost-10-130-0-192-26'), NotFoundError);
  assert.equal(specOf(await t.client.get('IPAMBlock', b1.block.metadata.name)).affinity, 'host:o-1');
  assert.equal(specOf(await t.client.get('IPAMBlock', b2.block.metadata.name)).affinity, 'host:o-2');
});

test('IPReservation: blocks whose every address is reserved are never handed out', async () => {
  await t.client.create(pool('reserved-pool', '10.200.0.0/24', { blockSize: 26, nodeSelector: "reserve == 'yes'" }));
  await t.client.create({
    apiVersion: V3,
    kind: 'IPReservation',
    metadata: { name: 'keep-out' },
    spec: { reservedCIDRs: ['10.200.0.0/25', '10.200.0.130'] },
  });
  for (const n of ['res-a', 'res-b', 'res-c']) await t.client.create(node(n, { reserve: 'yes' }));
  const a = await t.client.allocateBlock('res-a', { pool: 'reserved-pool' });
  const b = await t.client.allocateBlock('res-b', { pool: 'reserved-pool' });
  // 10.200.0.0/26 and .64/26 lie inside the reservation; .128/26 keeps 63 usable addresses.
  assert.equal(specOf(a.block).cidr, '10.200.0.128/26');
  assert.equal(specOf(b.block).cidr, '10.200.0.192/26');
  await assert.rejects(t.client.allocateBlock('res-c', { pool: 'reserved-pool' }), FailedPreconditionError);
});
