// The warm standby with real `meshless sync` processes: before the kill every agent holds an idle
// connection to the other server; after kill -9 of a server its agents resume on the survivor
// over those very connections (the test process's TCP connections to the survivor are the same
// before and after: no new connection, no snapshot), and the standby is re-armed once a server
// is back on the dead one's address. A server whose socket room is full closes idle sessions
// before it refuses a stream. Bad option values are refused naming the option.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../shared/config/index.js';
import { agentConfigSpec } from '../../agent/index.js';
import { connect, type ClientHttp2Session } from 'node:http2';
import { once } from 'node:events';
import { spawnSync } from 'node:child_process';
import { MESHLESS_BIN } from '../../shared/paths/index.js';
import { SyncAgent, SyncServer } from '../index.js';
import { runEvery, waitFor } from '../../shared/testing/index.js';
import {
  agentFleet,
  RandomWorkload,
  processRig,
  spawnSyncServer,
  testServerOptions,
  waitConverged,
} from '../src/testing/fixtures.js';

const NODES = ['node-0', 'node-1', 'node-2', 'node-3'];
const rig = processRig('meshless-sync-standby-');

/** Local ports of this process's established TCP connections to 127.0.0.1:PORT (/proc/net/tcp). */
function connectionsTo(port: number): Set<number> {
  const mine = new Set<string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (m) mine.add(m[1]!);
    } catch {
      // closed while listing
    }
  }
  const out = new Set<number>();
  const remote = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of readFileSync('/proc/self/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    // local, remote, state (01: ESTABLISHED), ..., inode (column 10)
    if (f[2] === remote && f[3] === '01' && mine.has(f[9]!)) out.add(Number.parseInt(f[1]!.split(':')[1]!, 16));
  }
  return out;
}

const portOf = (address: string) => Number(address.slice(address.lastIndexOf(':') + 1));

test('after kill -9 the orphans resume on the survivor over their standby connections, and re-arm when a server is back', async (t) => {
  const { nats, ds, dir, children } = rig;
  const work = new RandomWorkload(ds, 1718, NODES);
  await work.steps(30);
  const servers = await Promise.all(['a', 'b'].map((id) => spawnSyncServer(nats.url, join(dir, id), id)));
  children.push(...servers);
  await Promise.all(servers.map((s) => s.ready));
  const endpoints = servers.map((s) => s.address);
  const agents = agentFleet(t, NODES, 2, endpoints, dir);
  await Promise.all(agents.map((ag) => ag.start()));
  await waitConverged(ds, agents, 60_000);
  // Every agent's standby is up, on the server its stream is not on.
  await waitFor('every standby up', () => agents.every((ag) => ag.standbyEndpoint !== undefined), 30_000);
  for (const ag of agents) assert.notEqual(ag.standbyEndpoint, ag.endpoint);

  // The victim: the server of the first agent (so at least one orphan).
  const victim = servers.find((s) => s.address === agents[0]!.endpoint)!;
  const survivor = servers.find((s) => s !== victim)!;
  const orphans = agents.filter((ag) => ag.endpoint === victim.address);
  const before = connectionsTo(portOf(survivor.address));
  // One connection per agent: the streams of the survivor's agents and the orphans' standbys.
  assert.equal(before.size, agents.length, `connections to the survivor: ${[...before].join(', ')}`);
  const snapshots = agents.map((ag) => ag.stats.snapshotBytes);
  const warm = orphans.map((ag) => ag.stats.warmStreams);

  victim.child.kill('SIGKILL');
  await victim.exited;
  await work.steps(5);
  await waitConverged(ds, agents, 60_000);
  assert.ok(agents.every((ag) => ag.endpoint === survivor.address));
  assert.deepEqual(
    orphans.map((ag) => ag.stats.warmStreams),
    warm.map((n) => n + 1),
    'each orphan opened its stream on its standby session',
  );
  assert.deepEqual(
    agents.map((ag) => ag.stats.snapshotBytes),
    snapshots,
    '0 snapshot bytes',
  );
  assert.deepEqual(
    [...connectionsTo(portOf(survivor.address))].sort(),
    [...before].sort(),
    'the same TCP connections to the survivor: no new one',
  );

  // A server back on the dead one's address: the standbys (re-armed with backoff) come back to it
  // (the balancer may move agents there too: then their standby is on the survivor).
  const back = await spawnSyncServer(nats.url, join(dir, 'a2'), 'a2', victim.address);
  children.push(back);
  await back.ready;
  const armed = () =>
    agents.map(
      (ag) =>
        `${ag.endpoint === victim.address ? 'a2' : 'b'}→${ag.standbyEndpoint === undefined ? '-' : ag.standbyEndpoint === victim.address ? 'a2' : 'b'}`,
    );
  await waitFor(
    'every standby re-armed on the other server',
    () => agents.every((ag) => ag.standbyEndpoint !== undefined && ag.standbyEndpoint !== ag.endpoint),
    90_000,
  ).catch((err: Error) => assert.fail(`${err.message}; stream→standby per agent: ${armed().join(' ')}`));

  await Promise.all(agents.map((ag) => ag.stop()));
  assert.ok(
    agents.every((ag) => ag.standbyEndpoint === undefined),
    'stop closes the standby',
  );
});

test('a server at its socket room closes idle (standby) sessions to take streams, and only then refuses', async (t) => {
  const { ds } = rig;
  const server = await SyncServer.start(testServerOptions(ds.nc, { maxSockets: 2 }));
  const agents: SyncAgent[] = [];
  const idle: ClientHttp2Session[] = [];
  t.after(() =>
    runEvery('room', [
      ...agents.map((ag) => () => ag.stop()),
      ...idle.map((s) => () => s.destroy()),
      () => server.close(),
    ]),
  );
  await waitFor('server ready', () => server.ready);
  const sockets = () => server.stats().sockets!;
  // Two idle HTTP/2 sessions, as two agents' standbys: the room is full.
  for (let i = 0; i < 2; i++) {
    const s = connect(`http://${server.address}`);
    s.on('error', () => undefined);
    idle.push(s);
    await once(s, 'remoteSettings');
  }
  await waitFor('two idle sockets', () => sockets().open === 2 && sockets().idle === 2);
  const closed = idle.map((s) => once(s, 'close'));
  // Each agent's stream takes the room of an idle session, the oldest first.
  for (const node of NODES.slice(0, 2)) {
    const ag = new SyncAgent({ node, endpoints: [server.address], backoffInitialMs: 20, backoffMaxMs: 200 });
    agents.push(ag);
    await ag.start();
    await ag.waitInSync();
  }
  await Promise.all(closed);
  assert.deepEqual(sockets(), { open: 2, idle: 0, evicted: 2, refused: 0 });
  // Every socket carries a stream: a third connection is closed, the streams are untouched.
  const third = new SyncAgent({
    node: NODES[2]!,
    endpoints: [server.address],
    backoffInitialMs: 20,
    backoffMaxMs: 200,
  });
  agents.push(third);
  await third.start();
  await waitFor('the third connection refused', () => sockets().refused > 0);
  assert.equal(third.status === 'in-sync', false);
  assert.ok(agents.slice(0, 2).every((ag) => ag.status === 'in-sync'));
  assert.equal(server.stats().connections, 2);
});

test('bad standby values are refused naming the option', () => {
  // The command line of `meshless agent` itself: a clear error and a non-zero exit, before anything starts.
  const cli = spawnSync(
    process.execPath,
    [MESHLESS_BIN, 'agent', '--node', 'n1', '--standby', 'maybe', '--metrics-port', '-1'],
    { encoding: 'utf8', timeout: 60_000 },
  );
  assert.notEqual(cli.status, 0);
  assert.match(cli.stderr, /invalid standby from command line: must be true or false, got "maybe"/);
  assert.throws(
    () => loadConfig(agentConfigSpec, { env: {}, overrides: { node: 'n1', standby: 'sometimes' } }),
    /invalid standby from command line: must be true or false, got "sometimes"/,
  );
  assert.equal(loadConfig(agentConfigSpec, { env: {}, overrides: { node: 'n1', standby: 'false' } }).standby, false);
  assert.equal(loadConfig(agentConfigSpec, { env: {}, overrides: { node: 'n1' } }).standby, true);
  assert.throws(
    () =>
      new SyncAgent({ node: 'n1', endpoints: ['127.0.0.1:1', '127.0.0.1:2'], standby: 'yes' as unknown as boolean }),
    /SyncAgent: standby: expected true or false, got "yes"/,
  );
});
