// `meshless datastore` as an operator runs it: a child process serving the API on a real
// nats-server, used by the resource commands, stopped cleanly by SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNatsServer, waitFor } from '../../shared/testing/index.js';
import { cli, cliProcess, REPO_ROOT } from './testing.js';

test('meshless datastore serves mutual TLS until SIGTERM, then exits 0; certs made by meshless certs', async () => {
  const pki = mkdtempSync(join(tmpdir(), 'meshless-pki-'));
  const caEnv = { MESHLESS_CA_DIR: join(pki, 'ca') };
  for (const args of [
    ['certs', 'init'],
    ['certs', 'issue', '--role', 'datastore', '--node', 'datastore-0', '--out', join(pki, 'datastore')],
    ['certs', 'issue', '--role', 'admin', '--node', 'alice', '--out', join(pki, 'admin')],
  ]) {
    const r = await cliProcess(args, { env: caEnv });
    assert.equal(r.code, 0, r.stderr);
  }
  const nats = await startNatsServer();
  const child = spawn(
    process.execPath,
    [
      join(REPO_ROOT, 'bin', 'meshless.mjs'),
      'datastore',
      '--credentials',
      join(pki, 'datastore'),
      '--listen',
      '127.0.0.1:0',
      '--nats',
      nats.url,
      // No metrics endpoint: the datastore serves without one, as the agent and sync server can.
      '--metrics-port',
      '-1',
    ],
    {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH, MESHLESS_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    let address = '';
    await waitFor(
      'the datastore to log "datastore serving"',
      () => {
        for (const line of stdout.split('\n')) {
          if (!line.startsWith('{')) continue;
          const entry = JSON.parse(line) as { msg?: string; address?: string };
          if (entry.msg === 'datastore serving' && entry.address) address = entry.address;
        }
        return address !== '' || child.exitCode !== null;
      },
      60_000,
    );
    assert.notEqual(address, '', `the datastore did not start: ${stderr}`);
    const plain = await cli(['get', 'profiles'], { env: { MESHLESS_DATASTORE: address } });
    assert.equal(plain.code, 1, 'a client without credentials is refused');
    const env = { MESHLESS_DATASTORE: address, MESHLESS_CREDENTIALS: join(pki, 'admin') };
    const applied = await cli(['apply', '-f', '-'], {
      env,
      stdin: 'apiVersion: projectcalico.org/v3\nkind: Profile\nmetadata: {name: svc}\nspec: {}\n',
    });
    assert.deepEqual(applied, { code: 0, stdout: "Successfully applied 1 'Profile' resource(s)\n", stderr: '' });
    assert.equal((await cli(['get', 'profiles'], { env })).stdout, 'NAME\nsvc\n\n');
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.match(stdout, /"msg":"stopped"/);
    assert.match(stdout, /"msg":"serving mutual TLS"/);
    assert.equal(stderr, '');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
    await nats.stop();
    rmSync(pki, { recursive: true, force: true });
  }
});

test('meshless datastore and sync: a bad flag or config file is one line and exit 1', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshless-svc-'));
  try {
    const config = join(dir, 'datastore.yaml');
    writeFileSync(config, 'listen: 127.0.0.1:0\ncolour: blue\n');
    const bad = await cliProcess(['datastore', '--config', config]);
    assert.equal(bad.code, 1);
    assert.match(
      bad.stderr,
      /^meshless: datastore: config file .*datastore\.yaml: unknown parameter 'colour' \(known: credentials, insecure, natsCredentials, tlsRefresh, listen, nats, /,
    );
    assert.equal(bad.stderr.split('\n').length, 2);
    const port = await cli(['datastore', '--metrics-port', 'ninety']);
    assert.deepEqual(port, {
      code: 1,
      stdout: '',
      stderr: 'meshless: datastore: invalid metricsPort from command line: must be an integer, got "ninety"\n',
    });
    assert.deepEqual(await cli(['datastore', '--metrics-port', '-2']), {
      code: 1,
      stdout: '',
      stderr:
        'meshless: datastore: invalid metricsPort from command line: must be a port number 0-65535 or -1 (off), got -2\n',
    });
    // The sync server's worker count: a number of processes, 0 meaning one per core.
    assert.deepEqual(await cli(['sync', '--workers', 'abc']), {
      code: 1,
      stdout: '',
      stderr: 'meshless: sync: invalid workers from command line: must be an integer, got "abc"\n',
    });
    assert.deepEqual(await cli(['sync', '--workers', '-2']), {
      code: 1,
      stdout: '',
      stderr: 'meshless: sync: invalid workers from command line: must be 0 or more, got -2\n',
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
