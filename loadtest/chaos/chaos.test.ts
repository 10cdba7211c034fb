// The chaos suite (run by `npm test`; loopback, bounded): kill -9 rounds of a random component —
// a nats-server of the 3-node JetStream cluster, the datastore process, a sync server process, an
// agent (stopped and started on its state directory) — under a continuous writer that records
// every acknowledged write. After each round every agent must equal the datastore's filtered view;
// at the end no acknowledged write may be lost and no error but UNAVAILABLE may have reached the
// writer. Prints a summary table (the figures in loadtest/RESULTS.md come from it).
// MESHLESS_CHAOS_ROUNDS (default 6) and MESHLESS_CHAOS_SEED (default 1) replay a run.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { prng } from '../../services/sync/src/testing/fixtures.js';
import { startChaosCluster, type ChaosCluster } from './cluster.js';
import { ChaosWriter } from './writer.js';

const NODES = ['node-0', 'node-1', 'node-2', 'node-3'];
const ROUNDS = Number(process.env.MESHLESS_CHAOS_ROUNDS ?? 6);
const SEED = Number(process.env.MESHLESS_CHAOS_SEED ?? 1);
/** How long agents may take to equal the datastore after a restart before the round fails. */
const CONVERGE_LIMIT_MS = 60_000;

let dir: string;
let cluster: ChaosCluster;
let writer: ChaosWriter | undefined;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'meshless-chaos-'));
  cluster = await startChaosCluster(dir, NODES);
});

after(async () => {
  await writer?.stop().catch(() => undefined);
  writer?.close();
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
});

type Component = 'nats-server' | 'datastore' | 'sync server' | 'agent';
const COMPONENTS: Component[] = ['nats-server', 'datastore', 'sync server', 'agent'];

/** Waits until the writer is quiet for a moment and every agent equals the KV; returns the ms it took. */
async function converge(from: number): Promise<number> {
  for (;;) {
    const contents = await cluster.contents().catch(() => undefined);
    if (contents && cluster.agentsEqual(contents)) return Date.now() - from;
    if (Date.now() - from > CONVERGE_LIMIT_MS) {
      const bad = cluster.agents.filter((a) => a.status !== 'in-sync').map((a) => `${a.node}: ${a.status}`);
      throw new Error(`agents not equal to the datastore ${CONVERGE_LIMIT_MS} ms after the restart (${bad.join(', ') || 'in sync but different'})`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

test(`chaos: ${ROUNDS} rounds of kill -9 under a continuous writer lose nothing and leave no agent stale`, async () => {
  const rand = prng(SEED);
  const w = new ChaosWriter(cluster.datastore.address, NODES);
  writer = w;
  await converge(Date.now());
  w.start();
  await new Promise((r) => setTimeout(r, 1000));
  const rows: Array<{ round: number; fault: string; acked: number; convergedMs: number }> = [];
  for (let round = 1; round <= ROUNDS; round++) {
    // Every component once, in order, then random ones.
    const component = COMPONENTS[round <= COMPONENTS.length ? round - 1 : Math.floor(rand() * COMPONENTS.length)]!;
    const before = w.acknowledged;
    let fault = component;
    if (component === 'nats-server') {
      const i = Math.floor(rand() * 3);
      fault += ` n${i}`;
      await cluster.nats.members[i]!.kill('SIGKILL');
      await new Promise((r) => setTimeout(r, 1000));
      await cluster.nats.members[i]!.start();
    } else if (component === 'datastore') {
      cluster.datastore.child.kill('SIGKILL');
      await cluster.datastore.exited;
      await cluster.restartDatastore();
    } else if (component === 'sync server') {
      const i = Math.floor(rand() * cluster.sync.length);
      fault += ` ${i}`;
      cluster.sync[i]!.child.kill('SIGKILL');
      await cluster.sync[i]!.exited;
      await cluster.restartSync(i);
    } else {
      const i = Math.floor(rand() * cluster.agents.length);
      fault += ` ${NODES[i]} (stop/start)`;
      await cluster.restartAgent(i);
    }
    const restarted = Date.now();
    // Writes go on while the agents converge: pause the writer only to compare a still state.
    await new Promise((r) => setTimeout(r, 500));
    await w.stop();
    const convergedMs = await converge(restarted);
    rows.push({ round, fault, acked: w.acknowledged - before, convergedMs });
    w.start();
  }
  await w.stop();
  await converge(Date.now());
  await cluster.contents();
  const lost = w.lost(cluster.revisions);
  const table = [
    'round | fault                         | writes acked | agents equal after restart',
    ...rows.map((r) => `${String(r.round).padStart(5)} | ${r.fault.padEnd(29)} | ${String(r.acked).padStart(12)} | ${r.convergedMs} ms`),
    `total: ${w.acknowledged} writes acknowledged, ${lost.length} lost, worst reconvergence ${Math.max(...rows.map((r) => r.convergedMs))} ms, errors seen by the writer ${JSON.stringify(Object.fromEntries(w.errors))}`,
  ];
  console.log(table.join('\n'));
  assert.deepEqual(lost, [], 'acknowledged writes lost');
  for (const kind of w.errors.keys()) assert.ok(kind === 'UNAVAILABLE' || kind === 'expected', `the writer saw ${kind}`);
});
