// The lab leaves nothing running, whatever happens to the test that built it: a failed subtest
// with a teardown step that throws (the rest of the teardown still runs), and a test process
// killed outright, where no teardown runs at all (its processes die with it). Each case runs
// cleanup.fixture.ts as a test file of its own, with the real topology, BIRD and nats-server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { netnsSkipReason } from '../../testing/index.js';
import { waitFor } from '../../shared/testing/index.js';

const fixture = join(dirname(fileURLToPath(import.meta.url)), 'cleanup.fixture.ts');
const skip = netnsSkipReason();

interface Started {
  /** The test file's process (the runner runs each file in a child). */
  self: number;
  /** What the lab started in it: nats-server and BIRD. */
  lab: number[];
}

/** Alive: in /proc and not a zombie (a reparented child may wait to be reaped). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Runs the fixture in `mode` as a test file of its own, in a scratch directory. */
function startFixture(mode: string) {
  const dir = mkdtempSync(join(tmpdir(), 'lab-cleanup-'));
  const pidsFile = join(dir, 'pids');
  // A runner of its own: without the variable that makes a file report to this file's runner.
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', fixture], {
    env: { ...env, LAB_CLEANUP_MODE: mode, LAB_CLEANUP_PIDS: pidsFile },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return {
    child,
    pidsFile,
    output: () => out,
    exited: new Promise<number | null>((r) => child.once('exit', r)),
    started: () => JSON.parse(readFileSync(pidsFile, 'utf8')) as Started,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Namespaces a test process left (their names carry its PID), deleted; returns how many. */
function deleteNamespacesOf(pid: number): number {
  const names = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n.startsWith('cu') && n.includes(`-${pid}-`));
  for (const n of names) execFileSync('ip', ['netns', 'delete', n]);
  return names.length;
}

test('a failed subtest whose teardown step throws leaves no lab process running', {
  skip,
  timeout: 120_000,
}, async () => {
  const run = startFixture('fail');
  const code = await run.exited;
  const out = run.output();
  try {
    assert.equal(code, 1, out);
    assert.match(out, /this subtest fails on purpose/);
    assert.match(out, /fixture teardown: 1 step\(s\) failed \(every step ran\): a teardown step failed/);
    const { self, lab } = run.started();
    assert.equal(lab.length, 2);
    assert.deepEqual(lab.filter(alive), [], 'nats-server and BIRD stopped');
    assert.equal(deleteNamespacesOf(self), 0, 'the namespaces deleted');
  } finally {
    run.remove();
  }
});

test('a test process killed outright takes the lab processes with it', { skip, timeout: 120_000 }, async () => {
  const run = startFixture('hang');
  let pids: number[] = [];
  try {
    await waitFor('the fixture running its lab', () => existsSync(run.pidsFile), 60_000);
    const { self, lab } = run.started();
    pids = lab;
    assert.ok(pids.every(alive), `both processes run: ${run.output()}`);
    // The test file's process (the runner's child) is killed: no after hook, no exit handler runs.
    process.kill(self, 'SIGKILL');
    await run.exited;
    await waitFor('nats-server and BIRD gone with the test process', () => pids.every((p) => !alive(p)), 15_000);
    deleteNamespacesOf(self);
  } finally {
    for (const p of pids.filter(alive)) process.kill(p, 'SIGKILL');
    run.child.kill('SIGKILL');
    run.remove();
  }
});
