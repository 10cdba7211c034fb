// A locked-down 3-node NATS cluster (server-config.ts) with its routes over mutual TLS: the cluster
// forms, the datastore makes R3 buckets on it and serves through the loss of a member, and a server
// that tries to join with a certificate from the same CA but not the NATS servers' identity (a
// node's), or in plain text, is refused by the members' route listeners.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { createDatastoreClient, type DatastoreClient } from '../datastore-client/index.js';
import { createLogger } from '../log/index.js';
import {
  createTestPki,
  freePort,
  NATS_SERVER_BIN,
  startNatsCluster,
  waitFor,
  waitForReplicas,
  type NatsClusterHandle,
  type TestPki,
} from '../testing/index.js';
import { runDatastore, type DatastoreHandle } from '../../datastore/index.js';
import { testConfig } from '../../datastore/testing.js';
import { connectNats, natsServerConfig, RESOURCES_BUCKET } from './index.js';

let pki: TestPki;
let cluster: NatsClusterHandle;
let ds: DatastoreHandle;
let client: DatastoreClient;
const dirs: Record<string, string> = {};
const logs: string[] = [];
const scratch = mkdtempSync(join(tmpdir(), 'meshless-nats-routes-'));

before(async () => {
  pki = await createTestPki();
  dirs.nats = await pki.issue('nats', 'nats', { hosts: ['127.0.0.1', 'localhost'] });
  dirs.datastore = await pki.issue('datastore', 'datastore');
  dirs.node = await pki.issue('node', 'node-a', { hosts: ['127.0.0.1'] });
  cluster = await startNatsCluster(3, {
    config: (m) => {
      const logFile = join(scratch, `${m.serverName}.log`);
      logs.push(logFile);
      const text = natsServerConfig({
        host: '127.0.0.1',
        port: m.port,
        serverName: m.serverName,
        storeDir: m.storeDir,
        credentials: dirs.nats!,
        datastores: ['datastore'],
        syncServers: [],
        cluster: { name: m.clusterName, port: m.clusterPort, routes: m.routes },
      });
      return `${text}log_file: ${JSON.stringify(logFile)}\n`;
    },
  });
  ds = await runDatastore(
    testConfig(cluster.urls, { natsCredentials: dirs.datastore!, replicas: 3 }),
    createLogger('nats-routes-test'),
  );
  client = createDatastoreClient(ds.address);
});

after(async () => {
  client?.close();
  await ds?.close();
  await cluster?.stop();
  pki.remove();
  if (!process.env.KEEP) rmSync(scratch, { recursive: true, force: true });
});

const configText = () => readFileSync(join(cluster.members[0]!.storeDir, 'nats.conf'), 'utf8');

test("the routes are configured for mutual TLS with the NATS servers' identity", () => {
  const conf = configText();
  assert.match(conf, /cluster \{[\s\S]*tls \{[\s\S]*verify_and_map: true[\s\S]*\}/);
  assert.match(conf, /cluster \{[\s\S]*authorization \{ user: "meshless:\/\/nats\/nats" \}/);
});

test('the cluster forms over TLS routes and serves R3 buckets through the loss of a member', async () => {
  const nc = await connectNats(cluster.urls, 'routes-test', undefined, dirs.datastore);
  try {
    const jsm = await jetstreamManager(nc);
    await waitForReplicas(jsm, `KV_${RESOURCES_BUCKET}`, 3, 30_000, 250);
  } finally {
    await nc.close();
  }
  await client.apply({
    apiVersion: 'projectcalico.org/v3',
    kind: 'IPPool',
    metadata: { name: 'before' },
    spec: { cidr: '10.1.0.0/16' },
  });
  // A member that is not the only copy: with R3 any one may go.
  await cluster.members[2]!.kill();
  try {
    await waitFor(
      'a write acknowledged with one member down',
      async () => {
        await client.apply({
          apiVersion: 'projectcalico.org/v3',
          kind: 'IPPool',
          metadata: { name: 'after' },
          spec: { cidr: '10.2.0.0/16' },
        });
        return true;
      },
      30_000,
      250,
    );
    const names = (await client.list('IPPool')).items
      .map((i) => (i as { metadata: { name: string } }).metadata.name)
      .sort();
    assert.deepEqual(names, ['after', 'before']);
  } finally {
    await cluster.members[2]!.start();
  }
});

/** Starts a nats-server that solicits a route to member 0 with `routeTls` (absent: plain text); returns it. */
async function rogueRoute(name: string, routeTls?: string): Promise<ChildProcess> {
  const m0 = readFileSync(join(cluster.members[0]!.storeDir, 'nats.conf'), 'utf8');
  const own = /cluster \{\n {2}name: "[^"]+"\n {2}listen: "127\.0\.0\.1:(\d+)"/.exec(m0)?.[1];
  assert.ok(own, 'member 0 has a route listener');
  const dir = join(scratch, name);
  const conf = [
    `listen: "127.0.0.1:${await freePort()}"`,
    `server_name: ${JSON.stringify(name)}`,
    'cluster {',
    '  name: "meshless-test"',
    `  listen: "127.0.0.1:${await freePort()}"`,
    `  routes: ["nats://127.0.0.1:${own}"]`,
    ...(routeTls
      ? [
          '  tls {',
          `    cert_file: "${routeTls}/tls.crt"`,
          `    key_file: "${routeTls}/tls.key"`,
          `    ca_file: "${routeTls}/ca.crt"`,
          '  }',
        ]
      : []),
    '}',
    '',
  ].join('\n');
  writeFileSync(`${dir}.conf`, conf);
  return spawn(NATS_SERVER_BIN, ['-c', `${dir}.conf`], { stdio: 'ignore' });
}

const memberLog = () => (existsSync(logs[0]!) ? readFileSync(logs[0]!, 'utf8') : '');

test("a route with a node's certificate from the same CA is refused (wrong identity)", async () => {
  const rogue = await rogueRoute('rogue-node', dirs.node);
  try {
    await waitFor(
      'member 0 refusing the node certificate on its route port',
      () => /rid:\d+ - authentication error/.test(memberLog()),
      30_000,
      250,
    );
  } finally {
    rogue.kill('SIGKILL');
  }
});

test('a route in plain text is refused (TLS required)', async () => {
  const before = memberLog().length;
  const rogue = await rogueRoute('rogue-plain');
  try {
    await waitFor(
      'member 0 failing the TLS handshake of a plain route',
      () => /rid:\d+ - TLS route handshake error/.test(memberLog().slice(before)),
      30_000,
      250,
    );
  } finally {
    rogue.kill('SIGKILL');
  }
  // The members still route only among themselves: JetStream keeps its three peers.
  const nc = await connectNats(cluster.urls, 'routes-test', undefined, dirs.datastore);
  try {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(`KV_${RESOURCES_BUCKET}`);
    assert.deepEqual([info.cluster?.leader, ...(info.cluster?.replicas ?? []).map((r) => r.name)].sort(), [
      'n0',
      'n1',
      'n2',
    ]);
  } finally {
    await nc.close();
  }
});
