// Run by cleanup.test.ts as a test file of its own (never by `npm test`: not a .test.ts): the lab
// as the e2e test builds it (a topology, the BIRD switch, a MeshlessCluster's nats-server), its
// PIDs written to $LAB_CLEANUP_PIDS, then by $LAB_CLEANUP_MODE:
//   fail  a subtest fails, and the teardown's first step throws (as mesh.stop() can after a
//         failed subtest); the rest of the teardown must still stop every process;
//   hang  a subtest waits until the test process is killed (no teardown runs at all).
import { after, before, describe, test } from 'node:test';
import { renameSync, writeFileSync } from 'node:fs';
import type { BirdHandle } from '../../testing/index.js';
import { runEvery } from '../../shared/testing/index.js';
import { MeshlessCluster, NATS_PORT } from './meshless.js';
import { startSwitch } from './scenario.js';
import { CONTROL_ADDRESS, createTopology, type Topology } from './topology.js';

const mode = process.env.LAB_CLEANUP_MODE;

describe(`lab teardown (${mode})`, () => {
  let topo: Topology;
  let sw: BirdHandle;
  let cluster: MeshlessCluster;

  before(async () => {
    topo = await createTopology({ prefix: 'cu', nodes: 1 });
    sw = await startSwitch(topo, []);
    cluster = new MeshlessCluster(topo);
    const nats = cluster.start('nats', topo.control, 'nats-server', ['-a', CONTROL_ADDRESS, '-p', String(NATS_PORT)]);
    const file = process.env.LAB_CLEANUP_PIDS!;
    writeFileSync(`${file}.tmp`, JSON.stringify({ self: process.pid, lab: [nats.pid, sw.process.pid] }));
    renameSync(`${file}.tmp`, file); // whole, once it is there
  });

  after(() =>
    runEvery('fixture teardown', [
      () => {
        throw new Error('a teardown step failed');
      },
      () => cluster?.stop(),
      () => sw?.stop(),
      () => topo?.destroy(),
    ]),
  );

  test('a subtest that fails', { skip: mode !== 'fail' }, () => {
    throw new Error('this subtest fails on purpose');
  });

  test('a subtest that never ends', { skip: mode !== 'hang' }, async () => {
    await new Promise(() => setInterval(() => undefined, 60_000));
  });
});
