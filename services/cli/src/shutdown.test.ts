// Every service exits on SIGTERM within its shutdown deadline whatever its dependencies and its
// log reader do, and at once on a second signal (what operators expect of Calico/Typha). The case
// that once kept a `meshless sync --workers 2` up for 48 minutes: its nats-server gone and nobody
// reading its stdout (the log write held the event loop, so SIGTERM's handler never ran).
//
// Each service runs as `meshless <service>` with real dependencies: a nats-server, a datastore, a
// sync server. Its stdout is a FIFO the test stops reading and fills once the service is up; then
// every dependency is stopped (SIGSTOP: a wedged peer that keeps its sockets) and the service gets
// SIGTERM.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runEvery, startNatsServer, waitFor, type NatsServerHandle } from '../../shared/testing/index.js';
import { REPO_ROOT } from './testing.js';

const MESHLESS = join(REPO_ROOT, 'bin', 'meshless.mjs');
/** Generous bound on a stop: the longest shutdown deadline here (10 s) plus a loaded machine. */
const EXIT_WAIT_MS = 60_000;

interface Service {
  readonly name: string;
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The log lines read so far (JSON). */
  readonly lines: Array<Record<string, unknown>>;
  /** The end of what it wrote on stderr (why it failed to start). */
  stderr(): string;
  /** Stops reading stdout and fills the pipe: every further write finds it full. */
  stall(): void;
  close(): void;
}

const dir = mkdtempSync(join(tmpdir(), 'meshless-shutdown-'));
let fifoCount = 0;

/** `meshless <args>` with its stdout on a FIFO read here until stall(). */
function startService(name: string, args: string[], env: Record<string, string> = {}): Service {
  const fifo = join(dir, `stdout-${++fifoCount}`);
  execFileSync('mkfifo', [fifo]);
  // The read end first (non-blocking, so no writer is needed yet); the service's end blocking, as a
  // supervisor's pipe is; a non-blocking end of our own to fill the pipe with.
  const readFd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const serviceFd = openSync(fifo, constants.O_WRONLY);
  const fillFd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
  const child = spawn(process.execPath, [MESHLESS, ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, MESHLESS_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', serviceFd, 'pipe'],
  });
  closeSync(serviceFd);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      if (reading) readAvailable();
      resolve({ code, signal });
    }),
  );
  const lines: Array<Record<string, unknown>> = [];
  let buffered = '';
  let reading = true;
  const buf = Buffer.alloc(65536);
  // Everything the service has written so far, read and parsed (also once more after it exits:
  // its last lines may still be in the FIFO when the exit is seen).
  const readAvailable = (): void => {
    for (;;) {
      let n = 0;
      try {
        n = readSync(readFd, buf);
      } catch {
        break; // EAGAIN: nothing more now
      }
      if (n === 0) break;
      buffered += buf.subarray(0, n).toString();
    }
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const text = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      try {
        lines.push(JSON.parse(text) as Record<string, unknown>);
      } catch {
        // not a log line
      }
    }
  };
  const poll = setInterval(() => {
    if (reading) readAvailable();
  }, 20);
  let closed = false;
  return {
    name,
    child,
    exited,
    lines,
    stderr: () => stderr,
    stall() {
      reading = false;
      const junk = Buffer.alloc(4096, 0x20);
      for (;;) {
        try {
          writeSync(fillFd, junk);
        } catch {
          break; // EAGAIN: full
        }
      }
    },
    close() {
      if (closed) return;
      closed = true;
      clearInterval(poll);
      // SIGKILL ends a stopped process too.
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      closeSync(readFd);
      closeSync(fillFd);
    },
  };
}

async function logged(s: Service, msg: string): Promise<Record<string, unknown>> {
  let found: Record<string, unknown> | undefined;
  await waitFor(
    `${s.name} to log '${msg}'`,
    () => (found = s.lines.find((l) => l.msg === msg)) !== undefined || s.child.exitCode !== null,
    60_000,
  );
  assert.ok(found, `${s.name} exited before logging '${msg}': ${s.stderr()}`);
  return found;
}

async function exitsWithin(s: Service, what: string): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const timeout = new Promise<'running'>((resolve) => setTimeout(() => resolve('running'), EXIT_WAIT_MS).unref());
  const result = await Promise.race([s.exited, timeout]);
  assert.notEqual(result, 'running', `${s.name} still running ${EXIT_WAIT_MS} ms after ${what}`);
  return result as { code: number | null; signal: NodeJS.Signals | null };
}

let nats: NatsServerHandle;
let datastore: Service;
let sync: Service;
let datastoreAddress = '';
let syncAddress = '';
const services: Service[] = [];

before(async () => {
  nats = await startNatsServer();
  datastore = startService('datastore', datastoreArgs());
  services.push(datastore);
  datastoreAddress = String((await logged(datastore, 'datastore serving')).address);
  sync = startService('sync', syncArgs(1, 'dep'));
  services.push(sync);
  syncAddress = String((await logged(sync, 'sync server listening')).address);
});

after(() =>
  // Whatever failed: continue the stopped dependencies, then stop everything.
  runEvery('teardown', [
    () => nats.signal('SIGCONT'),
    ...services.map((s) => () => s.close()),
    () => Promise.all(services.map((s) => s.exited)),
    () => nats.stop(),
    () => rmSync(dir, { recursive: true, force: true }),
  ]),
);

/** `meshless <service>` on NATS, plain text, every address and port its own to pick (port 0). */
const onNats = (service: 'datastore' | 'sync') => [
  service,
  '--insecure',
  '--listen',
  '127.0.0.1:0',
  '--nats',
  nats.url,
  '--metrics-port',
  '0',
];
const datastoreArgs = () => onNats('datastore');
const syncArgs = (workers: number, id: string) => [
  ...onNats('sync'),
  '--workers',
  String(workers),
  '--server-id',
  id,
  '--state-dir',
  join(dir, `sync-${id}`),
];

interface Case {
  name: string;
  args: () => string[];
  env?: () => Record<string, string>;
  ready: string;
  /** The processes it depends on, stopped while it shuts down. */
  dependencies: () => Service[];
}

const CASES: Case[] = [
  {
    name: 'datastore',
    args: datastoreArgs,
    ready: 'datastore serving',
    dependencies: () => [],
  },
  { name: 'sync --workers 1', args: () => syncArgs(1, 'w1'), ready: 'sync server listening', dependencies: () => [] },
  { name: 'sync --workers 2', args: () => syncArgs(2, 'w2'), ready: 'sync server listening', dependencies: () => [] },
  {
    name: 'agent',
    args: () => [
      'agent',
      '--node',
      'node-1',
      '--sync',
      syncAddress,
      '--state-dir',
      join(dir, 'agent'),
      '--metrics-port',
      '0',
    ],
    ready: 'agent started',
    dependencies: () => [sync],
  },
  {
    name: 'rr',
    args: () => [
      'rr',
      '--insecure',
      '--node',
      'rr-1',
      '--sync',
      syncAddress,
      '--admin',
      'none',
      '--data-dir',
      join(dir, 'rr'),
    ],
    env: () => ({ MESHLESS_DATASTORE: datastoreAddress }),
    ready: 'route reflector started; waiting for the datastore view',
    dependencies: () => [sync, datastore],
  },
];

for (const c of CASES) {
  test(`${c.name}: SIGTERM with its dependencies stopped and its stdout unread: it exits`, async () => {
    const s = startService(c.name, c.args(), c.env?.());
    services.push(s);
    await logged(s, c.ready);
    const deps = c.dependencies();
    s.stall();
    nats.signal('SIGSTOP');
    for (const d of deps) d.child.kill('SIGSTOP');
    try {
      s.child.kill('SIGTERM');
      const { signal } = await exitsWithin(s, 'SIGTERM');
      assert.equal(signal, null, 'it exited by itself, not by a signal');
    } finally {
      for (const d of deps) d.child.kill('SIGCONT');
      nats.signal('SIGCONT');
      s.close();
    }
  });

  test(`${c.name}: a second SIGTERM during a stuck shutdown exits at once, status 1`, async () => {
    const s = startService(c.name, c.args(), c.env?.());
    services.push(s);
    await logged(s, c.ready);
    const deps = c.dependencies();
    nats.signal('SIGSTOP');
    for (const d of deps) d.child.kill('SIGSTOP');
    try {
      s.child.kill('SIGTERM');
      await logged(s, 'shutting down');
      s.child.kill('SIGTERM');
      const { code } = await exitsWithin(s, 'the second SIGTERM');
      // Unless the first shutdown happened to finish between the two signals, the second ended it.
      if (!s.lines.some((l) => l.msg === 'stopped')) {
        assert.equal(code, 1);
        await waitFor('the second signal logged', () => s.lines.some((l) => l.msg === 'second signal: exiting now'));
        assert.ok(!s.lines.some((l) => l.msg === 'shutdown timed out'), 'ended by the second signal, not the deadline');
      }
    } finally {
      for (const d of deps) d.child.kill('SIGCONT');
      nats.signal('SIGCONT');
      s.close();
    }
  });
}
