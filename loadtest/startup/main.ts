// Start-up cost of `meshless` processes: what a CLI command, a service and the local cluster cost
// before they do useful work, for the compiled build (dist/) and, in the same run, for the
// TypeScript sources through tsx (MESHLESS_FROM_SOURCE=1, how every process ran before the build).
//
//   npm run bench:startup -- [--runs N] [--service-runs N] [--modes dist,source] [--cluster] [--json]
//
// Measured (CPU-seconds are user + system of the process, the stable figure on a shared machine):
//   cli.help        `meshless --help`: CPU-s and wall, median of N runs (bash `times` of the child)
//   cli.get         `meshless get nodes` against a running datastore: the same
//   service.<name>  datastore, sync, agent, rr (datastore mode): CPU-s used and wall time from
//                   spawn until /readyz answers 200 (median of --service-runs starts), then RSS
//                   after 5 s idle (/proc); each with the V8 flags it is deployed with (rr:
//                   RR_NODE_FLAGS)
//   cluster         (--cluster) `npm start`'s program: wall time and CPU-s until `meshless ready`
// The last line of stdout is one JSON object with every figure and the load average. Progress goes
// to stderr; --report FILE.html adds the figures and every service's CPU and memory over time.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { MESHLESS_BIN, PROJECT_ROOT } from '../../services/shared/paths/index.js';
import { insecureSyncArgs } from '../../services/sync/testing.js';
import { RR_NODE_FLAGS } from '../../services/rr/index.js';
import {
  freePort,
  httpOk,
  startNatsServer,
  waitFor,
  type NatsServerHandle,
} from '../../services/shared/testing/index.js';
import { benchArgs } from '../args.js';
import { BenchRun, descendants, type Cell } from '../report/index.js';
import { cpuSeconds, rssBytes } from '../fanout/proc.js';

const HELP = `Start-up cost of meshless processes (compiled build and TypeScript sources side by side).

Usage: npm run bench:startup -- [options]
  --runs N          CLI runs per figure; the median is reported (default 5)
  --modes LIST      dist, source or both, comma-separated (default dist,source)
  --service-runs N  starts per service; CPU-s and wall to ready are the medians (default 1)
  --cluster         also time the local cluster (npm start's program) to "meshless ready"
  --json            print only the JSON result line on stdout
  -h, --help        this help
`;

type Mode = 'dist' | 'source';

function options() {
  const args = benchArgs('bench:startup', HELP, {
    runs: { type: 'string', default: '5' },
    modes: { type: 'string', default: 'dist,source' },
    'service-runs': { type: 'string', default: '1' },
    cluster: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  });
  const modes = args.values.modes.split(',').map((m) => m.trim());
  for (const m of modes)
    if (m !== 'dist' && m !== 'source') args.fail(`--modes: expected dist and/or source, got '${m}'`);
  return {
    runs: args.int('runs', 1),
    serviceRuns: args.int('service-runs', 1),
    modes: modes as Mode[],
    cluster: args.values.cluster,
    json: args.values.json,
    report: args.report,
  };
}

const opts = options();
const run = new BenchRun('bench:startup', { reportPath: opts.report });
const say = (s: string) => run.log(s);
const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function envFor(mode: Mode): NodeJS.ProcessEnv {
  return { ...process.env, MESHLESS_FROM_SOURCE: mode === 'source' ? '1' : '0', MESHLESS_LOG_LEVEL: 'warn' };
}

/** Runs `meshless ARGS` to completion; CPU-s from bash's `times` (the child's user + system). */
async function timeCli(mode: Mode, args: string[]): Promise<{ cpu: number; wall: number }> {
  const script = '"$@" >/dev/null 2>&1; s=$?; times; exit $s';
  const started = performance.now();
  const child = spawn('bash', ['-c', script, 'bash', process.execPath, MESHLESS_BIN, ...args], {
    env: envFor(mode),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((res) => child.once('exit', res));
  const wall = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`meshless ${args.join(' ')} (${mode}) exited with ${code}`);
  // `times` prints the shell's own user/system, then its children's: "0m0.160s 0m0.050s".
  const children = out.trim().split('\n').at(-1)!;
  const secs = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  return { cpu: round(secs[0]! + secs[1]!), wall: round(wall) };
}

async function cliFigure(mode: Mode, args: string[]) {
  const samples = [];
  const phase = run.console.phase(
    `${mode}: meshless ${args.includes('get') ? args.slice(args.indexOf('get')).join(' ') : args.join(' ')}`,
    { total: opts.runs, unit: 'runs' },
  );
  for (let i = 0; i < opts.runs; i++) {
    samples.push(await timeCli(mode, args));
    phase.update(i + 1);
  }
  phase.end(null);
  return {
    cpuSeconds: median(samples.map((s) => s.cpu)),
    wallSeconds: median(samples.map((s) => s.wall)),
    runs: samples.length,
  };
}

interface Started {
  child: ChildProcess;
  cpuSecondsToReady: number;
  wallSecondsToReady: number;
}

/**
 * V8 flags a service is deployed with (k8s manifests, the cluster launcher): the reflector's 2 MB
 * semi-spaces (RR_NODE_FLAGS). Its idle RSS is measured as it runs, not with Node's defaults.
 */
function nodeFlagsFor(service: string): readonly string[] {
  return service === 'rr' ? RR_NODE_FLAGS : [];
}

/** Spawns a service and waits for its /readyz; the CPU it used by then is its start-up cost. */
async function startService(mode: Mode, args: string[], metricsPort: number): Promise<Started> {
  const started = performance.now();
  const argv = [...nodeFlagsFor(args[0]!), MESHLESS_BIN, ...args, '--metrics-port', String(metricsPort)];
  const child = spawn(process.execPath, argv, {
    env: envFor(mode),
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`meshless ${args[0]} exited with ${code} before it was ready`))),
  );
  exited.catch(() => undefined);
  let cpu = 0;
  await Promise.race([
    waitFor(
      `meshless ${args[0]} /readyz`,
      async () => {
        if (!(await httpOk(`http://127.0.0.1:${metricsPort}/readyz`, 500))) return false;
        cpu = cpuSeconds(child.pid!);
        return true;
      },
      120_000,
      10,
    ),
    exited,
  ]).catch((err: unknown) => {
    // Never leave it behind: an orphan keeps its ports (a reflector's BGP port is fixed) and
    // every later start of the same service would fail on them.
    child.kill('SIGKILL');
    throw err;
  });
  return { child, cpuSecondsToReady: round(cpu, 2), wallSecondsToReady: round((performance.now() - started) / 1000) };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((res) => child.once('exit', res));
  child.kill('SIGTERM');
  await Promise.race([gone, new Promise((res) => setTimeout(res, 10_000))]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

const RR_NODE = (name: string) => `apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: ${name}}
spec: {bgp: {ipv4Address: 127.0.0.41/32, routeReflectorClusterID: 224.0.0.1}}
`;

async function applyYaml(mode: Mode, datastore: string, yaml: string): Promise<void> {
  const child = spawn(
    process.execPath,
    [MESHLESS_BIN, '--credentials', 'none', '--datastore', datastore, 'apply', '-f', '-'],
    { env: envFor(mode), stdio: ['pipe', 'ignore', 'inherit'] },
  );
  child.stdin!.end(yaml);
  const code = await new Promise((res) => child.once('exit', res));
  if (code !== 0) throw new Error(`meshless apply exited with ${code}`);
}

/** Every figure for one mode, on its own NATS server and state directories. */
async function measureMode(mode: Mode, nats: NatsServerHandle) {
  const dir = mkdtempSync(join(tmpdir(), `meshless-startup-${mode}-`));
  const running: ChildProcess[] = [];
  const services: Record<
    string,
    { cpuSecondsToReady: number; wallSecondsToReady: number; idleRssMB: number; runs: number }
  > = {};
  try {
    say(`${mode}: meshless --help x${opts.runs}`);
    const help = await cliFigure(mode, ['--help']);

    const datastore = `127.0.0.1:${await freePort()}`;
    const sync = `127.0.0.1:${await freePort()}`;
    const launches: Array<[name: string, args: string[]]> = [
      ['datastore', ['datastore', '--insecure', '--listen', datastore, '--nats', nats.url]],
      [
        'sync',
        insecureSyncArgs({ listen: sync, nats: nats.url, stateDir: join(dir, 'sync'), serverId: `startup-${mode}` }),
      ],
      ['agent', ['agent', '--node', 'startup-node', '--sync', sync, '--state-dir', join(dir, 'agent')]],
      [
        'rr',
        [
          'rr',
          '--insecure',
          '--node',
          'startup-rr',
          '--sync',
          sync,
          '--datastore',
          datastore,
          '--admin',
          `127.0.0.1:${await freePort()}`,
          '--data-dir',
          join(dir, 'rr'),
        ],
      ],
    ];
    const started: Array<[string, Started]> = [];
    for (const [name, args] of launches) {
      if (name === 'rr') await applyYaml(mode, datastore, RR_NODE('startup-rr'));
      say(`${mode}: starting ${name} x${opts.serviceRuns}`);
      // --service-runs N: N-1 starts stopped once ready, then the one that stays up for the idle
      // figures; the CPU-s and wall time to ready are the medians of all N.
      const earlier: Started[] = [];
      for (let i = 1; i < opts.serviceRuns; i++) {
        const e = await startService(mode, args, await freePort());
        await stop(e.child);
        earlier.push(e);
      }
      const last = await startService(mode, args, await freePort());
      const all = [...earlier, last];
      const s: Started = {
        child: last.child,
        cpuSecondsToReady: median(all.map((x) => x.cpuSecondsToReady)),
        wallSecondsToReady: median(all.map((x) => x.wallSecondsToReady)),
      };
      run.sampler.watch(`${mode}: ${name}`, s.child.pid!);
      running.push(s.child);
      started.push([name, s]);
    }
    say(`${mode}: meshless get nodes x${opts.runs}`);
    const get = await cliFigure(mode, ['--credentials', 'none', '--datastore', datastore, 'get', 'nodes']);
    // Idle: five seconds with nothing to do, then what each process holds.
    await new Promise((res) => setTimeout(res, 5000));
    for (const [name, s] of started) {
      services[name] = {
        cpuSecondsToReady: s.cpuSecondsToReady,
        wallSecondsToReady: s.wallSecondsToReady,
        idleRssMB: round(rssBytes(s.child.pid!) / 2 ** 20, 1),
        runs: opts.serviceRuns,
      };
    }
    return { cli: { help, getNodes: get }, services };
  } finally {
    for (const child of running.reverse()) await stop(child);
    for (const name of ['datastore', 'sync', 'agent', 'rr']) run.sampler.unwatch(`${mode}: ${name}`);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `npm start`'s program (infra/cluster) on a fresh data directory: until it prints `meshless ready`. */
async function measureCluster(mode: Mode) {
  const dir = mkdtempSync(join(tmpdir(), `meshless-startup-cluster-${mode}-`));
  const script =
    mode === 'dist'
      ? [join(PROJECT_ROOT, 'dist/infra/cluster/main.js')]
      : ['--import', 'tsx', join(PROJECT_ROOT, 'infra/cluster/main.ts')];
  const env = {
    ...envFor(mode),
    MESHLESS_DATA_DIR: dir,
    MESHLESS_NATS_PORT: '0',
    MESHLESS_DATASTORE_LISTEN: `127.0.0.1:${await freePort()}`,
    MESHLESS_SYNC_LISTEN: `127.0.0.1:${await freePort()}`,
    MESHLESS_METRICS_BASE_PORT: String(await freePort()),
    MESHLESS_BGP_PORT: '0',
    MESHLESS_SWITCH_PORT: '0',
    MESHLESS_RR_ADMIN_BASE_PORT: String(await freePort()),
  };
  const started = performance.now();
  const child = spawn(process.execPath, script, {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
    cwd: PROJECT_ROOT,
    detached: true,
  });
  run.sampler.watch(`${mode}: local cluster (every process)`, () => [child.pid!, ...descendants(child.pid!)]);
  const phase = run.console.phase(`${mode}: local cluster to "meshless ready"`);
  let out = '';
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('meshless ready')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`the local cluster exited with ${code}:\n${out.slice(-2000)}`)));
    });
    return { secondsToReady: round((performance.now() - started) / 1000, 2) };
  } finally {
    phase.end(null);
    const gone = new Promise((res) => child.once('exit', res));
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch (err) {
      // The cluster already stopped (a process of it failed): its exit is the error above.
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
    await Promise.race([gone, new Promise((res) => setTimeout(res, 20_000))]);
    run.sampler.unwatch(`${mode}: local cluster (every process)`);
    rmSync(dir, { recursive: true, force: true });
  }
}

const load = loadavg().map((l) => round(l, 2));
say(`load average ${load.join(' ')}`);
const nats = await startNatsServer();
const result: Record<string, unknown> = {
  benchmark: 'startup',
  node: process.version,
  loadAverageAtStart: load,
  cpus: (await import('node:os')).cpus().length,
};
try {
  for (const mode of opts.modes) {
    result[mode] = await measureMode(mode, nats);
    if (opts.cluster) {
      say(`${mode}: the local cluster to "meshless ready"`);
      (result[mode] as Record<string, unknown>).cluster = await measureCluster(mode);
    }
  }
} finally {
  await nats.stop();
}
result.loadAverageAtEnd = loadavg().map((l) => round(l, 2));
if (!opts.json) say(readableSummary(result));
run.add(reportSection(result));
run.finish(result);
process.stdout.write(`${JSON.stringify(result)}\n`);

function reportSection(r: Record<string, unknown>) {
  const rows: Cell[][] = [];
  for (const mode of opts.modes) {
    const m = r[mode] as Awaited<ReturnType<typeof measureMode>> & { cluster?: { secondsToReady: number } };
    rows.push([mode, 'meshless --help', m.cli.help.cpuSeconds, m.cli.help.wallSeconds, null]);
    rows.push([mode, 'meshless get nodes', m.cli.getNodes.cpuSeconds, m.cli.getNodes.wallSeconds, null]);
    for (const [name, s] of Object.entries(m.services))
      rows.push([mode, `${name} ready`, s.cpuSecondsToReady, s.wallSecondsToReady, s.idleRssMB]);
    if (m.cluster) rows.push([mode, 'local cluster: meshless ready', null, m.cluster.secondsToReady, null]);
  }
  return {
    heading: 'Start-up',
    text: [
      `CLI figures: median of ${opts.runs} runs (CPU = user + system of the child). Services: CPU-s and wall time from spawn until /readyz answers 200, then RSS after 5 s idle. dist = the compiled build; source = the TypeScript through tsx.`,
    ],
    table: { head: ['mode', 'figure', 'CPU s', 'wall s', 'idle RSS MB'], rows },
  };
}

function readableSummary(r: Record<string, unknown>): string {
  const lines: string[] = [];
  for (const mode of opts.modes) {
    const m = r[mode] as Awaited<ReturnType<typeof measureMode>> & { cluster?: { secondsToReady: number } };
    lines.push(
      `${mode}: --help ${m.cli.help.cpuSeconds} CPU-s / ${m.cli.help.wallSeconds} s; get nodes ${m.cli.getNodes.cpuSeconds} CPU-s / ${m.cli.getNodes.wallSeconds} s`,
    );
    for (const [name, s] of Object.entries(m.services))
      lines.push(
        `  ${name}: ready after ${s.cpuSecondsToReady} CPU-s / ${s.wallSecondsToReady} s; idle RSS ${s.idleRssMB} MB`,
      );
    if (m.cluster) lines.push(`  local cluster: meshless ready after ${m.cluster.secondsToReady} s`);
  }
  return lines.join('\n');
}
