// `npm start` picks a free port for each service and the service binds it a moment later: another
// process can take it in between (tests run beside each other). A service that then exits on
// EADDRINUSE is started again on newly picked ports, and the cluster comes up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from '../../services/shared/testing/index.js';
import { createDatastoreClient } from '../../services/shared/datastore-client/index.js';
import { clusterEnv, startCluster, type Cluster } from './testing.js';

test('a port taken between its choice and its bind: the service is started again on another, the cluster comes up', {
  timeout: 240_000,
}, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'meshless-ports-'));
  // The datastore's metrics port is the first of the base: free now, taken by us as soon as the
  // cluster says it starts the datastore (a Node process needs far longer to reach its bind).
  const metricsBase = await freePort();
  const env = await clusterEnv(dataDir, {
    MESHLESS_AGENTS: 'node-a1',
    MESHLESS_REFLECTORS: '0',
    MESHLESS_METRICS_BASE_PORT: String(metricsBase),
  });
  let squatter: Server | undefined;
  let cluster: Cluster | undefined;
  const taking = (out: string) => {
    if (squatter || !out.includes('starting datastore')) return;
    squatter = createServer().listen(metricsBase, '127.0.0.1');
  };
  try {
    cluster = await startCluster(env, taking);
    const out = cluster.output();
    assert.ok(squatter?.listening, 'the test held the port');
    assert.match(out, /datastore: a port it was given was taken before it could bind it; picking again/);
    assert.equal(out.match(/starting datastore/g)?.length, 2, 'started twice');
    assert.match(out, /agent node-a1: in sync with |meshless ready/);
    const client = createDatastoreClient(cluster.datastore, { credentials: join(dataDir, 'pki', 'admin') });
    try {
      await waitFor('the datastore answering', async () => (await client.list('Node')).items.length >= 1, 30_000);
    } finally {
      client.close();
    }
  } finally {
    squatter?.close();
    if (cluster && cluster.child.exitCode === null) {
      cluster.child.kill('SIGTERM');
      await cluster.exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
});
