// Thousands of abandoned Watch streams (a client process that opens them and dies) against a real
// datastore serving mutual TLS: the limits refuse what is beyond them with RESOURCE_EXHAUSTED
// naming the limit, the datastore keeps serving meanwhile, and once the client is gone no
// JetStream consumer is left behind.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { createDatastoreClient, type DatastoreClient } from '../../../shared/datastore-client/index.js';
import { createLogger } from '../../../shared/log/index.js';
import { connectNats, RESOURCES_BUCKET, type NatsConnection } from '../../../shared/nats/index.js';
import {
  createTestPki,
  startNatsServer,
  waitFor,
  type NatsServerHandle,
  type TestPki,
} from '../../../shared/testing/index.js';
import { runDatastore, type DatastoreHandle } from '../run.js';
import { FIXTURES, testConfig } from '../testing/index.js';

interface AbuserState {
  /** Streams that got their first message or an error. */
  answered: number;
  opened: number;
  /** Served and not ended: what the limits bound. */
  live: number;
  error: string;
  refused: number;
  other: number;
  refusal: string;
}

let nats: NatsServerHandle;
let nc: NatsConnection;
let pki: TestPki;
let ds: DatastoreHandle;
let admin: DatastoreClient;
const children: ChildProcess[] = [];

function abuse(credentials: string, count: number): { child: ChildProcess; state: () => AbuserState } {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      fileURLToPath(new URL('./testdata/abandon-watches.ts', import.meta.url)),
      ds.address,
      credentials,
      String(count),
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  children.push(child);
  let last: AbuserState = { answered: 0, opened: 0, live: 0, refused: 0, other: 0, refusal: '', error: '' };
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop()!;
    if (lines.length) last = JSON.parse(lines[lines.length - 1]!) as AbuserState;
  });
  return { child, state: () => last };
}

const consumers = async () =>
  (await (await jetstreamManager(nc)).streams.info(`KV_${RESOURCES_BUCKET}`)).state.consumer_count;

before(async () => {
  nats = await startNatsServer();
  nc = await connectNats(nats.url, 'watch-limits-test');
  pki = await createTestPki();
  ds = await runDatastore(
    testConfig(nats.url, {
      insecure: false,
      credentials: await pki.issue('datastore', 'datastore-0'),
      maxWatches: 150,
      maxWatchesPerClient: 100,
    }),
    createLogger('watch-limits-test'),
  );
  admin = createDatastoreClient(ds.address, { credentials: await pki.issue('admin', 'root') });
  for (const doc of FIXTURES) await admin.apply(doc);
});

after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  admin.close();
  await ds.close();
  await nc.close();
  await nats.stop();
  pki.remove();
});

test('5,000 abandoned Watch streams: limits per client and in total, the datastore keeps serving, no consumer left once the client is gone', {
  timeout: 240_000,
}, async () => {
  const a = abuse(await pki.issue('admin', 'abuser-a'), 2500);
  // Every stream is answered: served (up to the limit), or refused. A served one may still fail
  // later when NATS is slow to create its consumer under this load (then another takes its place).
  await waitFor(
    'abuser A served up to its per-client limit, the rest refused',
    () => a.state().answered >= 2500,
    120_000,
  );
  assert.ok(a.state().live <= 100, JSON.stringify(a.state()));
  assert.ok(a.state().refused >= 2000, JSON.stringify(a.state()));
  assert.match(
    a.state().refusal,
    /admin 'abuser-a' has 100 Watch streams open, the limit per client \(maxWatchesPerClient=100\)/,
  );

  const b = abuse(await pki.issue('read-only', 'abuser-b'), 2500);
  await waitFor('abuser B stopped by the total limit', () => b.state().answered >= 2500, 120_000);
  assert.ok(a.state().live + b.state().live <= 150, JSON.stringify([a.state(), b.state()]));
  // Which limit B meets first depends on how many of A's streams are still open (some fail when
  // NATS is slow to create their consumers under this load).
  assert.match(
    b.state().refusal,
    /the datastore has 150 Watch streams open, its limit \(maxWatches=150\)|read-only 'abuser-b' has 100 Watch streams open, the limit per client \(maxWatchesPerClient=100\)/,
  );
  assert.ok(b.state().refused >= 2000, JSON.stringify(b.state()));

  // Meanwhile an ordinary client is served.
  const { items } = await admin.list('Node');
  assert.equal(items.length, 1);

  a.child.kill('SIGKILL');
  b.child.kill('SIGKILL');
  await waitFor('every consumer of the dead client deleted', async () => (await consumers()) === 0, 60_000);
  await waitFor(
    'the watch gauge back to 0',
    async () =>
      /meshless_datastore_watch_streams(\{[^}]*\})? 0\b/.test(
        await (await fetch(`http://127.0.0.1:${ds.metricsPort}/metrics`)).text(),
      ),
    30_000,
  );
  // And the limits are free again.
  for await (const e of admin.watch({ kinds: ['Node'] })) if (e.type === 'in-sync') break;
});
