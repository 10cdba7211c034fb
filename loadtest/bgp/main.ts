// Route reflector benchmark: one injector (BIRD with a generated static table) sends N prefixes
// to the reflector under test; K receivers (BIRD) must each hold all of them. The same scenario
// runs with Meshless, BIRD 2, FRR and GoBGP as the reflector, one after the other, each with
// fresh daemons, in a network namespace this script creates.
//
//   npm run bench:bgp -- [--routes N] [--receivers K] [--sets S] [--prefix-mix dc|internet]
//                        [--seed X] [--duts meshless,bird,frr,gobgp] [--timeout-seconds S]
//                        [--floor] [--profile DIR] [--json] [--help]
//
// The table (table.ts): by default N /26 blocks with one attribute set; --sets S spreads the N
// prefixes over S distinct, realistic attribute sets (heavy-tailed), --prefix-mix internet gives
// an Internet-like mix of lengths (mostly /24). Same seed, same table.
//
// Every session is up first. Per reflector: convergeSeconds (the injector's static table
// enabled → every receiver holds N routes), withdrawSeconds (the table disabled: N withdrawals →
// every receiver holds 0), peakRssMB (VmHWM),
// idleRssMB (before the injector came up), bytesPerRoute ((peak - idle) / N), cpuSeconds (user +
// system over both phases, with convergeCpuSeconds / withdrawCpuSeconds per phase), and
// rigConvergeCpuSeconds / rigWithdrawCpuSeconds (the injector's and receivers' CPU per phase: the
// work the reflector's output makes the rest of the rig do on the same cores), systemCpuSeconds
// (the kernel's part of cpuSeconds). --floor also
// measures the rig without a reflector (the injector peering with every receiver directly).
// --profile DIR runs Meshless with --cpu-prof into DIR (--heap-snapshot: and writes a heap
// snapshot there once it has converged; it costs CPU and memory, so not in measured runs). The last stdout line is one JSON object:
//   {"routes","receivers","sets","prefixMix","seed","results":[{"dut","convergeSeconds",
//    "withdrawSeconds","peakRssMB","cpuSeconds",...}],"ratioVsBird":{"converge","withdraw",
//    "cpu","rss"},"floor"?,"machine"}
// A reflector that does not converge within the timeout gets "error" and null figures.
// Progress (routes held at the receivers, per phase) goes to stderr; --report FILE.html writes the
// prefixes-at-the-receivers curves of every reflector side by side, and their CPU and memory.

import { mkdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { cpus, loadavg, totalmem } from 'node:os';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  BIRDC_BIN,
  createNetns,
  netnsSkipReason,
  startBird,
  type BirdHandle,
  type Netns,
} from '../../services/testing/index.js';
import { benchArgs } from '../args.js';
import { BenchRun, lineChart, type Phase, type Series } from '../report/index.js';
import { DUT_NAMES, startDut, type Dut, type DutName } from './duts.js';
import { birdStaticConfig, describeTable, generateTable, type PrefixMix, type Table } from './table.js';
import { readWire, wireDelta, type WireCounts } from './wire-stats.js';

const USAGE = `usage: npm run bench:bgp -- [options]
  --routes N            prefixes the injector announces (default 100000)
  --receivers K         BIRD receivers, clients of the reflector, 1..250 (default 10)
  --sets S              distinct attribute sets, heavy-tailed over the prefixes, 1..routes
                        (default 1: every prefix with the same attributes)
  --prefix-mix MIX      dc: distinct /26 blocks (default); internet: mostly /24, some /16-/23
  --seed X              table generator seed, a uint32 (default 1)
  --duts LIST           reflectors to run, in order (default ${DUT_NAMES.join(',')})
  --timeout-seconds S   per phase (default 300)
  --floor               also measure the rig without a reflector
  --profile DIR         Meshless with --cpu-prof into DIR
  --heap-snapshot       with --profile: also a heap snapshot into DIR once Meshless converged
  --json                print only the JSON result line
  --help                this text`;

const args = benchArgs('bench:bgp', USAGE, {
  routes: { type: 'string', default: '100000' },
  receivers: { type: 'string', default: '10' },
  sets: { type: 'string', default: '1' },
  'prefix-mix': { type: 'string', default: 'dc' },
  seed: { type: 'string', default: '1' },
  duts: { type: 'string', default: DUT_NAMES.join(',') },
  'timeout-seconds': { type: 'string', default: '300' },
  floor: { type: 'boolean', default: false },
  profile: { type: 'string', default: '' },
  'heap-snapshot': { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
});
const values = args.values;
const N = args.int('routes', 1, 4_000_000);
const K = args.int('receivers', 1, 250);
const SETS = args.int('sets', 1, N);
const SEED = args.int('seed', 0, 0xffffffff);
const MIX = values['prefix-mix'] as PrefixMix;
const TIMEOUT_MS = args.int('timeout-seconds', 1) * 1000;
const PROFILE_DIR = values.profile ? resolve(values.profile) : undefined;
if (values['heap-snapshot'] && !PROFILE_DIR) args.fail('--heap-snapshot: needs --profile DIR');
const DUTS = values.duts.split(',').map((d) => d.trim()) as DutName[];
for (const d of DUTS)
  if (!DUT_NAMES.includes(d)) args.fail(`--duts: unknown reflector '${d}' (known: ${DUT_NAMES.join(', ')})`);
if (MIX !== 'dc' && MIX !== 'internet') args.fail(`--prefix-mix: dc or internet, got '${values['prefix-mix']}'`);
if (MIX === 'dc' && N > 1 << 24) args.fail(`--routes: at most ${1 << 24} with --prefix-mix dc`);
const AS = 65000;
const run = new BenchRun('bench:bgp', { reportPath: args.report });
const log = (msg: string): void => run.log(msg);
/** Mean routes held per receiver over time, per reflector and phase: [s since the phase began, routes]. */
const curves: Record<'converge' | 'withdraw', Series[]> = { converge: [], withdraw: [] };

export interface DutResult {
  dut: DutName | 'floor';
  convergeSeconds: number | null;
  withdrawSeconds: number | null;
  peakRssMB: number | null;
  idleRssMB: number | null;
  bytesPerRoute: number | null;
  cpuSeconds: number | null;
  convergeCpuSeconds: number | null;
  withdrawCpuSeconds: number | null;
  /**
   * CPU-s of the injector and every receiver per phase: the rest of the rig shares the two
   * cores with the reflector, so how much work its output makes them do shows in the wall time.
   */
  rigConvergeCpuSeconds: number | null;
  rigWithdrawCpuSeconds: number | null;
  /**
   * Of cpuSeconds, the kernel's share: on loopback a socket write also runs the receiving side of
   * TCP, so this is mostly what the UPDATE bytes cost to deliver.
   */
  systemCpuSeconds: number | null;
  /**
   * Per phase, the octets and TCP data segments the receivers got from their upstream and the
   * injector sent (wire-stats.ts): how full and how many the UPDATEs were.
   */
  wire: { converge: WireCounts; withdraw: WireCounts } | null;
  error?: string;
}

function procStatus(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

function cpuSeconds(pid: number): number {
  const t = cpuTimes(pid);
  return t.user + t.system;
}

/** utime and stime of a process (proc(5) fields 14 and 15), in seconds. */
function cpuTimes(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(f[11]) / 100, system: Number(f[12]) / 100 };
}

const execFileAsync = promisify(execFile);

/** A birdc command that may take long (enabling a static table of a million routes). */
async function birdcSlow(b: BirdHandle, command: string): Promise<void> {
  await execFileAsync(BIRDC_BIN, ['-s', b.socket, ...command.split(' ')], { timeout: TIMEOUT_MS });
}

async function routeCount(b: BirdHandle): Promise<number> {
  const out = await b.birdc('show route count');
  return Number(/(\d+) of \d+ routes/.exec(out)?.[1] ?? 0);
}

/**
 * Polls receivers until each reports `want` routes; returns when the last did. Done receivers
 * are not asked again; at most `parallel` birdc calls run at once. Every count read goes into
 * `curve` (mean routes per receiver, each receiver at its last count read) and the progress.
 */
async function waitAll(
  receivers: BirdHandle[],
  want: number,
  pokes: (() => Promise<void>)[],
  timeoutMs: number,
  t0: number,
  from: number,
  curve: Array<[number, number]>,
  phase: Phase,
): Promise<number> {
  const pending = new Set(receivers);
  const counts = new Map(receivers.map((r) => [r, from]));
  let held = from * receivers.length;
  let last = t0;
  const parallel = 8;
  const moved = (): number => Math.abs(held - from * receivers.length);
  curve.push([0, from]);
  while (pending.size > 0) {
    if (performance.now() - t0 > timeoutMs)
      throw new Error(`timed out: ${pending.size} of ${receivers.length} receivers short of ${want} routes`);
    for (const p of pokes) void p().catch(() => undefined);
    const batch = [...pending].slice(0, parallel);
    await Promise.all(
      batch.map(async (r) => {
        const n = await routeCount(r).catch(() => -1);
        if (n >= 0) {
          held += n - counts.get(r)!;
          counts.set(r, n);
        }
        if (n === want) {
          pending.delete(r);
          last = performance.now();
        }
      }),
    );
    curve.push([round((performance.now() - t0) / 1000), Math.round(held / receivers.length)]);
    phase.update(moved(), `${receivers.length - pending.size}/${receivers.length} receivers done`);
    if (pending.size > 0) await new Promise((r) => setTimeout(r, pollGapMs(performance.now() - t0)));
  }
  return (last - t0) / 1000;
}

/**
 * The pause between two rounds of counts. Each `show route count` is a birdc process plus a walk
 * of the receiver's table, on the same cores as the reflector under test: polled back to back,
 * the rig's own CPU grew with the phase's length and weighed on whichever reflector was slower.
 * A gap of 2 % of the time elapsed (20–250 ms) bounds both that cost and the error it adds to a
 * phase's time, alike for every contender.
 */
function pollGapMs(elapsedMs: number): number {
  return Math.min(250, Math.max(20, elapsedMs / 50));
}

interface Rig {
  ns: Netns;
  dut: string;
  injector: string;
  receivers: string[];
}

function injectorConfig(rig: Rig, neighbors: string[], staticConfig: string): string {
  return [
    `router id ${rig.injector};`,
    'protocol device {}',
    staticConfig,
    `template bgp injt { local ${rig.injector} as ${AS}; multihop; strict bind; connect delay time 1; connect retry time 1; error wait time 1, 2; ipv4 { import none; export all; }; }`,
    ...neighbors.map((n, i) => `protocol bgp o${i} from injt { neighbor ${n} as ${AS}; }`),
  ].join('\n');
}

function receiverConfig(address: string, upstream: string): string {
  return [
    `router id ${address};`,
    'protocol device {}',
    `protocol bgp upstream { local ${address} as ${AS}; neighbor ${upstream} as ${AS}; multihop; strict bind; connect delay time 1; connect retry time 1; error wait time 1, 2; ipv4 { import all; export none; }; }`,
  ].join('\n');
}

async function runOne(rig: Rig, name: DutName | 'floor', staticConfig: string): Promise<DutResult> {
  const empty: DutResult = {
    dut: name,
    convergeSeconds: null,
    withdrawSeconds: null,
    peakRssMB: null,
    idleRssMB: null,
    bytesPerRoute: null,
    cpuSeconds: null,
    convergeCpuSeconds: null,
    withdrawCpuSeconds: null,
    rigConvergeCpuSeconds: null,
    rigWithdrawCpuSeconds: null,
    systemCpuSeconds: null,
    wire: null,
  };
  const birds: BirdHandle[] = [];
  let dut: Dut | undefined;
  try {
    const upstream = name === 'floor' ? rig.injector : rig.dut;
    if (name !== 'floor')
      dut = await startDut(name, {
        ns: rig.ns,
        as: AS,
        address: rig.dut,
        clients: [rig.injector, ...rig.receivers],
        ...(PROFILE_DIR ? { profileDir: PROFILE_DIR } : {}),
      });
    if (dut) run.sampler.watch(name, dut.pid);
    const receivers: BirdHandle[] = [];
    const starting = run.console.phase(`${name}: starting receivers`, { total: K });
    for (const r of rig.receivers) {
      const b = await startBird({ netns: rig.ns, address: r, config: receiverConfig(r, upstream) });
      receivers.push(b);
      birds.push(b);
      starting.update(receivers.length);
    }
    starting.end();
    const injector = await startBird({
      netns: rig.ns,
      address: rig.injector,
      config: injectorConfig(rig, name === 'floor' ? rig.receivers : [rig.dut], staticConfig),
      startTimeoutMs: TIMEOUT_MS,
    });
    birds.push(injector);
    run.sampler.watch(
      'BIRD injector + receivers',
      birds.map((b) => b.process.pid),
    );
    const sessions = run.console.phase(`${name}: sessions up`, { total: K });
    for (const [i, r] of receivers.entries()) {
      await r.waitForState('upstream', 'Established', 60_000);
      sessions.update(i + 1);
    }
    if (name !== 'floor') await injector.waitForState('o0', 'Established', 60_000);
    sessions.end();
    const pokes = [() => injector.birdc('show status').then(() => undefined), ...(dut ? [() => dut!.poke()] : [])];
    const pid = dut?.pid;
    const idle = pid ? procStatus(pid, 'VmRSS') : 0;
    const cpu0 = pid ? cpuSeconds(pid) : 0;
    const sys0 = pid ? cpuTimes(pid).system : 0;
    const rigCpu = (): number => birds.reduce((t, b) => t + cpuSeconds(b.process.pid!), 0);
    const rig0 = rigCpu();
    const wire = (): Promise<WireCounts> => readWire(rig.ns, upstream, rig.injector, rig.receivers);
    const wire0 = await wire();
    log(`${name}: ${K} receivers up; injecting ${N} routes`);
    const converging = run.console.phase(`${name}: convergence`, { total: K * N, unit: 'routes at the receivers' });
    const convergeCurve: Array<[number, number]> = [];
    curves.converge.push({ name, points: convergeCurve, dashed: name === 'floor' });
    const tIn = performance.now();
    await birdcSlow(injector, 'enable s4');
    const convergeSeconds = await waitAll(receivers, N, pokes, TIMEOUT_MS, tIn, 0, convergeCurve, converging);
    converging.end(null);
    const cpuConverged = pid ? cpuSeconds(pid) : 0;
    const rigConverged = rigCpu();
    const wireConverged = await wire();
    log(
      `${name}: converged in ${convergeSeconds.toFixed(2)} s (${(cpuConverged - cpu0).toFixed(2)} CPU s); withdrawing`,
    );
    if (dut && values['heap-snapshot']) await dut.heapSnapshot?.();
    const withdrawing = run.console.phase(`${name}: withdrawal`, {
      total: K * N,
      unit: 'routes withdrawn at the receivers',
    });
    const withdrawCurve: Array<[number, number]> = [];
    curves.withdraw.push({ name, points: withdrawCurve, dashed: name === 'floor' });
    const tOut = performance.now();
    await birdcSlow(injector, 'disable s4');
    const withdrawSeconds = await waitAll(receivers, 0, pokes, TIMEOUT_MS, tOut, N, withdrawCurve, withdrawing);
    withdrawing.end(null);
    const peak = pid ? procStatus(pid, 'VmHWM') : 0;
    const cpuEnd = pid ? cpuSeconds(pid) : 0;
    const rigEnd = rigCpu();
    const wireEnd = await wire();
    const cpu = cpuEnd - cpu0;
    log(
      `${name}: withdrawn in ${withdrawSeconds.toFixed(2)} s; peak RSS ${(peak / 1048576).toFixed(1)} MB, ${cpu.toFixed(2)} CPU s`,
    );
    const wireC = wireDelta(wire0, wireConverged);
    const wireW = wireDelta(wireConverged, wireEnd);
    log(`${name}: per receiver, converge ${wireLine(wireC)}; withdraw ${wireLine(wireW)}`);
    return {
      dut: name,
      convergeSeconds: round(convergeSeconds),
      withdrawSeconds: round(withdrawSeconds),
      peakRssMB: pid ? round(peak / 1048576) : null,
      idleRssMB: pid ? round(idle / 1048576) : null,
      bytesPerRoute: pid ? Math.round((peak - idle) / N) : null,
      cpuSeconds: pid ? round(cpu) : null,
      convergeCpuSeconds: pid ? round(cpuConverged - cpu0) : null,
      withdrawCpuSeconds: pid ? round(cpuEnd - cpuConverged) : null,
      rigConvergeCpuSeconds: round(rigConverged - rig0),
      rigWithdrawCpuSeconds: round(rigEnd - rigConverged),
      systemCpuSeconds: pid ? round(cpuTimes(pid).system - sys0) : null,
      wire: { converge: wireC, withdraw: wireW },
    };
  } catch (err) {
    log(`${name}: ${(err as Error).message}${dut ? `\n${dut.logTail()}` : ''}`);
    return { ...empty, error: (err as Error).message.split('\n')[0]! };
  } finally {
    for (const b of birds) await b.stop().catch(() => undefined);
    await dut?.stop().catch(() => undefined);
    run.sampler.unwatch(name);
    run.sampler.unwatch('BIRD injector + receivers');
  }
}

/** A phase's octets and segments per receiver, and octets per prefix (N prefixes each). */
function wireLine(w: WireCounts): string {
  return `${Math.round(w.receivedBytes / K)} octets in ${Math.round(w.receivedSegments / K)} segments (${(w.receivedBytes / K / N).toFixed(2)} octets/prefix); injector sent ${w.injectorBytes} octets in ${w.injectorSegments} segments`;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

async function main(): Promise<void> {
  const skip = netnsSkipReason();
  if (skip) throw new Error(skip);
  const ns = await createNetns('bench');
  try {
    const rig: Rig = { ns, dut: await ns.addAddress(), injector: await ns.addAddress(), receivers: [] };
    for (let i = 0; i < K; i++) rig.receivers.push(await ns.addAddress());
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const table: Table = generateTable({ routes: N, sets: SETS, mix: MIX, seed: SEED });
    const staticConfig = birdStaticConfig(table, 's4');
    const c = process.cpuUsage(c0);
    log(
      `table: ${describeTable(table)} (generated in ${((performance.now() - t0) / 1000).toFixed(2)} s, ${((c.user + c.system) / 1e6).toFixed(2)} CPU s)`,
    );
    if (PROFILE_DIR) mkdirSync(PROFILE_DIR, { recursive: true });
    const results: DutResult[] = [];
    for (const d of DUTS) results.push(await runOne(rig, d, staticConfig));
    const floor = values.floor ? await runOne(rig, 'floor', staticConfig) : undefined;
    const m = results.find((r) => r.dut === 'meshless');
    const b = results.find((r) => r.dut === 'bird');
    const ratio = (x: number | null | undefined, y: number | null | undefined): number | null =>
      x && y ? round(x / y) : null;
    const out = {
      routes: N,
      receivers: K,
      sets: SETS,
      prefixMix: MIX,
      seed: SEED,
      results,
      ratioVsBird: {
        converge: ratio(m?.convergeSeconds, b?.convergeSeconds),
        withdraw: ratio(m?.withdrawSeconds, b?.withdrawSeconds),
        cpu: ratio(m?.cpuSeconds, b?.cpuSeconds),
        rss: ratio(m?.peakRssMB, b?.peakRssMB),
      },
      ...(floor ? { floor } : {}),
      machine: {
        cpus: cpus().length,
        model: cpus()[0]?.model ?? '',
        memGB: Math.round(totalmem() / 2 ** 30),
        loadavg: loadavg().map((l) => Math.round(l * 100) / 100),
      },
    };
    if (!values.json) {
      for (const r of [...results, ...(floor ? [floor] : [])]) {
        log(
          `${r.dut.padEnd(8)} converge ${String(r.convergeSeconds).padStart(8)} s  withdraw ${String(r.withdrawSeconds).padStart(8)} s  peak ${String(r.peakRssMB).padStart(8)} MB  ${String(r.bytesPerRoute).padStart(5)} B/route  cpu ${String(r.cpuSeconds).padStart(7)} s${r.error ? `  (${r.error})` : ''}`,
        );
      }
    }
    addReportSections([...results, ...(floor ? [floor] : [])]);
    run.finish(out);
    process.stdout.write(JSON.stringify(out) + '\n');
  } finally {
    await ns.destroy();
  }
}

await main();

function addReportSections(rows: DutResult[]): void {
  run.add({
    heading: 'Reflectors',
    text: [
      `${N.toLocaleString('en-US')} prefixes (${MIX}, ${SETS} attribute sets, seed ${SEED}) from one BIRD injector through the reflector to ${K} BIRD receivers, in a network namespace; each reflector with fresh daemons, one after the other. Convergence: the injector's table enabled until every receiver holds all prefixes; withdrawal: disabled until every receiver holds none. floor: no reflector, the injector peers with every receiver itself.`,
    ],
    table: {
      head: [
        'reflector',
        'converge s',
        'withdraw s',
        'peak RSS MB',
        'idle RSS MB',
        'bytes/route',
        'CPU s (converge + withdraw)',
        'error',
      ],
      rows: rows.map((r) => [
        r.dut,
        r.convergeSeconds,
        r.withdrawSeconds,
        r.peakRssMB,
        r.idleRssMB,
        r.bytesPerRoute,
        r.cpuSeconds === null ? null : `${r.cpuSeconds} (${r.convergeCpuSeconds} + ${r.withdrawCpuSeconds})`,
        r.error ?? '',
      ]),
    },
  });
  run.add({
    heading: 'Prefixes at the receivers over time',
    text: [
      "Mean routes held per receiver, from each receiver's route count (birdc show route count, at most 8 receivers asked at a time, so a point can lag by a few polls), from the moment the injector's table was enabled (convergence) or disabled (withdrawal).",
    ],
    charts: [
      lineChart({
        title: `Convergence: ${N.toLocaleString('en-US')} routes to ${K} receivers`,
        xLabel: 'seconds since the table was enabled',
        yLabel: 'routes per receiver',
        series: curves.converge,
        yMax: N,
      }),
      lineChart({
        title: `Withdrawal: ${N.toLocaleString('en-US')} routes from ${K} receivers`,
        xLabel: 'seconds since the table was disabled',
        yLabel: 'routes per receiver',
        series: curves.withdraw,
        yMax: N,
      }),
    ],
  });
}
