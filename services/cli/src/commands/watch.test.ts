import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { waitFor } from '../../../shared/testing/index.js';
import { cli, REPO_ROOT, startTestCluster, type TestCluster } from '../testing.js';

let cluster: TestCluster;
before(async () => {
  cluster = await startTestCluster();
});
after(async () => {
  await cluster.stop();
});

const pool = (name: string, cidr: string) =>
  `apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: ${name}}\nspec: {cidr: ${cidr}}\n`;

test('watch prints the current state, the in-sync line, then each change; SIGINT ends it with status 0', async () => {
  assert.equal(
    (await cli(['apply', '-f', '-', '--datastore', cluster.address], { stdin: pool('before', '10.10.0.0/16') })).code,
    0,
  );
  const child = spawn(
    process.execPath,
    [join(REPO_ROOT, 'bin', 'meshless.mjs'), 'watch', 'ippools', '--datastore', cluster.address],
    {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  try {
    await waitFor('the in-sync line', () => out.includes('-- in sync at revision'), 30_000);
    assert.match(out, /^\d+\s+PUT\s+IPPool before$/m);
    assert.equal(
      (await cli(['apply', '-f', '-', '--datastore', cluster.address], { stdin: pool('during', '10.11.0.0/16') })).code,
      0,
    );
    await waitFor('the new pool', () => /PUT\s+IPPool during/.test(out), 30_000);
    assert.equal((await cli(['delete', 'ippool', 'during', '--datastore', cluster.address])).code, 0);
    await waitFor('the deletion', () => /DELETE\s+IPPool during/.test(out), 30_000);
    const lines = out.trim().split('\n');
    assert.match(lines[0]!, /^REVISION\s+EVENT\s+KIND NAME$/);
    const revisions = lines.filter((l) => /^\d/.test(l)).map((l) => Number(l.split(/\s+/)[0]));
    assert.deepEqual(
      revisions,
      [...revisions].sort((a, b) => a - b),
      'revisions only go forward',
    );
  } finally {
    child.kill('SIGINT');
  }
  assert.equal(await exited, 0);
});

test('watch rejects a bad revision and an unknown kind with one line', async () => {
  const bad = await cli(['watch', '--revision', 'x', '--datastore', cluster.address]);
  assert.equal(bad.code, 1);
  assert.equal(bad.stderr, "meshless: --revision must be a non-negative integer, got 'x'\n");
  const unknown = await cli(['watch', 'frobs', '--datastore', cluster.address]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /^meshless: .*frobs.*\n$/);
});
