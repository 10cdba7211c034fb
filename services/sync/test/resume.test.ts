// Resume: within the retention window an agent gets only what changed after its revision (no
// snapshot bytes), from the same or another server, cold servers included; outside it (the
// datastore compacted the tombstones) a snapshot replaces its state; a state from another
// datastore is replaced too.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SyncAgent, type AgentUpdate } from '../index.js';
import { runEvery, startNatsServer, waitFor, type NatsServerHandle } from '../../shared/testing/index.js';
import { SyncServer } from '../index.js';
import {
  openTestDatastore,
  testServerOptions,
  waitConverged,
  watchAgent,
  type TestDatastore,
} from '../src/testing/fixtures.js';

let nats: NatsServerHandle;
let ds: TestDatastore;
let dir: string;
const servers: SyncServer[] = [];
/** Every agent made: a failed assertion leaves it running, and the after hook stops it. */
const agents: SyncAgent[] = [];

async function server(
  overrides: Parameters<typeof testServerOptions>[1] = {},
  on: TestDatastore = ds,
): Promise<SyncServer> {
  const s = await SyncServer.start(testServerOptions(on.nc, overrides));
  servers.push(s);
  await waitFor('server ready', () => s.ready);
  return s;
}

function agent(node: string, endpoints: string[], stateDir = join(dir, node)): SyncAgent {
  const a = new SyncAgent({ node, endpoints, stateDir, backoffInitialMs: 20, backoffMaxMs: 200 });
  agents.push(a);
  return a;
}

before(async () => {
  nats = await startNatsServer();
  ds = await openTestDatastore(nats.url);
  dir = mkdtempSync(join(tmpdir(), 'meshless-sync-resume-'));
  await ds.put('Node', '', 'n1', { bgp: { ipv4Address: '10.0.0.1/24' } });
  await ds.put('Node', '', 'n2', { bgp: { ipv4Address: '10.0.0.2/24' } });
  await ds.put('IPPool', '', 'pool', { cidr: '10.65.0.0/16' });
  for (let i = 0; i < 5; i++) await ds.put('WorkloadEndpoint', 'default', `w${i}`, { node: i % 2 ? 'n2' : 'n1' });
});

after(() =>
  runEvery('teardown', [
    ...agents.map((a) => () => a.stop()),
    ...servers.map((s) => () => s.close()),
    () => ds.close(),
    () => nats.stop(),
    () => rmSync(dir, { recursive: true, force: true }),
  ]),
);

test('within retention: deltas only (deletions and endpoint moves included), on the same server and on another', async () => {
  const s1 = await server();
  const s2 = await server();
  let a = agent('n1', [s1.address]);
  await a.start();
  await waitConverged(ds, [a]);
  assert.equal(a.stats.snapshots, 1);
  await a.stop();

  await ds.del('IPPool', '', 'pool');
  await ds.put('WorkloadEndpoint', 'default', 'w0', { node: 'n2' }); // moves away from n1
  await ds.put('WorkloadEndpoint', 'default', 'w1', { node: 'n1' }); // moves to n1
  await ds.del('WorkloadEndpoint', 'default', 'w2');
  await ds.put('Node', '', 'n3', {});

  a = agent('n1', [s1.address]);
  const seen: AgentUpdate[] = [];
  a.on('update', (u) => seen.push(u));
  await a.start();
  await waitConverged(ds, [a]);
  assert.equal(a.stats.snapshots, 0);
  assert.equal(a.stats.snapshotBytes, 0);
  assert.equal(a.stats.resumes, 1);
  assert.deepEqual(
    seen.map((u) => `${u.value ? '+' : '-'}${u.key}`).sort(),
    [
      '+nodes._.n3',
      '+workloadendpoints.default.w1',
      '-ippools._.pool',
      '-workloadendpoints.default.w0',
      '-workloadendpoints.default.w2',
    ],
    'exactly the changes in the view after the revision',
  );
  await a.stop();

  await ds.put('Node', '', 'n4', {});
  a = agent('n1', [s2.address]);
  await a.start();
  await waitConverged(ds, [a]);
  assert.equal(a.stats.snapshots, 0, 'another server resumes the same revision');
  assert.equal(a.stats.resumes, 1);
  await a.stop();
});

test('a server that started after an endpoint moved away still tells the old node to delete it', async () => {
  const s1 = await server();
  await ds.put('WorkloadEndpoint', 'default', 'mover', { node: 'n1' });
  let a = agent('n1', [s1.address], join(dir, 'mover-n1'));
  await a.start();
  await waitConverged(ds, [a]);
  assert.ok(a.get('workloadendpoints.default.mover'));
  await a.stop();
  await ds.put('WorkloadEndpoint', 'default', 'mover', { node: 'n2' });
  const cold = await server(); // its cache never saw `mover` on n1
  a = agent('n1', [cold.address], join(dir, 'mover-n1'));
  await a.start();
  await waitConverged(ds, [a]);
  assert.equal(a.stats.resumes, 1);
  assert.equal(a.get('workloadendpoints.default.mover'), undefined);
  await a.stop();
});

test('outside retention: a snapshot replaces the state and the dropped keys are reported as deleted', async () => {
  const s1 = await server();
  await ds.put('Profile', '', 'doomed', { labelsToApply: { a: 'b' } });
  await ds.put('WorkloadEndpoint', 'prod', 'doomed-wep', { node: 'n1' });
  let a = agent('n1', [s1.address], join(dir, 'compact-n1'));
  await a.start();
  await waitConverged(ds, [a]);
  const held = a.revision;
  await a.stop();

  await ds.del('Profile', '', 'doomed');
  await ds.del('WorkloadEndpoint', 'prod', 'doomed-wep');
  const compacted = await ds.compact();
  assert.ok(compacted > held);
  await waitFor('the server learns the compacted revision', () => s1.stats().horizon >= compacted);

  a = agent('n1', [s1.address], join(dir, 'compact-n1'));
  const watch = watchAgent(a);
  const deleted: string[] = [];
  a.on('update', (u) => u.value === undefined && deleted.push(u.key));
  await a.start();
  await waitConverged(ds, [a]);
  assert.equal(a.stats.snapshots, 1, 'a snapshot, since the tombstones after our revision are gone');
  assert.ok(a.stats.snapshotBytes > 0);
  assert.deepEqual(deleted.sort(), ['profiles._.doomed', 'workloadendpoints.prod.doomed-wep']);
  assert.deepEqual(watch.violations, []);
  await a.stop();
});

test('a state from another datastore is replaced, and only then may the revision go down', async () => {
  const other = await startNatsServer();
  const ds2 = await openTestDatastore(other.url);
  try {
    await ds2.put('Node', '', 'elsewhere', {});
    const s = await server({}, ds2);
    const stateDir = join(dir, 'moved-n1');
    let a = agent('n1', [servers[0]!.address], stateDir);
    await a.start();
    await waitConverged(ds, [a]);
    const before = a.revision;
    await a.stop();
    a = agent('n1', [s.address], stateDir);
    await a.start();
    await waitConverged(ds2, [a]);
    assert.equal(a.stats.snapshots, 1);
    assert.deepEqual(a.keys(), ['nodes._.elsewhere']);
    assert.ok(a.revision < before, `the new datastore is at ${a.revision}, the old one was at ${before}`);
    await a.stop();
  } finally {
    await ds2.close();
    await other.stop();
  }
});
