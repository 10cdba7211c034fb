// NATS locked down (server-config.ts) against a real nats-server, a real datastore and a real sync
// server: both work under their allow lists (the server logs no permission violation for them
// while they run); a sync server's user cannot write the KV, change the stream, or publish or
// subscribe outside its list; the datastore's user works under its own list (writes, reads,
// watches, IPAM, compaction) but cannot forge a heartbeat nor use another stream's JetStream API
// (nor list, delete or restore streams); a client whose
// certificate maps to no user (a node), or with no certificate, cannot connect, so it can neither
// forge heartbeats nor write the KV.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { createDatastoreClient } from '../datastore-client/index.js';
import { createLogger } from '../log/index.js';
import { createTestPki, startNatsServer, waitFor, type NatsServerHandle, type TestPki } from '../testing/index.js';
import { runDatastore, type DatastoreHandle } from '../../datastore/index.js';
import { runSync, syncConfigSpec, type RunningSync } from '../../sync/index.js';
import { loadConfig } from '../config/index.js';
import { testConfig } from '../../datastore/testing.js';
import { connectNats, inboxPrefix, natsServerConfig, RESOURCES_BUCKET, Subjects } from './index.js';

let pki: TestPki;
let nats: NatsServerHandle;
let ds: DatastoreHandle;
let sync: RunningSync;
const dirs: Record<string, string> = {};
const log = createLogger('nats-lockdown-test');
const scratch = mkdtempSync(join(tmpdir(), 'meshless-nats-lockdown-'));
const serverLog = join(scratch, 'nats.log');
/** The nats-server's log: every permission violation it refused, with user and subject. */
const violations = () =>
  existsSync(serverLog)
    ? readFileSync(serverLog, 'utf8')
        .split('\n')
        .filter((l) => /(Publish|Subscription) Violation/.test(l))
    : [];

before(async () => {
  pki = await createTestPki();
  dirs.nats = await pki.issue('nats', 'nats', { hosts: ['127.0.0.1', 'localhost'] });
  dirs.datastore = await pki.issue('datastore', 'datastore');
  dirs.sync = await pki.issue('sync-server', 'sync-0');
  dirs.node = await pki.issue('node', 'node-a');
  nats = await startNatsServer({
    config: (port, storeDir) =>
      `${natsServerConfig({ host: '127.0.0.1', port, serverName: 'test', storeDir, credentials: dirs.nats!, datastores: ['datastore'], syncServers: ['sync-0'] })}log_file: ${JSON.stringify(serverLog)}\n`,
  });
  // Retention 0: compaction purges a deletion at once (the datastore's STREAM.PURGE is exercised).
  ds = await runDatastore(testConfig(nats.url, { natsCredentials: dirs.datastore!, tombstoneRetention: 0 }), log);
  sync = await runSync(
    loadConfig(syncConfigSpec, {
      env: {},
      overrides: {
        nats: nats.url,
        natsCredentials: dirs.sync,
        insecure: true,
        listen: '127.0.0.1:0',
        stateDir: '',
        metricsPort: -1,
        serverId: 'sync-0',
      },
    }),
    { log },
  );
});

after(async () => {
  await sync.stop(false);
  await ds.close();
  await nats.stop();
  pki.remove();
  if (!process.env.KEEP) rmSync(scratch, { recursive: true, force: true });
});

test('the datastore writes and the sync server follows under their permissions', async () => {
  const client = createDatastoreClient(ds.address);
  await client.apply({ apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name: 'node-a' }, spec: {} });
  client.close();
  await waitFor(
    'the sync server ready and holding the node',
    () => sync.server.ready && sync.server.cache.size >= 1,
    30_000,
  );
  // Heartbeats went out (the sync server's own subject) and nothing either did was refused.
  await waitFor(
    'a second heartbeat round',
    async () => {
      const nc = await connectNats(nats.url, 'hb-probe', undefined, dirs.sync);
      try {
        const got = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), 3000);
          nc.subscribe(Subjects.syncHeartbeat, { max: 1, callback: () => (clearTimeout(timer), resolve(true)) });
        });
        return got;
      } finally {
        await nc.close();
      }
    },
    20_000,
    100,
  );
  assert.deepEqual(violations(), [], 'the datastore and the sync server stay inside their allow lists');
});

test('out-of-scope publishes and subscriptions are refused by nats-server for each user', async () => {
  const refusedPublish = async (dir: string, user: string, subject: string) => {
    const nc = await connectNats(nats.url, `probe-${user.replace(/\W+/g, '-')}`, undefined, dir);
    try {
      nc.publish(subject, 'x');
      await nc.flush();
      await waitFor(
        `nats-server refusing ${user}'s publish to ${subject}`,
        () => violations().some((l) => l.includes(`Publish Violation - User "${user}", Subject "${subject}"`)),
        10_000,
        100,
      );
    } finally {
      await nc.close();
    }
  };
  const refusedSubscribe = async (dir: string, user: string, subject: string) => {
    const nc = await connectNats(nats.url, `probe-${user.replace(/\W+/g, '-')}`, undefined, dir);
    try {
      const sub = nc.subscribe(subject);
      const ended = (async () => {
        for await (const _ of sub) void _;
      })();
      await assert.rejects(
        ended,
        (err: Error) => err.name === 'PermissionViolationError' && err.message.includes(subject),
        `${user} subscribing to ${subject}`,
      );
    } finally {
      await nc.close();
    }
  };
  // The sync server: no stream listing, no other bucket's or stream's consumers, no $SYS, no core subjects of others.
  for (const subject of [
    '$JS.API.STREAM.LIST',
    '$JS.API.STREAM.INFO.KV_meshless-meta',
    '$JS.API.CONSUMER.CREATE.KV_meshless-meta',
    '$SYS.REQ.SERVER.PING',
    Subjects.rrPeerStatus,
  ]) {
    await refusedPublish(dirs.sync!, 'meshless://sync-server/sync-0', subject);
  }
  // ... nor read another client's replies: every inbox, or the datastore's.
  for (const subject of [
    `$KV.${RESOURCES_BUCKET}.>`,
    '>',
    Subjects.rrPeerStatus,
    '_INBOX.>',
    `${inboxPrefix({ role: 'datastore', name: 'datastore' })}.>`,
  ]) {
    await refusedSubscribe(dirs.sync!, 'sync-server', subject);
  }
  // The datastore: no forged heartbeat or drain notice, no $SYS, no subscription to them.
  for (const subject of [Subjects.syncHeartbeat, Subjects.syncDrain, '$SYS.REQ.SERVER.PING'])
    await refusedPublish(dirs.datastore!, 'meshless://datastore/datastore', subject);
  await refusedSubscribe(dirs.datastore!, 'datastore', Subjects.syncHeartbeat);
});

test("a sync server's user cannot write the KV, purge or delete the stream", async () => {
  const nc = await connectNats(nats.url, 'rogue-sync', undefined, dirs.sync);
  try {
    const js = jetstream(nc);
    await assert.rejects(
      js.publish(`$KV.${RESOURCES_BUCKET}.ippools._.evil`, '{"cidr":"not-a-cidr"}', { timeout: 2000 }),
      /permission|timeout|no responders/i,
    );
    const jsm = await jetstreamManager(nc);
    await assert.rejects(jsm.streams.purge(`KV_${RESOURCES_BUCKET}`), /permission|timeout/i);
    await assert.rejects(jsm.streams.delete(`KV_${RESOURCES_BUCKET}`), /permission|timeout/i);
    const client = createDatastoreClient(ds.address);
    assert.equal((await client.list('IPPool')).items.length, 0, 'nothing was written');
    client.close();
  } finally {
    await nc.close();
  }
});

test("a node's certificate and no certificate are refused by NATS: no forged heartbeat, no KV write", async () => {
  const tls = (dir: string) => ({
    caFile: join(dir, 'ca.crt'),
    certFile: join(dir, 'tls.crt'),
    keyFile: join(dir, 'tls.key'),
  });
  await assert.rejects(
    connect({ servers: nats.url, tls: tls(dirs.node!), reconnect: false }),
    /Authorization Violation/i,
  );
  await assert.rejects(connect({ servers: nats.url, tls: { caFile: join(dirs.node!, 'ca.crt') }, reconnect: false }));
  await assert.rejects(connect({ servers: nats.url, reconnect: false }));
  // The heartbeat subject only ever carried the real sync server.
  const nc = await connectNats(nats.url, 'observer', undefined, dirs.sync);
  const seen: string[] = [];
  const sub = nc.subscribe(Subjects.syncHeartbeat, {
    callback: (_e, m) => void seen.push(String((m.json() as { id: string }).id)),
  });
  await waitFor('a heartbeat', () => seen.length > 0, 10_000);
  sub.unsubscribe();
  await nc.close();
  assert.deepEqual([...new Set(seen)], ['sync-0']);
});

test('the datastore works under its narrowed user: writes, reads, watch, IPAM, compaction', async () => {
  const mine = () => violations().filter((l) => l.includes('"meshless://datastore/datastore"'));
  const before = mine().length;
  const client = createDatastoreClient(ds.address);
  try {
    const pool = {
      apiVersion: 'projectcalico.org/v3',
      kind: 'IPPool',
      metadata: { name: 'narrow-pool' },
      spec: { cidr: '10.77.0.0/16', blockSize: 26 },
    };
    const created = await client.create(pool);
    const events: string[] = [];
    const ac = new AbortController();
    const watching = (async () => {
      for await (const e of client.watch({ revision: Number(created.metadata.resourceVersion), signal: ac.signal }))
        if (e.type === 'put' || e.type === 'delete') events.push(`${e.type} ${e.kind}/${e.name}`);
    })().catch(() => undefined);
    await client.apply({ apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name: 'node-w' }, spec: {} });
    const { affinity } = await client.allocateBlock('node-w', { pool: 'narrow-pool', ipVersion: 4 });
    assert.match((affinity.spec as { cidr: string }).cidr, /^10\.77\./);
    await client.delete('IPPool', 'narrow-pool').catch(() => undefined);
    await client.delete('Node', 'node-w');
    await waitFor('the watch seeing the node come and go', () => events.includes('delete Node/node-w'), 20_000);
    ac.abort();
    await watching;
    const compacted = await ds.compactNow();
    assert.ok(compacted.purged > 0, `compaction purged the deletions: ${JSON.stringify(compacted)}`);
  } finally {
    client.close();
  }
  assert.deepEqual(mine().slice(before), [], 'no permission violation by the datastore');
});

test("the datastore's user cannot use another stream's JetStream API, nor list, delete or restore streams", async () => {
  const user = 'meshless://datastore/datastore';
  const nc = await connectNats(nats.url, 'rogue-datastore', undefined, dirs.datastore);
  try {
    for (const subject of [
      '$JS.API.STREAM.CREATE.OTHER',
      '$JS.API.STREAM.INFO.KV_other-bucket',
      '$JS.API.STREAM.MSG.GET.KV_other-bucket',
      '$JS.API.CONSUMER.CREATE.KV_other-bucket',
      '$JS.API.CONSUMER.MSG.NEXT.KV_other-bucket.c',
      '$JS.API.STREAM.LIST',
      '$JS.API.STREAM.NAMES',
      `$JS.API.STREAM.DELETE.KV_${RESOURCES_BUCKET}`,
      `$JS.API.STREAM.RESTORE.KV_${RESOURCES_BUCKET}`,
      '$JS.API.DIRECT.GET.KV_other-bucket',
      '$KV.other-bucket.x',
    ]) {
      nc.publish(subject, '{}');
      await nc.flush();
      await waitFor(
        `nats-server refusing the datastore's publish to ${subject}`,
        () => violations().some((l) => l.includes(`Publish Violation - User "${user}", Subject "${subject}"`)),
        10_000,
        100,
      );
    }
    // Through the JetStream client as well: refused, and its own stream is still there.
    const jsm = await jetstreamManager(nc);
    await assert.rejects(jsm.streams.add({ name: 'OTHER', subjects: ['other.>'] }), /permission|timeout/i);
    await assert.rejects(jsm.streams.delete(`KV_${RESOURCES_BUCKET}`), /permission|timeout/i);
    assert.equal((await jsm.streams.info(`KV_${RESOURCES_BUCKET}`)).config.name, `KV_${RESOURCES_BUCKET}`);
  } finally {
    await nc.close();
  }
});
