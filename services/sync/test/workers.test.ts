// Worker processes (`workers` > 1): streams spread over the workers, a change reaches every agent
// on every worker exactly once, and a worker killed with SIGKILL is restarted while its agents
// reconnect to the same address and converge again.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SyncAgent, SyncServer, type AgentUpdate } from '../index.js';
import { startNatsServer, waitFor, type NatsServerHandle } from '../../shared/testing/index.js';
import { openTestDatastore, testServerOptions, waitConverged, type TestDatastore } from '../src/testing/fixtures.js';

const NODES = 6;
let nats: NatsServerHandle;
let ds: TestDatastore;
let dir: string;
let server: SyncServer;
const agents: SyncAgent[] = [];

before(async () => {
  nats = await startNatsServer();
  ds = await openTestDatastore(nats.url);
  dir = mkdtempSync(join(tmpdir(), 'meshless-sync-workers-'));
  for (let i = 0; i < NODES; i++) {
    await ds.put('Node', '', `n${i}`, { bgp: { ipv4Address: `10.0.0.${i + 1}/24` } });
    await ds.put('WorkloadEndpoint', 'default', `w${i}`, { node: `n${i}` });
  }
  await ds.put('IPPool', '', 'pool', { cidr: '10.65.0.0/16' });
  server = await SyncServer.start(testServerOptions(ds.nc, { workers: 2 }));
  await waitFor('server ready', () => server.ready);
});

after(async () => {
  for (const a of agents) await a.stop();
  await server?.close();
  await ds.close();
  await nats.stop();
  rmSync(dir, { recursive: true, force: true });
});

function agent(node: string, syncer: 'agent' | 'bgp' = 'agent'): SyncAgent {
  const a = new SyncAgent({
    node,
    syncer,
    endpoints: [server.address],
    stateDir: join(dir, `${syncer}-${node}`),
    backoffInitialMs: 20,
    backoffMaxMs: 200,
  });
  agents.push(a);
  return a;
}

test('streams spread over the workers; each change reaches every agent on every worker exactly once', async () => {
  const updates = new Map<SyncAgent, AgentUpdate[]>();
  for (let i = 0; i < NODES; i++) {
    for (const syncer of ['agent', 'bgp'] as const) {
      const a = agent(`n${i}`, syncer);
      const seen: AgentUpdate[] = [];
      a.on('update', (u) => seen.push(u));
      updates.set(a, seen);
      await a.start();
    }
  }
  await waitConverged(ds, agents);
  const workers = server.stats().workers!;
  assert.equal(workers.length, 2);
  for (const w of workers) assert.ok(w.live > 0, `every worker serves streams: ${JSON.stringify(workers)}`);
  assert.equal(
    workers.reduce((n, w) => n + w.live, 0),
    agents.length,
  );

  for (const seen of updates.values()) seen.length = 0;
  // A shared change (every stream of both syncer types), and an endpoint moving from n0 to n1
  // (node-scoped: the agent streams of those two nodes only).
  await ds.put('IPPool', '', 'pool-2', { cidr: '10.66.0.0/16' });
  await ds.put('WorkloadEndpoint', 'default', 'w0', { node: 'n1' });
  await waitConverged(ds, agents);
  for (const [a, seen] of updates) {
    const pool = seen.filter((u) => u.key.includes('pool-2'));
    assert.equal(pool.length, 1, `${a.syncer}/${a.node} got the pool ${pool.length} times`);
    const moved = seen.filter((u) => u.key.endsWith('.w0'));
    const expected = a.syncer === 'agent' && (a.node === 'n0' || a.node === 'n1') ? 1 : 0;
    assert.equal(moved.length, expected, `${a.syncer}/${a.node} got w0's move ${moved.length} times`);
  }
});

test('a killed worker is restarted; its agents reconnect to the same address and converge', async () => {
  const before = server.stats().workers!;
  const victim = before.findIndex((w) => w.live > 0);
  const pid = before[victim]!.pid!;
  process.kill(pid, 'SIGKILL');
  await waitFor('the worker restarted', () => {
    const w = server.stats().workers![victim]!;
    return w.pid !== undefined && w.pid !== pid;
  });
  await ds.put('IPPool', '', 'after-crash', { cidr: '10.67.0.0/16' });
  await waitFor(
    'every agent back on a stream',
    () => server.stats().live.agent + server.stats().live.bgp === agents.length,
    30_000,
  );
  await waitConverged(ds, agents);
  assert.ok(server.ready);
  assert.ok((server.stats().closed['unavailable'] ?? 0) >= before[victim]!.live);
});
