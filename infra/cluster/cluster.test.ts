// The local cluster as a user meets it: `npm start`'s entry brings everything up and prints
// `meshless ready`; the CLI applies the examples and reads them back; SIGTERM stops every child;
// a second start finds the data again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort, waitFor } from '../../services/shared/testing/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const run = promisify(execFile);

interface Cluster {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

async function startCluster(env: Record<string, string>): Promise<Cluster> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'infra/cluster/main.ts')], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const deadline = Date.now() + 120_000;
  while (!out.includes('meshless ready')) {
    if (child.exitCode !== null) throw new Error(`cluster exited early:\n${out}`);
    if (Date.now() > deadline) throw new Error(`cluster not ready:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, output: () => out, exited };
}

async function meshless(address: string, ...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [join(root, 'bin/meshless.mjs'), '--datastore', address, ...args], { cwd: root });
  return stdout;
}

test('npm start brings the cluster up (NATS, datastore, sync, agents), serves the tour, shows agents receiving changes, stops cleanly and keeps its data', { timeout: 300_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'meshless-cluster-'));
  const address = `127.0.0.1:${await freePort()}`;
  const env = {
    MESHLESS_DATA_DIR: dataDir,
    MESHLESS_NATS_PORT: '0',
    MESHLESS_DATASTORE_LISTEN: address,
    MESHLESS_SYNC_LISTEN: `127.0.0.1:${await freePort()}`,
    MESHLESS_METRICS_BASE_PORT: String(await freePort()),
    MESHLESS_LOG_LEVEL: 'info',
  };
  try {
    let cluster = await startCluster(env);
    assert.match(cluster.output(), new RegExp(`datastore\\s+${address.replace(/\./g, '\\.')}`));

    const applied = await meshless(address, 'apply', '-f', join(root, 'examples'));
    assert.match(applied, /Successfully applied \d+ /);
    const pools = await meshless(address, 'get', 'ippools', '-o', 'yaml');
    assert.match(pools, /apiVersion: projectcalico.org\/v3/);
    assert.match(pools, /kind: IPPool/);
    await waitFor('agents showing the applied resources', () => /agent node-a1: revision \d+: .*\+IPPool\/default-ipv4-ippool/.test(cluster.output()), 60_000);
    assert.match(cluster.output(), /agent node-b1: revision \d+: .*\+IPPool\/default-ipv4-ippool/);

    cluster.child.kill('SIGTERM');
    assert.equal(await cluster.exited, 0);
    assert.match(cluster.output(), /meshless stopped/);

    cluster = await startCluster(env);
    assert.equal(await meshless(address, 'get', 'ippools', '-o', 'yaml'), pools, 'data survives a restart of the cluster');
    cluster.child.kill('SIGTERM');
    assert.equal(await cluster.exited, 0);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
