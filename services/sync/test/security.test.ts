// Bad actors on the sync API of a real sync server serving mutual TLS: the node comes from the
// certificate, not the hello; unknown nodes, other nodes' views, wrong views and roles that do not
// sync are refused with PERMISSION_DENIED; a second stream of one node replaces the first; an agent
// follows only a server whose certificate it accepts, and holds its warm standby session only to
// such a server, with the same credentials.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, status, type StatusObject } from '@grpc/grpc-js';
import { SyncAgent } from '../index.js';
import { createLogger } from '../../shared/log/index.js';
import {
  createTestPki,
  runEvery,
  startNatsServer,
  waitFor,
  type NatsServerHandle,
  type TestPki,
} from '../../shared/testing/index.js';
import { clientChannel, serverSecurity, type Role } from '../../shared/tls/index.js';
import { SyncResponse, SyncServiceService, type SyncClientHello } from '../../../proto/gen/meshless/v1/sync.js';
import { SyncServer } from '../index.js';
import {
  helloFrame,
  openTestDatastore,
  testServerOptions,
  waitConverged,
  type TestDatastore,
} from '../src/testing/fixtures.js';

let nats: NatsServerHandle;
let ds: TestDatastore;
let pki: TestPki;
let server: SyncServer;
const clients: Client[] = [];
const log = createLogger('sync-security-test');

async function open(
  role: Role,
  name: string,
  patch: Partial<SyncClientHello>,
): Promise<{ ended: Promise<StatusObject>; messages: SyncResponse[]; cancel: () => void }> {
  const channel = clientChannel(await pki.issue(role, name), ['sync-server']);
  const client = new Client(server.address, channel.credentials, {
    ...channel.options,
    'grpc.use_local_subchannel_pool': 1,
  });
  clients.push(client);
  const call = client.makeBidiStreamRequest(
    SyncServiceService.sync.path,
    (b: Buffer) => b,
    (b: Buffer) => b,
  );
  const messages: SyncResponse[] = [];
  call.on('data', (b: Buffer) => messages.push(SyncResponse.decode(b)));
  call.on('error', () => undefined);
  const ended = new Promise<StatusObject>((resolve) => call.on('status', resolve));
  call.write(helloFrame(name, patch));
  return { ended, messages, cancel: () => call.cancel() };
}

async function refused(role: Role, name: string, patch: Partial<SyncClientHello>, details: RegExp): Promise<void> {
  const s = await (await open(role, name, patch)).ended;
  assert.equal(s.code, status.PERMISSION_DENIED, `${status[s.code]}: ${s.details}`);
  assert.match(s.details, details);
}

before(async () => {
  nats = await startNatsServer();
  ds = await openTestDatastore(nats.url);
  pki = await createTestPki();
  for (const n of ['node-a', 'node-b', 'rr-0']) await ds.put('Node', '', n, {});
  await ds.put('WorkloadEndpoint', 'default', 'secret-of-b', { node: 'node-b' });
  const tls = { credentials: await pki.issue('sync-server', 'sync-0'), insecure: false };
  const security = await serverSecurity('sync', tls, log);
  server = await SyncServer.start(testServerOptions(ds.nc, { security, tls }));
  await waitFor('server ready', () => server.ready);
});

after(async () => {
  await runEvery('teardown', [
    () => {
      for (const c of clients) c.close();
    },
    () => server.close(),
    () => ds.close(),
    () => nats.stop(),
  ]);
  pki.remove();
});

test("a node certificate asking for another node's view is refused, and gets nothing of it", async () => {
  const o = await open('node', 'node-a', { node: 'node-b' });
  const s = await o.ended;
  assert.equal(s.code, status.PERMISSION_DENIED);
  assert.match(s.details, /node 'node-a' may not follow the view of node 'node-b'/);
  assert.equal(o.messages.length, 0);
});

test('an unknown node, a wrong view, and roles that do not sync are refused', async () => {
  await refused('node', 'node-zz', {}, /node 'node-zz' is unknown/);
  await refused('node', 'node-a', { syncerType: 'bgp' }, /may follow only the agent view/);
  await refused('reflector', 'rr-0', { syncerType: 'agent', node: 'rr-0' }, /may follow only the bgp view/);
  await refused('controller', 'kc', {}, /controller 'kc' may not sync/);
  await refused('sync-server', 'sync-9', {}, /may not sync/);
});

test('a second stream of the same node replaces the first (ABORTED); other nodes are untouched', async () => {
  const b = await open('node', 'node-b', {});
  await waitFor('node-b in sync', () => b.messages.some((m) => m.message?.$case === 'inSync'));
  const first = await open('node', 'node-a', {});
  await waitFor('first node-a stream in sync', () => first.messages.some((m) => m.message?.$case === 'inSync'));
  const second = await open('node', 'node-a', {});
  const s = await first.ended;
  assert.equal(s.code, status.ABORTED);
  assert.match(s.details, /replaced by a newer stream of node\/node-a/);
  await waitFor('second node-a stream in sync', () => second.messages.some((m) => m.message?.$case === 'inSync'));
  assert.equal(server.stats().closed.replaced, 1);
  second.cancel();
  b.cancel();
});

test('admin may follow any view; an agent with a node certificate syncs; a certificate of another CA gets nowhere', async (t) => {
  const admin = await open('admin', 'debug', { node: 'node-b' });
  await waitFor('admin in sync', () => admin.messages.some((m) => m.message?.$case === 'inSync'));
  admin.cancel();
  const agent = new SyncAgent({
    node: 'node-a',
    endpoints: [server.address],
    credentials: await pki.issue('node', 'node-a'),
    backoffMaxMs: 200,
  });
  t.after(() => agent.stop());
  await agent.start();
  await waitConverged(ds, [agent]);
  assert.ok(
    [...agent.keys()].every((k) => !k.includes('secret-of-b')),
    "node-a never sees node-b's endpoint",
  );
  await agent.stop();
  const other = await createTestPki();
  const stranger = new SyncAgent({
    node: 'node-a',
    endpoints: [server.address],
    credentials: await other.issue('node', 'node-a'),
    backoffMaxMs: 200,
  });
  t.after(() => runEvery('stranger', [() => stranger.stop(), () => other.remove()]));
  await stranger.start();
  await waitFor('the stranger failing to connect', () => stranger.stats.failures >= 2);
  assert.equal(stranger.status === 'in-sync', false);
});

test("an agent does not follow a server whose certificate is not a sync server's", async (t) => {
  // A rogue server with a valid certificate of our CA, but a node's: the agent refuses it.
  const rogueTls = { credentials: await pki.issue('node', 'node-b'), insecure: false };
  const rogueSecurity = await serverSecurity('rogue', rogueTls, log);
  const rogue = await SyncServer.start(
    testServerOptions(ds.nc, { security: rogueSecurity, tls: rogueTls, serverId: 'rogue' }),
  );
  t.after(() => rogue.close());
  await waitFor('rogue ready', () => rogue.ready);
  const agent = new SyncAgent({
    node: 'node-a',
    endpoints: [rogue.address],
    credentials: await pki.issue('node', 'node-a'),
    backoffMaxMs: 200,
  });
  t.after(() => agent.stop());
  await agent.start();
  await waitFor('the agent refusing the rogue server', () => agent.stats.failures >= 2);
  assert.equal(rogue.stats().connections, 0);
});

test('the warm standby uses the same credentials and verifies the server as a stream does', async (t) => {
  const tls1 = { credentials: await pki.issue('sync-server', 'sync-1'), insecure: false };
  const second = await SyncServer.start(
    testServerOptions(ds.nc, { security: await serverSecurity('sync', tls1, log), tls: tls1, serverId: 'sync-1' }),
  );
  const rogueTls = { credentials: await pki.issue('node', 'node-b'), insecure: false };
  const rogue = await SyncServer.start(
    testServerOptions(ds.nc, {
      security: await serverSecurity('rogue', rogueTls, log),
      tls: rogueTls,
      serverId: 'rogue-standby',
    }),
  );
  t.after(() => runEvery('standby servers', [() => second.close(), () => rogue.close()]));
  await waitFor('servers ready', () => second.ready && rogue.ready);
  const credentials = await pki.issue('node', 'node-a');
  // Two sync servers: the standby comes up on the one the stream is not on.
  const agent = new SyncAgent({ node: 'node-a', endpoints: [server.address, second.address], credentials });
  t.after(() => agent.stop());
  await agent.start();
  await waitConverged(ds, [agent]);
  await waitFor('the standby up over TLS', () => agent.standbyEndpoint !== undefined);
  assert.notEqual(agent.standbyEndpoint, agent.endpoint);
  await agent.stop();
  // A server whose certificate is a node's: the stream never settles there, nor does the standby.
  const wary = new SyncAgent({
    node: 'node-a',
    endpoints: [server.address, rogue.address],
    credentials,
    backoffMaxMs: 200,
  });
  t.after(() => wary.stop());
  await wary.start();
  await waitFor('in sync on the real server', () => wary.status === 'in-sync' && wary.endpoint === server.address);
  await waitFor('the standby to the rogue server failing', () => wary.standbyCounts.failed >= 1, 30_000);
  assert.equal(wary.standbyCounts.connected, 0);
  assert.equal(wary.standbyEndpoint, undefined);
  assert.equal(rogue.stats().connections, 0);
});
