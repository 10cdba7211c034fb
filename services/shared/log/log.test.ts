// Every service logs the same JSON shape: ISO time, level by name, component, the caller's bindings;
// to stdout, or where MESHLESS_LOG_DEST or the caller says.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type StdioOptions } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../testing/index.js';
import { MAX_PENDING_BYTES } from './destination.js';

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

test('a stdout nobody reads never holds the event loop: SIGTERM still runs, lines beyond the bound are dropped', async () => {
  const index = fileURLToPath(new URL('./index.ts', import.meta.url));
  // As a service: a SIGTERM handler (which replaces the default exit), logging on a timer. It
  // reports on fd 3 how far it got, since its stdout is the pipe the test never reads.
  const script = `const { createLogger } = await import(${JSON.stringify(index)});
const { writeSync } = await import('node:fs');
const log = createLogger('sync');
process.on('SIGTERM', () => { writeSync(3, 'SIGTERM handled\\n'); process.exit(0); });
let n = 0;
setInterval(() => { for (let i = 0; i < 200; i++) log.info({ n: n++, pad: 'x'.repeat(200) }, 'filling'); writeSync(3, n + '\\n'); }, 5);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    env: { ...process.env, MESHLESS_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit', 'pipe'],
  });
  // Never read: the pipe fills and stays full.
  child.stdout!.pause();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let progress = '';
  child.stdio[3]!.on('data', (d: Buffer) => (progress += d.toString()));
  const lines = () =>
    Number(
      progress
        .trim()
        .split('\n')
        .filter((l) => /^\d+$/.test(l))
        .at(-1) ?? 0,
    );
  try {
    // Well past what the pipe and the stream's bound hold (~220 bytes a line): writes had to wait.
    const target = Math.ceil((MAX_PENDING_BYTES * 2) / 220);
    await waitFor(
      `${target} lines logged into an unread pipe`,
      () => lines() >= target || child.exitCode !== null,
      60_000,
    );
    child.kill('SIGTERM');
    const code = await Promise.race([exited, delay(60_000).then(() => 'still running after SIGTERM')]);
    assert.equal(code, 0, `progress: ${lines()} lines; ${progress.slice(-200)}`);
    assert.match(progress, /SIGTERM handled/);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
  }
});
