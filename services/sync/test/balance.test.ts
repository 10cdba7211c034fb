// Rebalancing: 200 agents all on one server; a second server comes up and the load evens out,
// at most `shedPerTick` clients per heartbeat interval, every moved agent resuming (no snapshot)
// and staying in sync. Then a drain sends every agent of one server to the other.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { SyncAgent } from '../index.js';
import { startNatsServer, waitFor, type NatsServerHandle } from '../../shared/testing/index.js';
import { SyncServer } from '../index.js';
import { openTestDatastore, testServerOptions, waitConverged, type TestDatastore } from '../src/testing/fixtures.js';

const AGENTS = 200;
const HEARTBEAT_MS = 200;
const SHED_PER_SECOND = 50; // 10 per heartbeat interval
const SHED_PER_TICK = (SHED_PER_SECOND * HEARTBEAT_MS) / 1000;

let nats: NatsServerHandle;
let ds: TestDatastore;

before(async () => {
  nats = await startNatsServer();
  ds = await openTestDatastore(nats.url);
  for (let i = 0; i < 20; i++) await ds.put('Node', '', `node-${i}`, { bgp: { ipv4Address: `10.0.${i}.1/24` } });
  for (let i = 0; i < AGENTS; i++) await ds.put('WorkloadEndpoint', 'default', `w-${i}`, { node: `node-${i % 20}` });
});

after(async () => {
  await ds.close();
  await nats.stop();
});

test('200 agents on one server even out over two at the bounded rate, then a drain moves them all', async () => {
  const options = { heartbeatIntervalMs: HEARTBEAT_MS, shedPerSecond: SHED_PER_SECOND, shedSlack: 0.05 };
  const s1 = await SyncServer.start(testServerOptions(ds.nc, { ...options, serverId: 's1' }));
  await waitFor('s1 ready', () => s1.ready);
  const agents = Array.from(
    { length: AGENTS },
    (_, i) =>
      new SyncAgent({ node: `node-${i % 20}`, endpoints: [s1.address], backoffInitialMs: 20, backoffMaxMs: 500 }),
  );
  await Promise.all(agents.map((a) => a.start()));
  await waitConverged(ds, agents, 60_000);
  assert.equal(s1.stats().connections, AGENTS);

  const s2 = await SyncServer.start(testServerOptions(ds.nc, { ...options, serverId: 's2' }));
  try {
    await waitFor('s2 ready', () => s2.ready);
    const share = AGENTS / 2;
    const slack = Math.max(1, Math.ceil(share * 0.05));
    await waitFor(
      'the load evens out',
      () => s1.stats().connections <= share + slack && s2.stats().connections >= share - slack,
      60_000,
    );
    await ds.put('Node', '', 'node-after-rebalance', {});
    await waitConverged(ds, agents, 60_000);
    const st1 = s1.stats();
    const st2 = s2.stats();
    assert.equal(st1.connections + st2.connections, AGENTS);
    assert.ok(
      Math.max(...st1.shedHistory) <= SHED_PER_TICK,
      `at most ${SHED_PER_TICK} per interval, saw ${Math.max(...st1.shedHistory)}`,
    );
    assert.ok(
      st1.shedHistory.filter((n) => n > 0).length >= Math.floor((AGENTS - share - slack) / SHED_PER_TICK),
      'shedding took several intervals',
    );
    assert.equal(Math.max(...st2.shedHistory, 0), 0, 'the server that gained clients never shed any back');
    assert.deepEqual(
      new Set(agents.map((a) => a.stats.snapshots)),
      new Set([1]),
      'moved agents resumed: one snapshot each, the first',
    );
    assert.ok(st2.resumes >= st2.connections);

    // Drain s2 (what SIGTERM does): every one of its agents goes to s1 and resumes there.
    const onS2 = agents.filter((a) => a.endpoint === s2.address).length;
    assert.ok(onS2 > 0);
    await s2.drain();
    await waitFor('every agent on s1', () => s1.stats().connections === AGENTS, 30_000);
    await ds.put('Node', '', 'node-after-drain', {});
    await waitConverged(ds, agents, 60_000);
    assert.ok(agents.every((a) => a.endpoint === s1.address));
    assert.deepEqual(
      new Set(agents.map((a) => a.stats.snapshots)),
      new Set([1]),
      'drained agents resumed: no new snapshot',
    );
  } finally {
    await Promise.all(agents.map((a) => a.stop()));
    await s2.close();
    await s1.close();
  }
});
