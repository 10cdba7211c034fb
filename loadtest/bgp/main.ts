// Route reflector benchmark: one injector (BIRD with a generated static table of N /26 prefixes)
// sends N prefixes to the reflector under test; K receivers (BIRD) must each hold all of them.
// The same scenario runs with Meshless, BIRD 2, FRR and GoBGP as the reflector, one after the
// other, each with fresh daemons, in a network namespace this script creates.
//
//   npm run bench:bgp -- [--routes N] [--receivers K] [--duts meshless,bird,frr,gobgp]
//                        [--timeout-seconds S] [--floor] [--json]
//
// Every session is up first. Per reflector: convergeSeconds (the injector's static table
// enabled → every receiver holds N routes), withdrawSeconds (the table disabled: N withdrawals →
// every receiver holds 0), peakRssMB (VmHWM),
// idleRssMB (before the injector came up), bytesPerRoute ((peak - idle) / N), cpuSeconds (user +
// system over both phases). --floor also measures the rig without a reflector (the injector
// peering with every receiver directly). The last stdout line is one JSON object:
//   {"routes","receivers","results":[{"dut","convergeSeconds","withdrawSeconds","peakRssMB",
//    "cpuSeconds",...}],"ratioVsBird":{"converge","rss"},"floor"?,"machine"}
// A reflector that does not converge within the timeout gets "error" and null figures.

import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { BIRDC_BIN, createNetns, netnsSkipReason, startBird, type BirdHandle, type Netns } from '../../services/bgp/testing.js';
import { DUT_NAMES, startDut, type Dut, type DutName } from './duts.js';

const { values } = parseArgs({
  options: {
    routes: { type: 'string', default: '100000' },
    receivers: { type: 'string', default: '10' },
    duts: { type: 'string', default: DUT_NAMES.join(',') },
    'timeout-seconds': { type: 'string', default: '300' },
    floor: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const N = Number(values.routes);
const K = Number(values.receivers);
const TIMEOUT_MS = Number(values['timeout-seconds']) * 1000;
const DUTS = values.duts.split(',').map((d) => d.trim()) as DutName[];
for (const d of DUTS) if (!DUT_NAMES.includes(d)) throw new Error(`--duts: unknown reflector '${d}' (known: ${DUT_NAMES.join(', ')})`);
if (!Number.isInteger(N) || N < 1) throw new Error(`--routes: a positive integer, got '${values.routes}'`);
if (!Number.isInteger(K) || K < 1 || K > 250) throw new Error(`--receivers: 1..250, got '${values.receivers}'`);
const AS = 65000;
const log = (msg: string): void => void process.stderr.write(`[bench:bgp] ${msg}\n`);

export interface DutResult {
  dut: DutName | 'floor';
  convergeSeconds: number | null;
  withdrawSeconds: number | null;
  peakRssMB: number | null;
  idleRssMB: number | null;
  bytesPerRoute: number | null;
  cpuSeconds: number | null;
  error?: string;
}

function procStatus(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** `count` distinct /26 prefixes (as many as 2^24 fit in 10.0.0.0/8 .. 10.x). */
function prefixes(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${10 + (i >> 18)}.${(i >> 10) & 255}.${(i >> 2) & 255}.${(i & 3) * 64}/26`);
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
 * are not asked again; at most `parallel` birdc calls run at once.
 */
async function waitAll(receivers: BirdHandle[], want: number, pokes: (() => Promise<void>)[], timeoutMs: number, t0: number): Promise<number> {
  const pending = new Set(receivers);
  let last = t0;
  const parallel = 8;
  while (pending.size > 0) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`timed out: ${pending.size} of ${receivers.length} receivers short of ${want} routes`);
    for (const p of pokes) void p().catch(() => undefined);
    const batch = [...pending].slice(0, parallel);
    await Promise.all(
      batch.map(async (r) => {
        if ((await routeCount(r).catch(() => -1)) === want) {
          pending.delete(r);
          last = performance.now();
        }
      }),
    );
    if (pending.size > 0 && batch.length === pending.size) await new Promise((r) => setTimeout(r, 20));
  }
  return (last - t0) / 1000;
}

interface Rig {
  ns: Netns;
  dut: string;
  injector: string;
  receivers: string[];
}

function injectorConfig(rig: Rig, neighbors: string[], table: string[]): string {
  return [
    `router id ${rig.injector};`,
    'protocol device {}',
    `protocol static s4 { ipv4; disabled; ${table.map((p) => `route ${p} blackhole;`).join(' ')} }`,
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

async function runOne(rig: Rig, name: DutName | 'floor', table: string[]): Promise<DutResult> {
  const empty: DutResult = { dut: name, convergeSeconds: null, withdrawSeconds: null, peakRssMB: null, idleRssMB: null, bytesPerRoute: null, cpuSeconds: null };
  const birds: BirdHandle[] = [];
  let dut: Dut | undefined;
  try {
    const upstream = name === 'floor' ? rig.injector : rig.dut;
    if (name !== 'floor') dut = await startDut(name, { ns: rig.ns, as: AS, address: rig.dut, clients: [rig.injector, ...rig.receivers] });
    const receivers: BirdHandle[] = [];
    for (const r of rig.receivers) {
      const b = await startBird({ netns: rig.ns, address: r, config: receiverConfig(r, upstream) });
      receivers.push(b);
      birds.push(b);
    }
    const injector = await startBird({ netns: rig.ns, address: rig.injector, config: injectorConfig(rig, name === 'floor' ? rig.receivers : [rig.dut], table) });
    birds.push(injector);
    for (const r of receivers) await r.waitForState('upstream', 'Established', 60_000);
    if (name !== 'floor') await injector.waitForState('o0', 'Established', 60_000);
    const pokes = [() => injector.birdc('show status').then(() => undefined), ...(dut ? [() => dut!.poke()] : [])];
    const pid = dut?.pid;
    const idle = pid ? procStatus(pid, 'VmRSS') : 0;
    const cpu0 = pid ? cpuSeconds(pid) : 0;
    log(`${name}: ${K} receivers up; injecting ${N} routes`);
    const tIn = performance.now();
    await birdcSlow(injector, 'enable s4');
    const convergeSeconds = await waitAll(receivers, N, pokes, TIMEOUT_MS, tIn);
    log(`${name}: converged in ${convergeSeconds.toFixed(2)} s; withdrawing`);
    const tOut = performance.now();
    await birdcSlow(injector, 'disable s4');
    const withdrawSeconds = await waitAll(receivers, 0, pokes, TIMEOUT_MS, tOut);
    const peak = pid ? procStatus(pid, 'VmHWM') : 0;
    const cpu = pid ? cpuSeconds(pid) - cpu0 : 0;
    log(`${name}: withdrawn in ${withdrawSeconds.toFixed(2)} s; peak RSS ${(peak / 1048576).toFixed(1)} MB, ${cpu.toFixed(2)} CPU s`);
    return {
      dut: name,
      convergeSeconds: round(convergeSeconds),
      withdrawSeconds: round(withdrawSeconds),
      peakRssMB: pid ? round(peak / 1048576) : null,
      idleRssMB: pid ? round(idle / 1048576) : null,
      bytesPerRoute: pid ? Math.round((peak - idle) / N) : null,
      cpuSeconds: pid ? round(cpu) : null,
    };
  } catch (err) {
    log(`${name}: ${(err as Error).message}${dut ? `\n${dut.logTail()}` : ''}`);
    return { ...empty, error: (err as Error).message.split('\n')[0]! };
  } finally {
    for (const b of birds) await b.stop().catch(() => undefined);
    await dut?.stop().catch(() => undefined);
  }
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
    const table = prefixes(N);
    const results: DutResult[] = [];
    for (const d of DUTS) results.push(await runOne(rig, d, table));
    const floor = values.floor ? await runOne(rig, 'floor', table) : undefined;
    const m = results.find((r) => r.dut === 'meshless');
    const b = results.find((r) => r.dut === 'bird');
    const ratio = (x: number | null | undefined, y: number | null | undefined): number | null => (x && y ? round(x / y) : null);
    const out = {
      routes: N,
      receivers: K,
      results,
      ratioVsBird: { converge: ratio(m?.convergeSeconds, b?.convergeSeconds), rss: ratio(m?.peakRssMB, b?.peakRssMB) },
      ...(floor ? { floor } : {}),
      machine: { cpus: cpus().length, model: cpus()[0]?.model ?? '', memGB: Math.round(totalmem() / 2 ** 30), loadavg: loadavg().map((l) => Math.round(l * 100) / 100) },
    };
    if (!values.json) {
      for (const r of [...results, ...(floor ? [floor] : [])]) {
        log(`${r.dut.padEnd(8)} converge ${String(r.convergeSeconds).padStart(8)} s  withdraw ${String(r.withdrawSeconds).padStart(8)} s  peak ${String(r.peakRssMB).padStart(8)} MB  cpu ${String(r.cpuSeconds).padStart(7)} s${r.error ? `  (${r.error})` : ''}`);
      }
    }
    process.stdout.write(JSON.stringify(out) + '\n');
  } finally {
    await ns.destroy();
  }
}

await main();
