// Sync servers as separate processes (`meshless sync`), as deployed: kill -9 of one sends its
// agents to the other, where they resume without a snapshot; the killed one restarts warm from
// its LMDB cache; SIGTERM drains every agent to the other server within the drain and they stay
// in sync through further churn.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { SyncAgent } from '../index.js';
import { runEvery } from '../../shared/testing/index.js';
import { RandomWorkload, processRig, spawnSyncServer, waitConverged, watchAgent } from '../src/testing/fixtures.js';

const NODES = Array.from({ length: 10 }, (_, i) => `node-${i}`);
const rig = processRig('meshless-sync-proc-');

test('kill -9 and SIGTERM of sync server processes: agents resume elsewhere and stay in sync', async (t) => {
  const { nats, ds, dir, children } = rig;
  const work = new RandomWorkload(ds, 4242, NODES);
  await work.steps(80);
  let a = await spawnSyncServer(nats.url, join(dir, 'a'), 'a');
  const b = await spawnSyncServer(nats.url, join(dir, 'b'), 'b');
  children.push(a, b);
  await Promise.all([a.ready, b.ready]);

  const agents = NODES.flatMap((node) =>
    [0, 1].map(
      (i) =>
        new SyncAgent({
          node,
          endpoints: i ? [a.address, b.address] : [b.address, a.address],
          stateDir: join(dir, `agent-${node}-${i}`),
          backoffInitialMs: 20,
          backoffMaxMs: 200,
        }),
    ),
  );
  const watches = agents.map((ag) => watchAgent(ag));
  // Whatever assertion fails: agents left reconnecting keep the file from ever exiting.
  t.after(() =>
    runEvery(
      'agents',
      agents.map((ag) => () => ag.stop()),
    ),
  );
  await Promise.all(agents.map((ag) => ag.start()));
  await waitConverged(ds, agents, 30_000);
  const snapshots = () => agents.map((ag) => ag.stats.snapshots);
  const initial = snapshots();

  // kill -9 one server: its agents fail over to the other and resume there.
  const onA = agents.filter((ag) => ag.endpoint === a.address);
  assert.ok(onA.length > 0, 'some agents start on a');
  a.child.kill('SIGKILL');
  await a.exited;
  await work.steps(30);
  await waitConverged(ds, agents, 30_000);
  assert.ok(
    agents.every((ag) => ag.endpoint === b.address),
    'every agent is on b',
  );
  assert.deepEqual(snapshots(), initial, 'failover after kill -9 costs no snapshot');

  // The killed server comes back on the same address, warm from its LMDB cache.
  a = await spawnSyncServer(nats.url, join(dir, 'a'), 'a', a.address);
  children.push(a);
  await a.ready;
  assert.ok(
    a.lines.some((l) => l.msg === 'warm start from the LMDB cache'),
    'restart after kill -9 is warm',
  );

  // SIGTERM drains b: every agent on it goes to a (Reconnect naming a, or the agent's next
  // endpoint when b has not heard a's heartbeat yet), resumes, and b exits cleanly.
  b.child.kill('SIGTERM');
  const exit = await b.exited;
  assert.equal(exit.code, 0, `b exited cleanly (${JSON.stringify(exit)})`);
  assert.ok(b.lines.some((l) => l.msg === 'draining: sending every client to another server'));
  await work.steps(30);
  await waitConverged(ds, agents, 30_000);
  assert.ok(
    agents.every((ag) => ag.endpoint === a.address),
    'every agent moved to a',
  );
  assert.deepEqual(snapshots(), initial, 'the drain costs no snapshot');
  assert.ok(agents.every((ag) => ag.stats.reconnects >= 1 || ag.stats.failures >= 1));
  for (const w of watches) assert.deepEqual(w.violations, []);

  await Promise.all(agents.map((ag) => ag.stop()));
  a.child.kill('SIGTERM');
  assert.equal((await a.exited).code, 0);
});
