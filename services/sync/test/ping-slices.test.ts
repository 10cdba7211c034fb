// Ping rounds spread over the interval: each stream is pinged once per interval, but not all at
// once (a round to every stream made every agent answer at once, a burst of Pongs a change then
// waited behind: bench:fanout's changeTail). Checked by the ping ids each stream receives, not by
// time: ids are handed out one per slice, so streams pinged in different slices see different ids,
// and one stream's consecutive ids are one round (the number of slices) apart.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, credentials, type ClientDuplexStream } from '@grpc/grpc-js';
import { SyncRequest, SyncResponse, SyncServiceService } from '../../../proto/gen/meshless/v1/sync.js';
import { SyncServer } from '../index.js';
import { runEvery, startNatsServer, waitFor, type NatsServerHandle } from '../../shared/testing/index.js';
import { helloFrame, openTestDatastore, testServerOptions, type TestDatastore } from '../src/testing/fixtures.js';

const STREAMS = 20;
/** 1,000 ms: 20 slices of 50 ms (sync-server.ts, pingSlices). */
const PING_INTERVAL_MS = 1000;
const SLICES = 20;

let nats: NatsServerHandle;
let ds: TestDatastore;
let server: SyncServer;
const clients: Client[] = [];
const calls: ClientDuplexStream<Buffer, Buffer>[] = [];

before(async () => {
  nats = await startNatsServer();
  ds = await openTestDatastore(nats.url);
  await ds.put('Node', '', 'n1', {});
  server = await SyncServer.start(testServerOptions(ds.nc, { pingIntervalMs: PING_INTERVAL_MS }));
  await waitFor('server ready', () => server.ready);
});

after(() =>
  runEvery('teardown', [
    () => {
      for (const c of calls) c.cancel();
      for (const c of clients) c.close();
    },
    () => server?.close(),
    () => ds?.close(),
    () => nats?.stop(),
  ]),
);

test('each stream is pinged once per round, the streams spread over the round', async () => {
  const pings: number[][] = [];
  for (let i = 0; i < STREAMS; i++) {
    const client = new Client(server.address, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
    clients.push(client);
    const call = client.makeBidiStreamRequest(
      SyncServiceService.sync.path,
      (b: Buffer) => b,
      (b: Buffer) => b,
    );
    calls.push(call);
    const ids: number[] = [];
    pings.push(ids);
    call.on('error', () => undefined);
    call.on('data', (b: Buffer) => {
      const m = SyncResponse.decode(b).message;
      if (m?.$case !== 'ping') return;
      ids.push(m.value.id);
      call.write(Buffer.from(SyncRequest.encode({ message: { $case: 'pong', value: { id: m.value.id } } }).finish()));
    });
    call.write(helloFrame('n1'));
  }
  await waitFor('three pings on every stream', () => pings.every((ids) => ids.length >= 3), 60_000);
  // One round to every stream would give them all the same id.
  const firstIds = new Set(pings.map((ids) => ids[0]! % SLICES));
  assert.ok(firstIds.size >= SLICES / 2, `streams pinged in ${firstIds.size} slices: ${JSON.stringify(pings)}`);
  // Each stream once per round: its ids one round apart.
  for (const ids of pings)
    for (let i = 1; i < ids.length; i++) assert.equal(ids[i]! - ids[i - 1]!, SLICES, JSON.stringify(ids));
  assert.equal(server.stats().closed['pong-timeout'] ?? 0, 0);
});
