// `npm start -- --reflectors 0`: a cluster without reflectors (and so without the BIRD switch)
// still registers its agent nodes: every agent comes up in sync, each Node has its loopback BGP
// address and an IPAM block, and no reflector or BIRD runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../../services/shared/testing/index.js';
import { createDatastoreClient } from '../../services/shared/datastore-client/index.js';
import { clusterEnv, startCluster } from './testing.js';

test('npm start without reflectors registers every agent node: agents in sync, Nodes with addresses and blocks', {
  timeout: 240_000,
}, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'meshless-norr-'));
  const agents = ['node-a1', 'node-a2'];
  const env = await clusterEnv(dataDir, { MESHLESS_AGENTS: agents.join(','), MESHLESS_REFLECTORS: '0' });
  const cluster = await startCluster(env).catch((err: Error) => {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  });
  const client = createDatastoreClient(cluster.datastore, { credentials: join(dataDir, 'pki', 'admin') });
  try {
    for (const n of agents)
      await waitFor(`${n} in sync`, () => new RegExp(`agent ${n}: in sync with `).test(cluster.output()), 60_000);
    assert.doesNotMatch(cluster.output(), /starting (rr-|switch)/, 'no reflector, no switch');
    const affinities = (await client.list('BlockAffinity')).items.map((a) => a.spec as { cidr: string; node: string });
    for (const n of agents)
      assert.ok(
        affinities.some((a) => a.node === n && a.cidr.startsWith('10.240.')),
        `${n} has a block`,
      );
    for (const [i, n] of agents.entries()) {
      const spec = (await client.get('Node', n)).spec as { bgp: { ipv4Address: string } };
      assert.equal(spec.bgp.ipv4Address, `127.0.1.${1 + i}/32`);
    }
    assert.deepEqual(
      (await client.list('Node')).items.map((r) => r.metadata.name).sort(),
      agents,
      'only the agent nodes: no reflector Node',
    );
  } finally {
    client.close();
    cluster.child.kill('SIGTERM');
    await cluster.exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
});
