// kill -9 of one of three sync servers: its agents, which all share one endpoint list, resume on
// both survivors (each a random one of the others), not all on the next server in the list; and
// still without a snapshot. The balancer may move agents afterwards, so what counts is where each
// orphan resumed first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { SyncAgent } from '../index.js';
import { waitFor } from '../../shared/testing/index.js';
import { agentFleet, RandomWorkload, processRig, spawnSyncServer, waitConverged } from '../src/testing/fixtures.js';

const NODES = Array.from({ length: 15 }, (_, i) => `node-${i}`);
const rig = processRig('meshless-sync-spread-');

test('the agents of a killed server resume on every survivor, not all on the next one in their list', async (t) => {
  const { nats, ds, dir, children } = rig;
  const work = new RandomWorkload(ds, 1717, NODES);
  await work.steps(40);
  const servers = await Promise.all(['a', 'b', 'c'].map((id) => spawnSyncServer(nats.url, join(dir, id), id)));
  children.push(...servers);
  await Promise.all(servers.map((s) => s.ready));
  const endpoints = servers.map((s) => s.address);
  // Three agents per node (45), one endpoint list for all, as a deployment's configuration gives.
  const agents = agentFleet(t, NODES, 3, endpoints, dir);
  await Promise.all(agents.map((ag) => ag.start()));
  await waitConverged(ds, agents, 60_000);
  const snapshots = agents.map((ag) => ag.stats.snapshots);

  // The server holding the most agents (at least 15 of 45): with a random choice each, all of
  // them picking the same survivor has a chance of 2 in 2^15.
  const victim = servers.reduce((best, s) =>
    agents.filter((ag) => ag.endpoint === s.address).length > agents.filter((ag) => ag.endpoint === best.address).length
      ? s
      : best,
  );
  const orphans = agents.filter((ag) => ag.endpoint === victim.address);
  assert.ok(orphans.length >= 15, `${orphans.length} agents on the victim`);
  const firstResume = new Map<SyncAgent, string>();
  for (const ag of orphans)
    ag.on('status', (s) => {
      if (s.status === 'syncing' && !firstResume.has(ag)) firstResume.set(ag, s.endpoint);
    });
  victim.child.kill('SIGKILL');
  await victim.exited;
  await waitFor('every orphan to resume somewhere', () => firstResume.size === orphans.length, 60_000);
  const survivors = endpoints.filter((e) => e !== victim.address);
  const landed = survivors.map((e) => [...firstResume.values()].filter((x) => x === e).length);
  assert.ok(
    landed.every((n) => n > 0),
    `orphans per survivor: ${landed.join(', ')} (the next server in the list would take them all)`,
  );
  await work.steps(10);
  await waitConverged(ds, agents, 60_000);
  assert.deepEqual(
    agents.map((ag) => ag.stats.snapshots),
    snapshots,
    'the failover costs no snapshot',
  );
});
