// Bad input on the sync stream: every misbehaving client gets a clear status naming the problem,
// and the server keeps serving the well-behaved agent next to it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { Client, credentials, status, type ClientDuplexStream, type StatusObject } from '@grpc/grpc-js';
import { SyncAgent } from '../index.js';
import { FIELD_METADATA_KEY } from '../../shared/grpc-status/index.js';
import { runEvery, startNatsServer, waitFor, type NatsServerHandle } from '../../shared/testing/index.js';
import {
  SyncFeature,
  SyncRequest,
  SyncResponse,
  SyncServiceService,
  type SyncClientHello,
} from '../../../proto/gen/meshless/v1/sync.js';
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
let server: SyncServer;
let good: SyncAgent;
const clients: Client[] = [];

interface Ended {
  status: StatusObject;
  messages: SyncResponse[];
}

function rawCall(address: string): { call: ClientDuplexStream<Buffer, Buffer>; ended: Promise<Ended> } {
  const client = new Client(address, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  clients.push(client);
  const call = client.makeBidiStreamRequest(
    SyncServiceService.sync.path,
    (b: Buffer) => b,
    (b: Buffer) => b,
  );
  const messages: SyncResponse[] = [];
  call.on('data', (b: Buffer) => messages.push(SyncResponse.decode(b)));
  call.on('error', () => undefined);
  const ended = new Promise<Ended>((resolve) =>
    call.on('status', (s: StatusObject) => resolve({ status: s, messages })),
  );
  return { call, ended };
}

const encode = (r: SyncRequest) => Buffer.from(SyncRequest.encode(r).finish());
const hello = (patch: Partial<SyncClientHello> = {}): Buffer => helloFrame('bad-1', patch);

async function expectStatus(send: Buffer[], code: status, details: RegExp, field?: string): Promise<Ended> {
  const { call, ended } = rawCall(server.address);
  for (const b of send) call.write(b);
  const e = await ended;
  assert.equal(e.status.code, code, `${status[e.status.code]}: ${e.status.details}`);
  assert.match(e.status.details, details);
  if (field) assert.equal(e.status.metadata.get(FIELD_METADATA_KEY)[0], field);
  return e;
}

before(async () => {
  nats = await startNatsServer();
  ds = await openTestDatastore(nats.url);
  await ds.put('Node', '', 'n1', {});
  await ds.put('WorkloadEndpoint', 'default', 'w1', { node: 'n1' });
  server = await SyncServer.start(
    testServerOptions(ds.nc, {
      maxLagBytes: 64 * 1024,
      maxMessageBytes: 256 * 1024,
      handshakeTimeoutMs: 500,
      maxConnections: 50,
    }),
  );
  await waitFor('server ready', () => server.ready);
  good = new SyncAgent({ node: 'n1', endpoints: [server.address], backoffInitialMs: 20, backoffMaxMs: 200 });
  await good.start();
  await waitConverged(ds, [good]);
});

// Every step, whatever failed before it: a server or nats-server left open keeps the file from
// exiting, and the runner waits for it to its timeout.
after(() =>
  runEvery('bad-clients teardown', [
    () => good?.stop(),
    () => {
      for (const c of clients) c.close();
    },
    () => server?.close(),
    () => ds?.close(),
    () => nats?.stop(),
  ]),
);

test('a malformed hello: INVALID_ARGUMENT naming the field', async () => {
  await expectStatus(
    [hello({ node: 'Not_A_Node' })],
    status.INVALID_ARGUMENT,
    /client_hello\.node: 'Not_A_Node' is not a valid node name/,
    'client_hello.node',
  );
  await expectStatus(
    [hello({ node: '' })],
    status.INVALID_ARGUMENT,
    /client_hello\.node: required/,
    'client_hello.node',
  );
  await expectStatus(
    [hello({ nodeScopedKeys: ['ippools._.p'] })],
    status.INVALID_ARGUMENT,
    /node_scoped_keys\[0\]/,
    'client_hello.node_scoped_keys[0]',
  );
});

test('an unknown syncer type: INVALID_ARGUMENT listing the known ones', async () => {
  await expectStatus(
    [hello({ syncerType: 'felix' })],
    status.INVALID_ARGUMENT,
    /unknown syncer type 'felix' \(known: agent, bgp\)/,
    'client_hello.syncer_type',
  );
});

test('bytes that are not a SyncRequest, an empty request, and requests out of order', async () => {
  await expectStatus([Buffer.from([0xff, 0xff, 0xff, 0xff])], status.INVALID_ARGUMENT, /malformed SyncRequest/);
  await expectStatus([Buffer.alloc(0)], status.INVALID_ARGUMENT, /no message set/);
  await expectStatus(
    [encode({ message: { $case: 'pong', value: { id: 1 } } })],
    status.INVALID_ARGUMENT,
    /pong: received before client_hello/,
  );
  const e = await expectStatus([hello(), hello()], status.INVALID_ARGUMENT, /client_hello: sent twice/);
  assert.equal(e.messages[0]?.message?.$case, 'serverHello', 'the first hello was answered');
});

test('a hello larger than the message limit: RESOURCE_EXHAUSTED', async () => {
  const keys = Array.from({ length: 20_000 }, (_, i) => `workloadendpoints.default.endpoint-with-a-long-name-${i}`);
  await expectStatus([hello({ nodeScopedKeys: keys })], status.RESOURCE_EXHAUSTED, /larger than max/);
});

test('no hello at all: DEADLINE_EXCEEDED after the handshake timeout', async () => {
  const silent = rawCall(server.address);
  const s = await silent.ended;
  assert.equal(s.status.code, status.DEADLINE_EXCEEDED, s.status.details);
  assert.match(s.status.details, /no SyncClientHello within 500 ms/);
});

test('garbage on the TCP port (not HTTP/2) closes that connection only', async () => {
  const [host, port] = [server.address.split(':')[0]!, Number(server.address.split(':')[1])];
  await new Promise<void>((resolve) => {
    const sock = connect({ host, port }, () =>
      sock.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n\x00\x01\x02garbage')),
    );
    sock.on('data', () => undefined);
    sock.on('error', () => resolve());
    sock.on('close', () => resolve());
  });
  assert.equal(server.ready, true);
});

for (const directWrites of [true, false]) {
  test(`a client that never reads is closed with RESOURCE_EXHAUSTED once it falls behind, and told where to resume (${directWrites ? 'direct' : 'grpc-js'} writes)`, async () => {
    const own = await SyncServer.start(testServerOptions(ds.nc, { maxLagBytes: 64 * 1024, directWrites }));
    try {
      await waitFor('ready', () => own.ready);
      const { call, ended } = rawCall(own.address);
      call.write(hello({ node: 'sleepy', features: [SyncFeature.SYNC_FEATURE_RECONNECT] }));
      await waitFor('the sleepy client is live', () => own.stats().live.agent === 1);
      call.pause();
      const big = 'x'.repeat(8 * 1024);
      for (let i = 0; i < 400 && (own.stats().closed.lag ?? 0) === 0; i++)
        await ds.put('GlobalNetworkPolicy', '', `flood-${i % 50}`, { selector: 'all()', big });
      await waitFor('the server closes the sleepy client for lag', () => (own.stats().closed.lag ?? 0) > 0);
      call.resume();
      const e = await ended;
      assert.equal(e.status.code, status.RESOURCE_EXHAUSTED, e.status.details);
      assert.match(e.status.details, /fell behind by \d+ revisions and \d+ bytes .*; resume from \d+/);
    } finally {
      await own.close();
    }
  });
}

test('a full server sends a client that understands Reconnect elsewhere, and tells the others RESOURCE_EXHAUSTED', async () => {
  const full = await SyncServer.start(testServerOptions(ds.nc, { maxConnections: 1 }));
  try {
    await waitFor('ready', () => full.ready);
    const first = rawCall(full.address);
    first.call.write(hello({ node: 'first' }));
    await waitFor('first is live', () => full.stats().live.agent === 1);
    const polite = rawCall(full.address);
    polite.call.write(hello({ node: 'second', features: [SyncFeature.SYNC_FEATURE_RECONNECT] }));
    const p = await polite.ended;
    assert.equal(p.status.code, status.OK);
    assert.equal(p.messages.at(-1)?.message?.$case, 'reconnect');
    const plain = rawCall(full.address);
    plain.call.write(hello({ node: 'third' }));
    const q = await plain.ended;
    assert.equal(q.status.code, status.RESOURCE_EXHAUSTED);
    assert.match(q.status.details, /is full \(1 connections\)/);
    assert.ok(
      !q.messages.some((m) => m.message?.$case === 'reconnect'),
      'never a message type the client did not advertise',
    );
    first.call.end();
  } finally {
    await full.close();
  }
});

test('a server that is not caught up refuses with UNAVAILABLE', async () => {
  const empty = await startNatsServer();
  const { connectNats } = await import('../../shared/nats/index.js');
  const nc = await connectNats(empty.url, 'no-bucket');
  const waiting = await SyncServer.start(testServerOptions(nc));
  try {
    const { call, ended } = rawCall(waiting.address);
    call.write(hello());
    const e = await ended;
    assert.equal(e.status.code, status.UNAVAILABLE);
    assert.match(e.status.details, /is not ready \(catching up with the datastore/);
  } finally {
    await waiting.close();
    await nc.close();
    await empty.stop();
  }
});

test('garbage on the heartbeat subject is ignored and counted; the server stays ready', async () => {
  const { Subjects } = await import('../../shared/nats/index.js');
  const before = server.stats().invalidHeartbeats;
  ds.nc.publish(Subjects.syncHeartbeat, 'not json at all');
  ds.nc.publish(Subjects.syncHeartbeat, JSON.stringify({ id: 'x', address: 'a:1', connections: -5, ready: true }));
  ds.nc.publish(Subjects.syncDrain, '\u0000\u0001');
  await waitFor('both counted', () => server.stats().invalidHeartbeats >= before + 2);
  assert.equal(server.ready, true);
});

// Last (node:test runs a file's top-level tests in order): a check of its own, not in the after
// hook, so that its failure is reported as such and the teardown still runs.
test('the well-behaved agent saw every change made meanwhile, on the same server, without a new session', async () => {
  await ds.put('Node', '', 'after-the-abuse', {});
  await waitConverged(ds, [good]);
  assert.equal(good.stats.sessions, 1, JSON.stringify({ closed: server.stats().closed, agent: good.stats }));
  assert.equal(server.ready, true);
});
