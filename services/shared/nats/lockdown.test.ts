// NATS locked down (server-config.ts) against a real nats-server, a real datastore and a real sync
// server: both work under their permissions; a sync server's user cannot write the KV or change the
// stream; a client whose certificate maps to no user (a node), or with no certificate, cannot
// connect, so it can neither forge heartbeats nor write the KV.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
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
import { connectNats, natsServerConfig, RESOURCES_BUCKET, Subjects } from './index.js';

let pki: TestPki;
let nats: NatsServerHandle;
let ds: DatastoreHandle;
let sync: RunningSync;
const dirs: Record<string, string> = {};
const log = createLogger('nats-lockdown-test');

before(async () => {
  pki = await createTestPki();
  dirs.nats = await pki.issue('nats', 'nats', { hosts: ['127.0.0.1', 'localhost'] });
  dirs.datastore = await pki.issue('datastore', 'datastore');
  dirs.sync = await pki.issue('sync-server', 'sync-0');
  dirs.node = await pki.issue('node', 'node-a');
  nats = await startNatsServer({
    config: (port, storeDir) => natsServerConfig({ host: '127.0.0.1', port, serverName: 'test', storeDir, credentials: dirs.nats!, datastores: ['datastore'], syncServers: ['sync-0'] }),
  });
  ds = await runDatastore(testConfig(nats.url, { natsCredentials: dirs.datastore! }), log);
  sync = await runSync(loadConfig(syncConfigSpec, { env: {}, overrides: { nats: nats.url, natsCredentials: dirs.sync, insecure: true, listen: '127.0.0.1:0', stateDir: '', metricsPort: -1, serverId: 'sync-0' } }), { log });
});

after(async () => {
  await sync.stop(false);
  await ds.close();
  await nats.stop();
  pki.remove();
});

test('the datastore writes and the sync server follows under their permissions', async () => {
  const client = createDatastoreClient(ds.address);
  await client.apply({ apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name: 'node-a' }, spec: {} });
  client.close();
  await waitFor('the sync server ready and holding the node', () => sync.server.ready && sync.server.cache.size >= 1, 30_000);
});

test('a sync server\'s user cannot write the KV, purge or delete the stream', async () => {
  const nc = await connectNats(nats.url, 'rogue-sync', undefined, dirs.sync);
  try {
    const js = jetstream(nc);
    await assert.rejects(js.publish(`$KV.${RESOURCES_BUCKET}.ippools._.evil`, '{"cidr":"not-a-cidr"}', { timeout: 2000 }), /permission|timeout|no responders/i);
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

test('a node\'s certificate and no certificate are refused by NATS: no forged heartbeat, no KV write', async () => {
  const tls = (dir: string) => ({ caFile: join(dir, 'ca.crt'), certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') });
  await assert.rejects(connect({ servers: nats.url, tls: tls(dirs.node!), reconnect: false }), /Authorization Violation/i);
  await assert.rejects(connect({ servers: nats.url, tls: { caFile: join(dirs.node!, 'ca.crt') }, reconnect: false }));
  await assert.rejects(connect({ servers: nats.url, reconnect: false }));
  // The heartbeat subject only ever carried the real sync server.
  const nc = await connectNats(nats.url, 'observer', undefined, dirs.sync);
  const seen: string[] = [];
  const sub = nc.subscribe(Subjects.syncHeartbeat, { callback: (_e, m) => void seen.push(String((m.json() as { id: string }).id)) });
  await waitFor('a heartbeat', () => seen.length > 0, 10_000);
  sub.unsubscribe();
  await nc.close();
  assert.deepEqual([...new Set(seen)], ['sync-0']);
});
