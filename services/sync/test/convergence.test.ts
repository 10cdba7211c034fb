// After random create/update/delete sequences (endpoints moving between nodes included), every
// agent's state equals the datastore's filtered view, across agent restarts and a restart of the
// server (warm, from its LMDB cache) and of NATS; no agent ever sees another node's endpoint.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SyncAgent } from '../index.js';
import { runEvery, startNatsServer, waitFor, type NatsServerHandle } from '../../shared/testing/index.js';
import { SyncServer } from '../index.js';
import {
  RandomWorkload,
  openTestDatastore,
  testServerOptions,
  waitConverged,
  watchAgent,
  type AgentWatch,
  type TestDatastore,
} from '../src/testing/fixtures.js';

const NODES = ['n1', 'n2', 'n3', 'n4'];
let nats: NatsServerHandle;
let ds: TestDatastore;
let dir: string;

before(async () => {
  nats = await startNatsServer();
  ds = await openTestDatastore(nats.url);
  dir = mkdtempSync(join(tmpdir(), 'meshless-sync-conv-'));
});

after(async () => {
  await runEvery('teardown', [() => ds.close(), () => nats.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

for (const directWrites of [true, false]) {
  test(`agents converge on their filtered views through random churn, agent restarts and a server restart (${directWrites ? 'direct' : 'grpc-js'} writes)`, async (t) => {
    const seed = Number(process.env.MESHLESS_TEST_SEED ?? Date.now() % 1_000_000);
    const work = new RandomWorkload(ds, seed, NODES);
    await work.steps(60);

    const serverDir = join(dir, `server-${directWrites}`);
    let server = await SyncServer.start(testServerOptions(ds.nc, { stateDir: serverDir, directWrites }));
    await waitFor('server ready', () => server.ready);
    const port = server.port;
    const endpoints = [server.address];
    const make = (node: string, syncer = 'agent') =>
      new SyncAgent({
        node,
        syncer,
        endpoints,
        stateDir: join(dir, `${syncer}-${node}-${directWrites}`),
        backoffInitialMs: 20,
        backoffMaxMs: 200,
      });
    const agents = [...NODES.map((n) => make(n)), make('rr-1', 'bgp')];
    const watches = new Map<SyncAgent, AgentWatch>(agents.map((a) => [a, watchAgent(a)]));
    // Whatever assertion fails: agents left reconnecting keep the file from ever exiting.
    t.after(() => runEvery('convergence teardown', [...agents.map((a) => () => a.stop()), () => server.close()]));
    for (const a of agents) await a.start();
    const check = async (what: string) => {
      await waitConverged(ds, agents);
      for (const [a, w] of watches) assert.deepEqual(w.violations, [], `${what} (seed ${seed}): ${a.node}`);
    };
    await check('initial snapshot');

    for (let round = 0; round < 3; round++) {
      await work.steps(40);
      await check(`round ${round}`);
    }

    // An agent restart resumes from its LMDB state: deltas only, no snapshot bytes.
    const first = agents[0]!;
    await first.stop();
    await work.steps(30);
    const again = make(first.node);
    watches.set(again, watchAgent(again));
    watches.delete(first);
    agents[0] = again;
    await again.start();
    await check('after an agent restart');
    assert.equal(again.stats.snapshots, 0, 'no snapshot after an agent restart');
    assert.equal(again.stats.snapshotBytes, 0);
    assert.equal(again.stats.resumes, 1);

    // A server restart: the agents lose it, the server comes back warm from LMDB on the same port
    // and every agent resumes without a snapshot.
    const snapshotsBefore = agents.map((a) => a.stats.snapshots);
    await server.close();
    await work.steps(30);
    server = await SyncServer.start(
      testServerOptions(ds.nc, { stateDir: serverDir, listen: `127.0.0.1:${port}`, directWrites }),
    );
    await waitFor('restarted server ready', () => server.ready, 20_000);
    assert.equal(server.stats().warmStart, true, 'the restarted server starts from its LMDB cache');
    await check('after a server restart');
    assert.deepEqual(
      agents.map((a) => a.stats.snapshots),
      snapshotsBefore,
      'no agent took a snapshot after the server restart',
    );
    assert.ok(server.stats().resumes >= agents.length);

    // NATS itself killed and restarted: the server's watch picks up where it was.
    await nats.restart(true);
    await waitFor('JetStream answering again', async () => (await ds.kv.status()).values >= 0, 30_000, 200);
    await work.steps(40);
    await check('after a NATS restart');
    for (const a of agents) await a.stop();
    await server.close();
  });
}
