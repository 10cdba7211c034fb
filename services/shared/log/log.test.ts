// Every service logs the same JSON shape: ISO time, level by name, component, the caller's bindings;
// to stdout, or where MESHLESS_LOG_DEST or the caller says.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type StdioOptions } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

test('log lines are JSON with an ISO time, a level name and the component', () => {
  const index = fileURLToPath(new URL('./index.ts', import.meta.url));
  const script = `const { createLogger } = await import(${JSON.stringify(index)});
createLogger('sync', { node: 'node-1' }).child({ revision: 42 }).info({ peer: '10.0.0.1' }, 'in sync');`;
  const out = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, MESHLESS_LOG_LEVEL: 'info' },
  });
  assert.equal(out.status, 0, out.stderr);
  const line = JSON.parse(out.stdout.trim()) as Record<string, unknown>;
  assert.match(String(line.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(line.level, 'info');
  assert.equal(line.component, 'sync');
  assert.equal(line.node, 'node-1');
  assert.equal(line.revision, 42);
  assert.equal(line.peer, '10.0.0.1');
  assert.equal(line.msg, 'in sync');
  assert.equal(line.trace_id, undefined, 'no trace id while tracing is off');
});

test('a part of a service names itself as subsystem: one component per line', () => {
  const index = fileURLToPath(new URL('./index.ts', import.meta.url));
  const script = `const { createLogger } = await import(${JSON.stringify(index)});
createLogger('datastore').child({ subsystem: 'ipam' }).info('block allocated');`;
  const out = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, MESHLESS_LOG_LEVEL: 'info' },
  });
  assert.equal(out.status, 0, out.stderr);
  const raw = out.stdout.trim();
  assert.equal(raw.match(/"component":/g)?.length, 1, raw);
  const line = JSON.parse(raw) as Record<string, unknown>;
  assert.equal(line.component, 'datastore');
  assert.equal(line.subsystem, 'ipam');
});

test("the destination: MESHLESS_LOG_DEST=stderr or a file descriptor, or the caller's own for its process", () => {
  const index = fileURLToPath(new URL('./index.ts', import.meta.url));
  const run = (script: string, env: Record<string, string>, stdio: StdioOptions = 'pipe') =>
    spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      env: { ...process.env, MESHLESS_LOG_LEVEL: 'info', ...env },
      stdio,
    });
  const logs = `const { createLogger } = await import(${JSON.stringify(index)});
createLogger('sync').info('to the destination');
process.stdout.write('{"result":1}\\n');`;
  const msgs = (text: string) =>
    text
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { msg?: string }).msg);

  const toStdout = run(logs, { MESHLESS_LOG_DEST: '' });
  assert.deepEqual(msgs(toStdout.stdout), ['to the destination', undefined], 'stdout by default');

  const toStderr = run(logs, { MESHLESS_LOG_DEST: 'stderr' });
  assert.equal(toStderr.status, 0, toStderr.stderr);
  assert.equal(toStderr.stdout, '{"result":1}\n', 'stdout keeps only what the program writes');
  assert.deepEqual(msgs(toStderr.stderr), ['to the destination']);

  const dir = mkdtempSync(join(tmpdir(), 'log-dest-'));
  try {
    const file = join(dir, 'service.log');
    const fd = openSync(file, 'w');
    try {
      const toFd = run(logs, { MESHLESS_LOG_DEST: '3' }, ['ignore', 'pipe', 'pipe', fd]);
      assert.equal(toFd.status, 0, toFd.stderr);
      assert.equal(toFd.stdout, '{"result":1}\n');
      assert.deepEqual(msgs(readFileSync(file, 'utf8')), ['to the destination'], 'fd 3');
    } finally {
      closeSync(fd);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const own = run(
    `const { createLogger } = await import(${JSON.stringify(index)});
createLogger('bench', {}, { destination: 'stderr' }).info('the caller chose');`,
    { MESHLESS_LOG_DEST: 'stdout' },
  );
  assert.equal(own.stdout, '');
  assert.deepEqual(msgs(own.stderr), ['the caller chose'], "the caller's destination wins over the variable");

  const bad = run(logs, { MESHLESS_LOG_DEST: 'syslog' });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /MESHLESS_LOG_DEST: 'syslog' is not stdout, stderr or a file descriptor number/);
});
