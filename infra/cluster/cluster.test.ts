// The local cluster as a user meets it: `npm start`'s entry brings everything up and prints
// `meshless ready`; the BIRD switch learns every agent node's block from both route reflectors;
// the CLI applies the examples and reads them back (the switch follows the nodes' new addresses);
// SIGTERM stops every child, BIRD and the reflectors included; a second start finds the data again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { waitFor } from '../../services/shared/testing/index.js';
import { createDatastoreClient } from '../../services/shared/datastore-client/index.js';
import { parseBirdRoutes } from '../../services/testing/index.js';
import { clusterEnv, startCluster, type Cluster } from './testing.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const run = promisify(execFile);

/** Processes whose command line names `dir` (every child of the cluster but the datastore). */
function processesUnder(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmd.includes(dir)) found.push(`${pid} ${cmd}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

async function birdRoutes(dataDir: string) {
  const { stdout } = await run('birdc', ['-s', join(dataDir, 'switch/bird.ctl'), 'show', 'route', 'all']);
  return parseBirdRoutes(stdout);
}

/** The user's configuration directory during the test (npm start puts the admin's credentials there). */
let configHome = '';

async function meshless(address: string, ...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [join(root, 'bin/meshless.mjs'), '--datastore', address, ...args], {
    cwd: root,
    env: { ...process.env, XDG_CONFIG_HOME: configHome, MESHLESS_CREDENTIALS: '' },
  });
  return stdout;
}

test('npm start brings the cluster up (NATS, datastore, sync, agents, reflectors, BIRD switch), the switch learns every node block, serves the tour, stops cleanly and keeps its data', {
  timeout: 300_000,
}, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'meshless-cluster-'));
  const env = await clusterEnv(dataDir, { XDG_CONFIG_HOME: (configHome = join(dataDir, 'user-config')) });
  let address = '';
  const agents = ['node-a1', 'node-a2', 'node-b1'];
  let client: ReturnType<typeof createDatastoreClient> | undefined;
  const started: Cluster[] = [];
  try {
    let cluster = await startCluster(env);
    started.push(cluster);
    address = cluster.datastore;
    assert.match(
      cluster.output(),
      /pki: admin credentials for the CLI written to .*user-config\/meshless\/credentials/,
    );
    client = createDatastoreClient(address, { credentials: join(dataDir, 'pki', 'admin') });
    const anonymous = createDatastoreClient(address, { deadlineMs: 5000 });
    await assert.rejects(anonymous.list('IPPool'), 'a client without a certificate is refused');
    anonymous.close();
    assert.match(cluster.output(), new RegExp(`datastore\\s+${address.replace(/\./g, '\\.')}`));
    assert.match(cluster.output(), /reflector\s+reflector-0\s+BGP 127\.0\.0\.11:\d+/);
    assert.match(
      cluster.output(),
      new RegExp(`birdc -s ${join(dataDir, 'switch/bird.ctl').replace(/\./g, '\\.')} show route`),
    );

    // The switch (BIRD, asked directly) holds one route per agent node's block, from each reflector,
    // with that node's address as next hop, over eBGP from the cluster's AS.
    await waitFor(
      "the switch holding every node's block",
      () =>
        /switch: holds every node's block \(node-a1, node-a2, node-b1\) from each of the 2 reflectors/.test(
          cluster.output(),
        ),
      90_000,
    );
    const affinities = (await client!.list('BlockAffinity')).items.map((a) => a.spec as { cidr: string; node: string });
    const blockOf = new Map(agents.map((n) => [n, affinities.find((a) => a.node === n)?.cidr]));
    const routes = await birdRoutes(dataDir);
    assert.deepEqual(
      new Set(routes.map((r) => r.prefix)),
      new Set(blockOf.values()),
      "the switch holds exactly the agent nodes' blocks",
    );
    for (const n of agents) {
      const address: string | undefined = (
        (await client!.get('Node', n)).spec as { bgp: { ipv4Address: string } }
      ).bgp.ipv4Address.split('/')[0];
      assert.match(address!, /^127\.0\.1\.\d+$/);
      const at = routes.filter((r) => r.prefix === blockOf.get(n));
      assert.deepEqual(
        at.map((r) => r.protocol).sort(),
        ['reflector_0', 'reflector_1'],
        `${n}'s block from both reflectors`,
      );
      for (const r of at) {
        assert.equal(r.attributes['BGP.next_hop'], address, `${n}'s block has ${n} as next hop`);
        assert.equal(r.attributes['BGP.as_path'], '64512');
      }
      assert.match(
        cluster.output(),
        new RegExp(
          `switch: (learned|updated) ${blockOf.get(n)!.replace(/\./g, '\\.')} via ${address!.replace(/\./g, '\\.')} \\(${n}\\)`,
        ),
      );
    }
    const birdPid = Number(readFileSync(join(dataDir, 'switch/bird.pid'), 'utf8'));
    const running = processesUnder(dataDir);
    assert.ok(
      running.some((p) => p.startsWith(`${birdPid} `) && /\bbird -f/.test(p)),
      `BIRD runs: ${running.join('\n')}`,
    );
    assert.equal(
      running.filter((p) => / rr --credentials \S+ --node reflector-\d /.test(p)).length,
      2,
      `two reflectors run: ${running.join('\n')}`,
    );

    const applied = await meshless(address, 'apply', '-f', join(root, 'examples'));
    assert.match(applied, /Successfully applied \d+ /);
    const pools = await meshless(address, 'get', 'ippools', '-o', 'yaml');
    assert.match(pools, /apiVersion: projectcalico.org\/v3/);
    assert.match(pools, /kind: IPPool/);
    await waitFor(
      'agents showing the applied resources',
      () => /agent node-a1: revision \d+: .*\+IPPool\/default-ipv4-ippool/.test(cluster.output()),
      60_000,
    );
    assert.match(cluster.output(), /agent node-b1: revision \d+: .*\+IPPool\/default-ipv4-ippool/);
    // The examples give node-a1 the address 10.0.1.11 and replace the default BGPConfiguration
    // (listenPort 179): the reflectors keep their own node.<name> port, and the switch follows.
    const a1 = blockOf.get('node-a1')!.replace(/\./g, '\\.');
    await waitFor(
      "the switch following node-a1's new address",
      () =>
        new RegExp(`switch: updated ${a1} via 10\\.0\\.1\\.11 \\(node-a1\\) from reflector-0, reflector-1`).test(
          cluster.output(),
        ),
      60_000,
    );

    cluster.child.kill('SIGTERM');
    assert.equal(await cluster.exited, 0);
    assert.match(cluster.output(), /meshless stopped/);
    assert.deepEqual(
      processesUnder(dataDir),
      [],
      'no process of the cluster is left (BIRD, reflectors, agents, sync, NATS)',
    );
    assert.throws(() => process.kill(birdPid, 0), /ESRCH/);

    cluster = await startCluster(env);
    started.push(cluster);
    address = cluster.datastore;
    assert.equal(
      await meshless(address, 'get', 'ippools', '-o', 'yaml'),
      pools,
      'data survives a restart of the cluster',
    );
    await waitFor(
      "the switch holding every node's block again",
      () => /switch: holds every node's block/.test(cluster.output()),
      90_000,
    );
    cluster.child.kill('SIGTERM');
    assert.equal(await cluster.exited, 0);
    assert.deepEqual(processesUnder(dataDir), []);
  } finally {
    for (const c of started) {
      if (c.child.exitCode !== null) continue;
      c.child.kill('SIGTERM');
      await c.exited;
    }
    client?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
