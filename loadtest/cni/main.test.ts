// bench:cni as users run it (the compiled build), on a tiny run: its datastore runs in the
// benchmark's own process, and even at log level info its stdout is the JSON result alone (the
// service's log lines go to stderr), so `npm run bench:cni | jq` works at any log level.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../services/shared/paths/index.js';
import { netnsSkipReason } from '../../services/testing/index.js';

test('bench:cni prints only its JSON result on stdout, its datastore logging to stderr', {
  skip: netnsSkipReason(),
  timeout: 240_000,
}, async () => {
  const { build } = (await import(join(PROJECT_ROOT, 'infra/build.mjs'))) as {
    build(o?: { quiet?: boolean }): Promise<void>;
  };
  await build({ quiet: true });
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'dist/loadtest/cni/main.js'), '--pods', '2'], {
    env: { ...process.env, MESHLESS_LOG_LEVEL: 'info', MESHLESS_LOG_DEST: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  assert.equal(code, 0, stderr);
  const lines = stdout.trim().split('\n');
  assert.equal(lines.length, 1, `one line on stdout, got:\n${stdout.slice(0, 2000)}`);
  const result = JSON.parse(lines[0]!) as { pods: number; add: unknown; del: unknown; leftHandles: number };
  assert.equal(result.pods, 2);
  assert.equal(result.leftHandles, 0);
  assert.match(stderr, /"component":"cni-lab"/, 'the datastore logged, to stderr');
});
