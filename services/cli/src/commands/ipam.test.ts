// `meshless ipam show --ip / --show-borrowed`, `ipam release`, `ipam check [--fix]` against a real
// datastore on a real nats-server, with addresses assigned through the IPAM API as a CNI plugin would.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createDatastoreClient, type DatastoreClient } from '../../../shared/datastore-client/index.js';
import type { IPPool } from '../../../shared/resources/index.js';
import { cli, startTestCluster, type TestCluster } from '../testing.js';

let cluster: TestCluster;
let client: DatastoreClient;
before(async () => {
  cluster = await startTestCluster();
  client = createDatastoreClient(cluster.address);
});
after(async () => {
  client.close();
  await cluster.stop();
});

const V3 = 'projectcalico.org/v3';
const run = (args: string[], stdin?: string) =>
  cli([...args, '--datastore', cluster.address], stdin === undefined ? {} : { stdin });

test('show --ip, --show-borrowed, release --ip, check --fix', async () => {
  await client.create({
    apiVersion: V3,
    kind: 'IPPool',
    metadata: { name: 'cli-ipam' },
    spec: { cidr: '10.70.0.0/27', blockSize: 28 },
  });
  for (const n of ['cli-a', 'cli-b', 'cli-c'])
    await client.create({ apiVersion: V3, kind: 'Node', metadata: { name: n }, spec: {} });
  const a = await client.autoAssign({
    node: 'cli-a',
    handleId: 'h-a',
    numIpv4: 2,
    attributes: { namespace: 'shop', pod: 'web-1' },
  });
  await client.autoAssign({ node: 'cli-b', handleId: 'h-b', numIpv4: 16 });
  const c = await client.autoAssign({
    node: 'cli-c',
    handleId: 'h-c',
    numIpv4: 1,
    attributes: { namespace: 'shop', pod: 'db-0' },
  });
  assert.equal(c.ipv4[0]!.borrowed, true);
  const a0 = a.ipv4[0]!.address;

  let r = await run(['ipam', 'show', '--ip', a0]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    new RegExp(
      `^IP ${a0.replace(/\./g, '\\.')} is in use\nHandle: h-a\nBlock: 10\\.70\\.0\\.0/28 \\(affinity host:cli-a\\)\nAttributes:\n  namespace: shop\n  node: cli-a\n  pod: web-1\n  timestamp: `,
    ),
  );
  r = await run(['ipam', 'show', '--ip', '10.70.0.13']);
  assert.equal(r.stdout, 'IP 10.70.0.13 is not currently in use (block 10.70.0.0/28, affinity host:cli-a)\n');
  r = await run(['ipam', 'show', '--ip', '192.0.2.1']);
  assert.equal(r.stdout, 'IP 192.0.2.1 is not in any configured pool\n');
  r = await run(['ipam', 'show', '--ip', 'nope']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^meshless: invalid --ip/);

  r = await run(['ipam', 'show', '--show-borrowed']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\|\s+IP\s+\| BORROWING-NODE \|\s+BLOCK\s+\| BLOCK OWNER \| TYPE \| ALLOCATED-TO \|/);
  assert.match(
    r.stdout,
    new RegExp(
      `\\| ${c.ipv4[0]!.address.replace(/\./g, '\\.')}\\s+\\| cli-c\\s+\\| 10\\.70\\.0\\.0/28 \\| cli-a\\s+\\| pod\\s+\\| shop/db-0\\s+\\|`,
    ),
  );

  r = await run(['ipam', 'release', '--ip', a.ipv4[1]!.address]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `Successfully released IP address ${a.ipv4[1]!.address}\n`);
  r = await run(['ipam', 'release', '--ip', a.ipv4[1]!.address]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `meshless: IP address ${a.ipv4[1]!.address} is not assigned in IPAM\n`);

  // A workload endpoint for a0 only; everything else allocated is leaked. An endpoint with an
  // address nobody allocated, a handle with no allocation, a block of a node that is gone.
  await client.create({
    apiVersion: V3,
    kind: 'WorkloadEndpoint',
    metadata: { name: 'cli--a-k8s-web--1-eth0', namespace: 'shop' },
    spec: {
      node: 'cli-a',
      orchestrator: 'k8s',
      pod: 'web-1',
      endpoint: 'eth0',
      interfaceName: 'cali0123456789a',
      ipNetworks: [`${a0}/32`, '10.70.1.5/32'],
    },
  });
  await client.create({
    apiVersion: V3,
    kind: 'IPAMHandle',
    metadata: { name: 'h-stale' },
    spec: { handleID: 'h-stale', block: { '10.70.0.0/28': 1 } },
  });
  await client.create({
    apiVersion: V3,
    kind: 'IPAMBlock',
    metadata: { name: '10-71-0-0-30' },
    spec: {
      cidr: '10.71.0.0/30',
      affinity: 'host:gone',
      allocations: [null, null, null, null],
      unallocated: [0, 1, 2, 3],
    },
  });

  r = await run(['ipam', 'check', '--grace', '0']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Checked 3 IPAM blocks holding 18 addresses\.\n/);
  assert.match(r.stdout, /Found 17 IPs that are allocated in IPAM but not used by any workload endpoint\./);
  assert.match(
    r.stdout,
    /Found 1 in-use IPs that are not allocated in IPAM\.\n {2}10\.70\.1\.5 {2}workload endpoint shop\/cli--a-k8s-web--1-eth0\n/,
  );
  assert.match(r.stdout, /Found 1 blocks affine to nodes that do not exist\.\n {2}10\.71\.0\.0\/30 {2}node gone\n/);
  assert.match(r.stdout, /Found 1 handles with no allocation\.\n {2}h-stale\n/);
  assert.match(r.stdout, /Check complete; found 20 problems\.\n$/);
  // Young allocations are not leaks by default.
  assert.match((await run(['ipam', 'check'])).stdout, /Found 0 IPs that are allocated/);

  r = await run(['ipam', 'check', '--grace', '0', '--fix'], 'n\n');
  assert.match(r.stdout, /Nothing changed\.\n$/);
  assert.match(
    r.stderr,
    /Release 17 leaked addresses, the blocks of 1 missing nodes and 1 leaked handles\? \[y\/N\] $/,
  );
  r = await run(['ipam', 'check', '--grace', '0', '--fix'], 'y\n');
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /Released 17 addresses\.\nReleased 1 blocks of node gone\.\nDeleted 1 handles\.\n1 in-use addresses without allocation are left for you to resolve\.\n$/,
  );

  r = await run(['ipam', 'check', '--grace', '0']);
  assert.match(r.stdout, /Check complete; found 1 problem\.\n$/);
  assert.deepEqual(await client.handleAddresses('h-a'), [a.ipv4[0]]);
  assert.deepEqual(await client.handleAddresses('h-b'), []);
});

test('split replaces a pool by equal pools with its settings; its blocks and addresses stay', async () => {
  await client.create({
    apiVersion: V3,
    kind: 'IPPool',
    metadata: { name: 'splitme' },
    spec: { cidr: '10.90.0.0/24', blockSize: 26, natOutgoing: true, nodeSelector: "rack == 'r1'" },
  });
  await client.create({
    apiVersion: V3,
    kind: 'Node',
    metadata: { name: 'split-n1', labels: { rack: 'r1' } },
    spec: {},
  });
  const before = await client.autoAssign({ node: 'split-n1', handleId: 'h-split', numIpv4: 1 });
  const address = before.ipv4[0]!.address;

  let r = await run(['ipam', 'split', '8', '--name', 'splitme', '--yes']);
  assert.equal(r.code, 1, 'a /27 is smaller than a /26 block');
  assert.match(
    r.stderr,
    /^meshless: cannot split 10\.90\.0\.0\/24 into 8: each pool would be a \/27, smaller than its blocks \(blockSize 26\)\n$/,
  );
  r = await run(['ipam', 'split', '3', '--cidr', '10.90.0.0/24', '--yes']);
  assert.match(r.stderr, /power of 2/);
  r = await run(['ipam', 'split', '2', '--cidr', '10.90.0.0/24'], 'n\n');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /split cancelled: nothing was changed/);
  assert.equal(((await client.get('IPPool', 'splitme')) as unknown as IPPool).spec.cidr, '10.90.0.0/24');

  r = await run(['ipam', 'split', '4', '--cidr', '10.90.0.0/24'], 'y\n');
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /Successfully split IP pool 10\.90\.0\.0\/24 into 4 pools: splitme-split-0 \(10\.90\.0\.0\/26\), splitme-split-1 \(10\.90\.0\.64\/26\)/,
  );
  await assert.rejects(client.get('IPPool', 'splitme'), /does not exist/);
  const children = ((await client.list('IPPool')).items as unknown as IPPool[]).filter((p) =>
    p.metadata.name.startsWith('splitme-split-'),
  );
  assert.deepEqual(children.map((p) => p.spec.cidr).sort(), [
    '10.90.0.0/26',
    '10.90.0.128/26',
    '10.90.0.192/26',
    '10.90.0.64/26',
  ]);
  for (const p of children) {
    assert.equal(p.spec.natOutgoing, true);
    assert.equal(p.spec.nodeSelector, "rack == 'r1'");
  }
  // The address handed out before the split is still allocated, and new ones still come.
  r = await run(['ipam', 'show', '--ip', address]);
  assert.match(r.stdout, /is in use\nHandle: h-split/);
  const after = await client.autoAssign({ node: 'split-n1', handleId: 'h-split-2', numIpv4: 1 });
  assert.equal(after.ipv4.length, 1);
});
