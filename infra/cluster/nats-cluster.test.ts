// `npm start -- --nats-cluster 3` (MESHLESS_NATS_CLUSTER=3) locked down: the three nats-servers
// route to each other over mutual TLS with the certificates npm start makes (their configuration
// files say so), the cluster forms (the datastore's buckets get 3 replicas, every one current) and
// serves: an agent in sync and a write read back through the TLS datastore API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connectNats, RESOURCES_BUCKET } from '../../services/shared/nats/index.js';
import { waitFor, waitForReplicas } from '../../services/shared/testing/index.js';
import { createDatastoreClient } from '../../services/shared/datastore-client/index.js';
import { clusterEnv, startCluster } from './testing.js';

test('npm start with a 3-node NATS cluster: TLS routes, R3 buckets, the cluster serves', {
  timeout: 240_000,
}, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'meshless-nats3-'));
  const env = await clusterEnv(dataDir, {
    MESHLESS_NATS_CLUSTER: '3',
    MESHLESS_AGENTS: 'node-a1',
    MESHLESS_REFLECTORS: '0',
  });
  const cluster = await startCluster(env);
  const address = cluster.datastore;
  const client = createDatastoreClient(address, { credentials: join(dataDir, 'pki', 'admin') });
  try {
    for (let i = 0; i < 3; i++) {
      const conf = readFileSync(join(dataDir, `meshless-local-${i}.conf`), 'utf8');
      const routes = conf.slice(conf.indexOf('cluster {'));
      assert.match(routes, /authorization \{ user: "meshless:\/\/nats\/nats" \}/, `server ${i}: route user`);
      assert.match(
        routes,
        new RegExp(
          `tls \\{\\s+cert_file: "${join(dataDir, 'pki', 'nats').replace(/[.]/g, '\\.')}/tls\\.crt"[^}]*verify_and_map: true`,
        ),
        `server ${i}: route TLS`,
      );
    }
    const urls = [...cluster.output().matchAll(/nats-\d\s+(nats:\/\/127\.0\.0\.1:\d+)/g)].map((m) => m[1]).join(',');
    assert.ok(urls.split(',').length === 3, cluster.output());
    const nc = await connectNats(urls, 'nats3-test', undefined, join(dataDir, 'pki', 'datastore'));
    try {
      const jsm = await jetstreamManager(nc);
      await waitForReplicas(jsm, `KV_${RESOURCES_BUCKET}`, 3, 60_000, 500);
    } finally {
      await nc.close();
    }
    await client.apply({
      apiVersion: 'projectcalico.org/v3',
      kind: 'IPPool',
      metadata: { name: 'r3-pool' },
      spec: { cidr: '10.99.0.0/16' },
    });
    assert.equal((await client.get('IPPool', 'r3-pool')).metadata.name, 'r3-pool');
    await waitFor(
      'the agent in sync with the pool',
      () => /agent node-a1: revision \d+: .*\+IPPool\/r3-pool/.test(cluster.output()),
      60_000,
    );
  } finally {
    client.close();
    cluster.child.kill('SIGTERM');
    await cluster.exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
});
