// End to end in network namespaces (see topology.ts): pods on three nodes reach each other through
// a BIRD switch. Two set-ups run one after the other in this file, so their figures come from the
// same machine and moment: Calico classic (BIRD on every node peering with the switch: the
// reference) and Meshless (no BGP on the nodes; two route reflectors tell the switch). The table
// of figures is printed at the end (loadtest/RESULTS.md, "End to end").
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { netnsSkipReason } from '../../../bgp/src/testing/index.js';
import { waitFor } from '../../../shared/testing/index.js';
import type { BirdHandle } from '../../../bgp/src/testing/index.js';
import { ClassicCluster, CLUSTER_AS } from './classic.js';
import { addressIn, blockOf, CROSS_NODE_TTL, establishedPeers, PingMesh, pingMatrix, startSwitch, switchKernelRoutes, switchSessions } from './scenario.js';
import { figuresTable, recordFigures, writeFigures } from './report.js';
import { createTopology, type Topology } from './topology.js';

const skip = netnsSkipReason();

after(() => {
  console.log(`end-to-end figures (ms):\n${figuresTable()}`);
  writeFigures();
});

describe('end to end, Calico classic (reference): BIRD on every node, peering with the switch', { skip }, () => {
  let topo: Topology;
  let sw: BirdHandle;
  let cluster: ClassicCluster;
  const mesh = new PingMesh();
  const figures: Record<string, number> = {};

  before(async () => {
    topo = await createTopology({ prefix: 'cc' });
    sw = await startSwitch(topo, topo.nodes.map((n) => ({ address: n.address, asNumber: CLUSTER_AS })));
    for (const [i, n] of topo.nodes.entries()) {
      for (const [k, suffix] of ['a', 'b'].entries()) await topo.addPod(n.name, `pod-${i + 1}${suffix}`, addressIn(blockOf(i + 1), 2 + k));
    }
    cluster = new ClassicCluster(topo, new Map(topo.nodes.map((n, i) => [n.name, blockOf(i + 1)])));
    for (const pod of topo.pods.values()) cluster.addWorkload(pod);
  });

  after(async () => {
    await mesh.stop();
    await cluster?.stop();
    await sw?.stop();
    await topo?.destroy();
    recordFigures('calico-classic', figures);
  });

  test('initial convergence: every pod reaches every pod on the other nodes, through the switch', async (t) => {
    mesh.addCrossNode(topo.pods.values());
    const t0 = Date.now();
    await cluster.start();
    figures.initialConvergenceMs = await mesh.convergedAfter(t0, mesh.pingers, 60_000);
    t.diagnostic(`measured: initial convergence ${figures.initialConvergenceMs} ms over ${mesh.pingers.length} pairs`);
    const matrix = await pingMatrix(topo.pods.values());
    assert.deepEqual(matrix.bad, [], `every pair answers with TTL ${CROSS_NODE_TTL}`);
    assert.equal(matrix.pairs, 24);
    assert.deepEqual((await establishedPeers(sw, topo.nodes.map((n) => n.address))).sort(), topo.nodes.map((n) => n.address).sort());
    assert.equal((await switchSessions(sw)).length, 3, 'one session per node: the full set-up Meshless removes');
    const routes = await switchKernelRoutes(topo);
    assert.deepEqual(
      [...routes].sort(),
      topo.nodes.map((n, i) => [blockOf(i + 1), n.address]).sort(),
    );
  });

  test('churn: delete a pod, add one on another node, add one with a borrowed address', async (t) => {
    // Delete pod-1b: the other pairs lose nothing.
    const others = mesh.pingers.filter((p) => !p.label.split('→').includes('pod-1b'));
    await mesh.stop(mesh.involving('pod-1b'));
    const d0 = Date.now();
    cluster.removeWorkload(topo.pods.get('pod-1b')!);
    await topo.removePod('pod-1b');
    await new Promise((r) => setTimeout(r, 1000));
    figures.deleteLostEchoes = mesh.lossesBetween(d0, Date.now(), others).reduce((n, x) => n + x.lost, 0);
    assert.equal(figures.deleteLostEchoes, 0);

    // A new pod on node-2, in node-2's block (already announced).
    const added = await topo.addPod('node-2', 'pod-2c', addressIn(blockOf(2), 4));
    const toAdded = [mesh.add(topo.pods.get('pod-1a')!, added), mesh.add(topo.pods.get('pod-3a')!, added), mesh.add(added, topo.pods.get('pod-1a')!)];
    const a0 = Date.now();
    cluster.addWorkload(added);
    figures.addPodMs = await mesh.convergedAfter(a0, toAdded, 30_000);
    t.diagnostic(`measured: new pod reachable in ${figures.addPodMs} ms`);

    // A pod on node-3 whose address is borrowed from node-1's block: node-3 announces its /32,
    // node-1 (the block owner) must not swallow it.
    const borrowed = await topo.addPod('node-3', 'pod-3x', addressIn(blockOf(1), 10));
    const toBorrowed = [mesh.add(topo.pods.get('pod-1a')!, borrowed), mesh.add(topo.pods.get('pod-2a')!, borrowed), mesh.add(borrowed, topo.pods.get('pod-1a')!)];
    const b0 = Date.now();
    cluster.addWorkload(borrowed);
    figures.borrowedPodMs = await mesh.convergedAfter(b0, toBorrowed, 30_000);
    t.diagnostic(`measured: borrowed-address pod reachable in ${figures.borrowedPodMs} ms`);
    await waitFor('the switch routes the borrowed /32 to node-3', async () => (await switchKernelRoutes(topo)).get(`${borrowed.ip}/32`) === topo.node('node-3').address, 10_000);
    for (const p of toBorrowed) assert.equal(p.lastTtl(), CROSS_NODE_TTL);
    const matrix = await pingMatrix(topo.pods.values());
    assert.deepEqual(matrix.bad, []);
  });
});
