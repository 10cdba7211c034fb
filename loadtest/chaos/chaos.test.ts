// The chaos suite (run by `npm test`; loopback, bounded): kill -9 rounds of a random component —
// a nats-server of the 3-node JetStream cluster, the datastore process, a sync server process, a
// `meshless agent` process, the route reflector (`meshless rr` in datastore mode) — under a
// continuous writer that records every acknowledged write and allocates and releases IPAM blocks.
// After each round every agent must equal the datastore's filtered view, the reflector must
// originate exactly the datastore's confirmed blocks and its BIRD peer must hold exactly those; at
// the end no acknowledged write may be lost, no two IPAM blocks may overlap, no block may be
// claimed by two affinities, and no error but UNAVAILABLE may have reached the writer. Prints a
// summary table (the figures in loadtest/RESULTS.md come from it).
// MESHLESS_CHAOS_ROUNDS (default 7) and MESHLESS_CHAOS_SEED (default 1) replay a run.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { birdSkipReason } from '../../services/rr/testing.js';
import { prng } from '../../services/sync/testing.js';
import { startChaosCluster, type ChaosCluster } from './cluster.js';
import { ipamProblems } from './ipam-check.js';
import { ChaosWriter } from './writer.js';
import { Console } from '../report/index.js';

const NODES = ['node-0', 'node-1', 'node-2', 'node-3'];
const ROUNDS = Number(process.env.MESHLESS_CHAOS_ROUNDS ?? 7);
const SEED = Number(process.env.MESHLESS_CHAOS_SEED ?? 1);
/** How long everything may take to equal the datastore after a restart before the round fails. */
const CONVERGE_LIMIT_MS = 60_000;
const skip = birdSkipReason();

let dir: string;
let cluster: ChaosCluster | undefined;
let writer: ChaosWriter | undefined;

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'meshless-chaos-'));
  cluster = await startChaosCluster(dir, NODES);
});

after(async () => {
  await writer?.stop().catch(() => undefined);
  writer?.close();
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

type Component = 'nats-server' | 'datastore' | 'sync server' | 'agent' | 'route reflector';
/** One round's figures, in ms: from the new process's start to its ready, and from its restart (ready) on. */
interface Row {
  round: number;
  component: Component;
  fault: string;
  acked: number;
  convergedMs: number;
  readyMs: number | undefined;
  pausedMs: number;
  agentsMs: number;
}
const COMPONENTS: Component[] = ['nats-server', 'datastore', 'sync server', 'agent', 'route reflector'];

/** How a round converged: when it was first seen equal, and what it waited for on the way. */
interface Convergence {
  /** Milliseconds from `from` until everything was seen equal to the KV. */
  ms: number;
  /** Each reason it was not equal yet, with when it was first seen (ms from `from`). */
  waits: Array<[number, string]>;
}

/** Waits until every agent, the reflector and its switch equal the KV. */
async function converge(c: ChaosCluster, from: number, label: string): Promise<Convergence> {
  let why: string | undefined = 'not compared yet';
  const waits: Array<[number, string]> = [];
  for (;;) {
    const contents = await c.contents().catch((err: Error) => err);
    why = contents instanceof Error ? `reading the KV: ${contents.message}` : await c.difference(contents);
    if (why === undefined) return { ms: Date.now() - from, waits };
    // The reason without its details (hashes, prefixes), so one wait is one line.
    const short = why.replace(/\[.*$/, '').slice(0, 80);
    if (waits.at(-1)?.[1] !== short) waits.push([Date.now() - from, short]);
    if (Date.now() - from > CONVERGE_LIMIT_MS) {
      // An agent in sync with other content fails the run like anything else. (It was a TODO
      // after one such agent, seed 4: a sync server whose watch stuck a second time at the same
      // stream position was never re-opened, sync freshness.ts; and it had no read floor.)
      const stale =
        contents instanceof Error ? -1 : c.agents.findIndex((a) => why === `agent ${a.node}: in sync but different`);
      const detail = stale >= 0 && !(contents instanceof Error) ? ` (${await c.explainAgent(stale, contents)})` : '';
      const waiting = c.agents.findIndex((a) => why?.startsWith(`agent ${a.node}: `));
      if (waiting >= 0) console.log(`recent log lines:\n${c.recentLogs(waiting)}`);
      const message = `not equal to the datastore ${CONVERGE_LIMIT_MS} ms after ${label}: ${why}${detail}`;
      throw new Error(message);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

test(`chaos: ${ROUNDS} rounds of kill -9 under a continuous writer lose nothing and leave nothing stale`, {
  skip,
  timeout: 600_000,
}, async () => {
  const c = cluster!;
  const rand = prng(SEED);
  const w = new ChaosWriter(c.datastore.address, NODES);
  writer = w;
  await converge(c, Date.now(), 'the start');
  w.start();
  await new Promise((r) => setTimeout(r, 1000));
  const rows: Row[] = [];
  const progress = new Console('chaos');
  for (let round = 1; round <= ROUNDS; round++) {
    // Every component once, in order, then random ones.
    const component = COMPONENTS[round <= COMPONENTS.length ? round - 1 : Math.floor(rand() * COMPONENTS.length)]!;
    const before = w.acknowledged;
    let fault: string = component;
    // started: the new process was spawned; ready: it said so (nats-server: its port, the
    // datastore: /readyz, a sync server: caught up, an agent: in sync; the reflector: not known).
    let started = 0;
    let ready: () => number | undefined = () => undefined;
    let upAt: () => number | undefined = () => undefined;
    if (component === 'nats-server') {
      const i = Math.floor(rand() * 3);
      fault += ` n${i}`;
      await c.nats.members[i]!.kill('SIGKILL');
      await new Promise((r) => setTimeout(r, 1000));
      started = Date.now();
      await c.nats.members[i]!.start();
    } else if (component === 'datastore') {
      c.datastore.child.kill('SIGKILL');
      await c.datastore.exited;
      started = Date.now();
      await c.restartDatastore();
    } else if (component === 'sync server') {
      const i = Math.floor(rand() * c.sync.length);
      fault += ` ${i}`;
      c.sync[i]!.child.kill('SIGKILL');
      await c.sync[i]!.exited;
      started = Date.now();
      await c.restartSync(i);
    } else if (component === 'agent') {
      const i = Math.floor(rand() * c.agents.length);
      fault += ` ${NODES[i]}`;
      await c.agents[i]!.kill('SIGKILL');
      started = Date.now();
      c.restartAgent(i);
      const agent = c.agents[i]!;
      ready = () => agent.inSyncAt;
      upAt = () => agent.firstLineAt;
    } else {
      await c.rr.kill();
      started = Date.now();
      c.restartRr();
    }
    const restarted = Date.now();
    if (component !== 'agent' && component !== 'route reflector') ready = () => restarted;
    // Progress on stderr: a round can wait up to a minute for everything to equal the datastore.
    const phase = progress.phase(
      `round ${round}/${ROUNDS}: ${fault} killed and restarted, waiting until everything equals the datastore`,
    );
    // Writes go on for a while after the restart: pause the writer only to compare a still state.
    await new Promise((r) => setTimeout(r, 2000));
    await w.stop();
    const paused = Date.now() - restarted;
    const converged = await converge(c, restarted, `round ${round}'s restart (${fault})`).finally(() =>
      phase.end(null),
    );
    const readyAt = ready();
    const row: Row = {
      round,
      component,
      fault,
      acked: w.acknowledged - before,
      convergedMs: converged.ms,
      readyMs: readyAt === undefined ? undefined : readyAt - started,
      pausedMs: paused,
      // The agents' own last change: when they became equal (the harness notices a poll later).
      agentsMs: Math.max(...c.agents.map((a) => a.changedAt)) - restarted,
    };
    progress.log(
      `round ${round}/${ROUNDS}: ${fault}: ${upAt() ? `first log line ${upAt()! - started} ms, ` : ''}ready ${row.readyMs ?? '?'} ms after its start; writer paused at +${paused} ms; agents last changed at +${row.agentsMs} ms; all seen equal at +${converged.ms} ms after the restart, ${row.acked} writes acked; waited for: ${converged.waits.map(([t, why]) => `+${t} ${why}`).join('; ') || 'nothing'}`,
    );
    // Where a slow round's time went: the writer stuck in a write, an agent slow to sync.
    if (paused > 4000)
      progress.log(`  the writer paused late; datastore log:\n    ${c.datastore.recent.join('\n    ')}`);
    if (component === 'agent' && (row.readyMs ?? 0) > 4000)
      progress.log(`  ${c.recentLogs(c.agents.findIndex((a) => fault.endsWith(a.node)))}`);
    rows.push(row);
    w.start();
  }
  await w.stop();
  await converge(c, Date.now(), 'the last round');
  const contents = await c.contents();
  const lost = w.lost(c.revisions);
  const ipam = ipamProblems(contents);
  const worst = new Map<Component, number>();
  for (const r of rows) worst.set(r.component, Math.max(worst.get(r.component) ?? 0, r.convergedMs));
  // The agents were equal from their own last change on, the datastore being still since the
  // writer paused (the harness's own List of every kind, at this load seconds long, comes after).
  const agentsEqual = (r: Row) => Math.max(r.pausedMs, r.agentsMs);
  const worstAgents = new Map<Component, number>();
  for (const r of rows) worstAgents.set(r.component, Math.max(worstAgents.get(r.component) ?? 0, agentsEqual(r)));
  const ms = (v: number | undefined) => (v === undefined ? '-' : `${v} ms`).padStart(9);
  const table = [
    'round | fault                         | writes acked | start -> ready | writer paused | agents last changed | all seen equal (after restart)',
    ...rows.map(
      (r) =>
        `${String(r.round).padStart(5)} | ${r.fault.padEnd(29)} | ${String(r.acked).padStart(12)} | ${ms(r.readyMs).padStart(14)} | ${ms(r.pausedMs).padStart(13)} | ${ms(r.agentsMs).padStart(19)} | ${r.convergedMs} ms`,
    ),
    `total: ${w.acknowledged} writes acknowledged, ${lost.length} lost; IPAM: ${w.blocksAllocated} blocks allocated, ${w.blocksReleased} released, ${ipam.blocks} blocks at the end, ${ipam.problems.length} duplicates`,
    `worst agents equal (own log times) by component: ${[...worstAgents].map(([k, v]) => `${k} ${v} ms`).join(', ')}`,
    `worst reconvergence (seen equal) by component: ${[...worst].map(([k, v]) => `${k} ${v} ms`).join(', ')}; errors seen by the writer ${JSON.stringify(Object.fromEntries(w.errors))}; load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
  ];
  console.log(table.join('\n'));
  assert.deepEqual(lost, [], 'acknowledged writes lost');
  assert.deepEqual(ipam.problems, [], 'duplicate IPAM blocks');
  assert.ok(w.blocksAllocated > 0, 'the writer allocated no block: nothing to check');
  for (const kind of w.errors.keys())
    assert.ok(kind === 'UNAVAILABLE' || kind === 'expected', `the writer saw ${kind}`);
});
