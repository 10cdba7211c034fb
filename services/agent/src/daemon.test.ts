import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../shared/config/index.js';
import { agentConfigSpec } from './daemon.js';

test('the agent configuration: a node is required, endpoints are HOST:PORT', () => {
  const c = loadConfig(agentConfigSpec, {
    env: { MESHLESS_NODE: 'node-1', MESHLESS_SYNC: '10.0.0.7:5473, 10.0.0.8:5473' },
  });
  assert.deepEqual(c.sync, ['10.0.0.7:5473', '10.0.0.8:5473']);
  assert.equal(c.syncer, 'agent');
  const bad: Array<[Record<string, string>, RegExp]> = [
    [{}, /invalid node from default: required: the name of this node/],
    [{ MESHLESS_NODE: 'Node_1' }, /invalid node .*'Node_1' is not a valid node name/],
    [{ MESHLESS_NODE: 'n1', MESHLESS_SYNC: 'nohost' }, /invalid sync .*must be HOST:PORT, got 'nohost'/],
    [{ MESHLESS_NODE: 'n1', MESHLESS_SYNCER: 'felix' }, /invalid syncer .*must be one of agent, bgp/],
  ];
  for (const [env, message] of bad)
    assert.throws(
      () => loadConfig(agentConfigSpec, { env }),
      (err: unknown) => err instanceof ConfigError && message.test(err.message),
      JSON.stringify(env),
    );
});

test('an agent whose state directory is unusable exits non-zero with the reason (no live-looking process)', async () => {
  const { spawnSync } = await import('node:child_process');
  const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { fileURLToPath } = await import('node:url');
  const dir = mkdtempSync(join(tmpdir(), 'meshless-agent-state-'));
  try {
    // A file where the state directory should be: ENOTDIR whoever runs the test.
    writeFileSync(join(dir, 'state'), '');
    const bin = fileURLToPath(new URL('../../../bin/meshless.mjs', import.meta.url));
    const run = spawnSync(
      process.execPath,
      [bin, 'agent', '--node', 'n1', '--sync', '127.0.0.1:1', '--state-dir', join(dir, 'state'), '--metrics-port', '0'],
      {
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    assert.equal(run.status, 1, `exit status (stderr: ${run.stderr})`);
    assert.match(run.stderr, /state directory .*state\/n1 is not usable: a path component is not a directory/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("an agent whose certificate does not name its --node stops at start, naming the certificate's names and the node", async () => {
  const { spawnSync } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const { createTestPki } = await import('../../shared/testing/index.js');
  const { checkAgentCertificate } = await import('./daemon.js');
  const pki = await createTestPki();
  try {
    const other = await pki.issue('node', 'node-b');
    const reflector = await pki.issue('reflector', 'node-a');
    // As users run it: the process exits 1 at once with the reason, no retrying stream.
    const bin = fileURLToPath(new URL('../../../bin/meshless.mjs', import.meta.url));
    const run = spawnSync(
      process.execPath,
      [
        bin,
        'agent',
        '--node',
        'node-a',
        '--credentials',
        other,
        '--sync',
        '127.0.0.1:1',
        '--state-dir',
        '',
        '--metrics-port',
        '0',
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    assert.equal(run.status, 1, `exit status (stderr: ${run.stderr})`);
    assert.match(
      run.stderr,
      /tls\.crt: names node 'node-b' \(URI:meshless:\/\/node\/node-b; CN node-b\), but --node is 'node-a'; the sync server would refuse every stream \(meshless certs issue --role node --node node-a\)/,
    );
    assert.throws(
      () => checkAgentCertificate(reflector, 'node-a', 'agent'),
      /is a 'reflector' certificate \(URI:meshless:\/\/reflector\/node-a; CN node-a\); following the agent view of --node 'node-a' needs a 'node' one/,
    );
    // What may follow node-a: its own certificate, a reflector's for the bgp view, an admin's.
    checkAgentCertificate(await pki.issue('node', 'node-a'), 'node-a', 'agent');
    checkAgentCertificate(reflector, 'node-a', 'bgp');
    checkAgentCertificate(await pki.issue('admin', 'alice'), 'node-a', 'agent');
  } finally {
    pki.remove();
  }
});
