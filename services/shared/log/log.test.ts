// Every service logs the same JSON shape: ISO time, level by name, component, the caller's bindings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
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
