// A sync server frozen (SIGSTOP) while the datastore deletes and compacts past its revision: the
// deletions' tombstones are purged before it can read them. Once it runs again it must notice
// (not ready), read the datastore again, and send its agents the missed deletions, instead of
// serving the deleted entries for good. Also a new agent connecting afterwards gets the right view.
// Prints the time from SIGCONT to every agent equal to the datastore (RESULTS.md records it).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SyncAgent } from '../index.js';
import { runEvery, startNatsServer, waitFor, type NatsServerHandle } from '../../shared/testing/index.js';
import {
  openTestDatastore,
  spawnSyncServer,
  waitConverged,
  watchAgent,
  type SyncProcess,
  type TestDatastore,
} from '../src/testing/fixtures.js';

const NODES = ['node-0', 'node-1', 'node-2'];
let nats: NatsServerHandle;
let ds: TestDatastore;
let dir: string;
let server: SyncProcess | undefined;
const agents: SyncAgent[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'meshless-sync-stale-'));
  // A frozen client's socket fills, and NATS drops it as a slow consumer after 2 s: what a long
  // stop does in production. Its watch then resumes after the purged tombstones.
  const conf = join(dir, 'nats.conf');
  writeFileSync(conf, 'write_deadline: "2s"\n');
  nats = await startNatsServer({ extraArgs: ['-c', conf] });
  ds = await openTestDatastore(nats.url);
});

after(() =>
  runEvery('teardown', [
    ...agents.map((a) => () => a.stop()),
    () => {
      if (server && server.child.exitCode === null) {
        server.child.kill('SIGCONT');
        server.child.kill('SIGKILL');
      }
    },
    () => ds.close(),
    () => nats.stop(),
    () => rmSync(dir, { recursive: true, force: true }),
  ]),
);

const endpoint = (node: string, i: number) =>
  ds.put('WorkloadEndpoint', 'default', `${node}-pod-${i}`, {
    node,
    orchestrator: 'k8s',
    pod: `pod-${i}`,
    endpoint: 'eth0',
    interfaceName: `cali${i}`,
    ipNetworks: [`10.65.0.${i}/32`],
  });

test('a sync server frozen past compaction re-reads the datastore and corrects its agents', async () => {
  for (const node of NODES) for (let i = 0; i < 6; i++) await endpoint(node, i);
  await ds.put('Profile', '', 'kept', { labelsToApply: { a: 'b' } });
  await ds.put('Profile', '', 'doomed', { labelsToApply: { a: 'c' } });
  server = await spawnSyncServer(nats.url, join(dir, 'sync'), 'frozen');
  await server.ready;
  for (const node of NODES)
    agents.push(
      new SyncAgent({
        node,
        endpoints: [server.address],
        stateDir: join(dir, `agent-${node}`),
        backoffInitialMs: 20,
        backoffMaxMs: 200,
      }),
    );
  const watches = agents.map((a) => watchAgent(a));
  await Promise.all(agents.map((a) => a.start()));
  await waitConverged(ds, agents, 30_000);

  // Frozen: deletions land and are compacted away (tombstones purged) before it can read them.
  server.child.kill('SIGSTOP');
  const bulk = 'x'.repeat(512 * 1024);
  // BGPPeers: outside the agents' view, so only the sync server's own watch carries the bulk.
  for (let i = 0; i < 40; i++) await ds.put('BGPPeer', '', `bulk-${i}`, { peerIP: '192.0.2.1', asNumber: 64512, bulk });
  // Not a fixed pause: under load the write deadline's 2 s can pass later than 3 s of wall time.
  await waitFor(
    'NATS dropping the frozen sync server as a slow consumer',
    () => /meshless-sync-frozen.*Slow Consumer Detected|Slow Consumer Detected.*meshless-sync-frozen/.test(nats.log),
    60_000,
  );
  for (const node of NODES) for (let i = 0; i < 3; i++) await ds.del('WorkloadEndpoint', 'default', `${node}-pod-${i}`);
  await ds.del('Profile', '', 'doomed');
  await ds.put('Profile', '', 'kept', { labelsToApply: { a: 'changed' } });
  const compacted = await ds.compact();
  assert.ok(compacted > 0, 'tombstones were purged');
  await endpoint('node-1', 9);

  const resumed = Date.now();
  server.child.kill('SIGCONT');
  await waitConverged(ds, agents, 30_000);
  const convergedMs = Date.now() - resumed;
  await waitFor(
    'the server to log that it read the datastore again',
    () => server!.lines.some((l) => l.msg === 'read the datastore again: ready'),
    30_000,
  );
  assert.ok(
    server.lines.some((l) => l.msg === 'fell behind the datastore compaction: not ready, reading the datastore again'),
    'the server reported itself not ready',
  );

  // A new agent (fresh state) gets the datastore's view, not the stale one.
  const late = new SyncAgent({
    node: 'node-0',
    endpoints: [server.address],
    stateDir: join(dir, 'agent-late'),
    backoffInitialMs: 20,
    backoffMaxMs: 200,
  });
  agents.push(late);
  await late.start();
  await waitConverged(ds, agents, 30_000);
  for (const w of watches) assert.deepEqual(w.violations, []);
  console.log(`frozen sync server past compaction: agents equal to the datastore ${convergedMs} ms after SIGCONT`);
});
