// The reflector's own work on a table, in one process and without sockets: the injector's
// UPDATEs (as BIRD sends them: one attribute set per UPDATE, prefixes packed) are framed from
// 64 KiB chunks, decoded and applied to the RIB exactly as a session delivers them, with an
// exporter step after each chunk (as the reflector's pump interleaves them), the output going to
// K receivers of one update group (bytes counted, nothing parsed). Then the same for the
// withdrawal of every prefix. This is what `bench:bgp` measures as the reflector's CPU-seconds,
// without the rig (BIRD injector and receivers) sharing the cores: figures repeat within a few
// per cent on a loaded machine, so a change to the import path, the RIB or the exporter can be
// judged in seconds. bench:bgp stays the measure of record (wall time, RSS, side by side).
//
//   npm run bench:rr-core -- [--routes N] [--sets S] [--prefix-mix dc|internet] [--seed N]
//                            [--receivers K] [--runs R] [--json]
//
// Prints per phase CPU-seconds (user + system), garbage-collector milliseconds (from
// PerformanceObserver 'gc' entries), and the retained heap + array buffers per route once
// converged (after a forced GC), medians over R runs of fresh RIBs (after one warm-up run, whose
// CPU-s are reported as coldConvergeCpuSeconds / coldWithdrawCpuSeconds).

import { PerformanceObserver } from 'node:perf_hooks';
import { cpus, loadavg } from 'node:os';
import { benchArgs } from '../args.js';
import { generateTable, type PrefixMix, type Table } from '../bgp/table.js';
import { xorshift32 } from '../random.js';
import {
  decodeUpdate,
  encodeAttributes,
  FrameReader,
  makePrefix,
  MessageType,
  packUpdates,
  packWithdrawals,
  type CodecOptions,
  type PathAttributes,
  type Prefix,
} from '../../services/bgp/index.js';
import { Exporter, PeerPolicy, Rib, type ExportSink } from '../../services/rr/testing.js';

const USAGE = `Route reflector core benchmark: import, best path and export of a table, in one process.

Usage: npm run bench:rr-core -- [options]
  --routes N          prefixes (default 300000)
  --sets S            distinct attribute sets, heavy-tailed (default 100000)
  --prefix-mix MIX    dc or internet (default internet)
  --withdraw-order O  table: withdrawals in table order; random: shuffled (seeded), as BIRD
                      withdraws a disabled table, in its hash order (default table)
  --seed N            table seed (default 1)
  --receivers K       iBGP clients in the update group (default 10)
  --runs R            measured runs after a warm-up; figures are medians (default 3)
  --json              print only the JSON result line
  -h, --help          this help
`;
const args = benchArgs('bench:rr-core', USAGE, {
  routes: { type: 'string', default: '300000' },
  sets: { type: 'string', default: '100000' },
  'prefix-mix': { type: 'string', default: 'internet' },
  'withdraw-order': { type: 'string', default: 'table' },
  seed: { type: 'string', default: '1' },
  receivers: { type: 'string', default: '10' },
  runs: { type: 'string', default: '3' },
  json: { type: 'boolean', default: false },
});
const N = args.int('routes', 1);
const SETS = args.int('sets', 1, N);
const SEED = args.int('seed', 0);
const K = args.int('receivers', 1, 1000);
const RUNS = args.int('runs', 1);
const MIX = args.values['prefix-mix'] as PrefixMix;
const ORDER = args.values['withdraw-order'];
if (ORDER !== 'table' && ORDER !== 'random') args.fail(`--withdraw-order: table or random, got '${String(ORDER)}'`);
if (MIX !== 'dc' && MIX !== 'internet') args.fail(`--prefix-mix: dc or internet, got '${String(MIX)}'`);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc (npm run bench:rr-core does)');

const AS = 65000;
const INJECTOR = '10.0.0.2';
const OPTS: CodecOptions = { fourOctetAs: true, extendedMessage: false, addPath: [] };
const CHUNK = 64 * 1024;
const ME = { localAs: AS, routerId: '10.0.0.1', clusterId: '10.0.0.1', alwaysCompareMed: false };

/** The injector's stream: what BIRD sends an iBGP peer for the table, then its withdrawal. */
function encodeStreams(t: Table): { announce: Uint8Array; withdraw: Uint8Array } {
  const bySet: Prefix[][] = t.sets.map(() => []);
  const all: Prefix[] = [];
  const bytes = new Uint8Array(4);
  for (let i = 0; i < t.network.length; i++) {
    const n = t.network[i]!;
    bytes[0] = n >>> 24;
    bytes[1] = (n >>> 16) & 255;
    bytes[2] = (n >>> 8) & 255;
    bytes[3] = n & 255;
    const p = makePrefix(4, bytes, t.length[i]!);
    bySet[t.setOf[i]!]!.push(p);
    all.push(p);
  }
  const msgs: Uint8Array[] = [];
  t.sets.forEach((s, i) => {
    const a: PathAttributes = {
      origin: 0,
      asPath: s.asPath.length ? [{ type: 2, asns: [...s.asPath] }] : [],
      nextHop: INJECTOR,
      localPref: 100,
      atomicAggregate: false,
      unknown: [],
      ...(s.med !== undefined ? { med: s.med } : {}),
      ...(s.communities.length ? { communities: s.communities.map(([x, y]) => ((x << 16) | y) >>> 0) } : {}),
      ...(s.large.length
        ? { largeCommunities: s.large.map(([g, l1, l2]) => ({ globalAdmin: g, localData1: l1, localData2: l2 })) }
        : {}),
    };
    if (bySet[i]!.length) msgs.push(...packUpdates(bySet[i]!, encodeAttributes(a, OPTS), OPTS));
  });
  // The rig's injector (BIRD) withdraws a disabled table in the order of its prefix hash, which
  // is no order at all for the reflector's destination ids: every withdrawn prefix is a random
  // access into the RIB's arrays, unlike the announcements (ids follow arrival order).
  if (ORDER === 'random') shuffle(all, SEED);
  return { announce: Buffer.concat(msgs), withdraw: Buffer.concat(packWithdrawals(all, OPTS)) };
}

/** Fisher-Yates from the table's seed: the same order every run. */
function shuffle<T>(a: T[], seed: number): void {
  const rand = xorshift32(seed);
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
}

/** Receivers that are always ready and count what they get. */
class CountingSink implements ExportSink {
  bytes = 0;
  send(_peer: number, messages: readonly Uint8Array[]): void {
    for (const m of messages) this.bytes += m.length;
  }
  ready(): boolean {
    return true;
  }
  synced(): void {}
}

interface Phase {
  cpuSeconds: number;
  gcMs: number;
  outBytes: number;
}

let gcMs = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcMs += e.duration;
}).observe({ entryTypes: ['gc'] });

const WIRE_WITHDRAWN = { wireWithdrawn: true } as const;

function feed(rib: Rib, ex: Exporter, injector: number, stream: Uint8Array): void {
  const reader = new FrameReader();
  let budget = 4096;
  for (let o = 0; o < stream.length; o += CHUNK) {
    reader.push(stream.subarray(o, Math.min(stream.length, o + CHUNK)));
    for (let f = reader.next(); f; f = reader.next()) {
      if (f.type !== MessageType.Update) throw new Error('not an UPDATE');
      // As the reflector's speaker decodes them (SpeakerConfig.wireWithdrawals).
      const r = decodeUpdate(f.body, OPTS, WIRE_WITHDRAWN);
      rib.applyUpdate(injector, r.update);
    }
    // The reflector's pump: one step per turn of the event loop, its budget adapted to ~4-20 ms.
    const t0 = performance.now();
    ex.step(budget);
    const dt = performance.now() - t0;
    if (dt > 20 && budget > 2048) budget >>= 1;
    else if (dt < 4 && budget < 16384) budget <<= 1;
  }
  while (ex.step(budget));
}

/** GC entries reach the observer on a later turn of the event loop. */
const gcSettled = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 10));

async function phase(fn: () => void, sink: { bytes: number }): Promise<Phase> {
  await gcSettled();
  const g0 = gcMs;
  const b0 = sink.bytes;
  const c0 = process.cpuUsage();
  fn();
  const c = process.cpuUsage(c0);
  await gcSettled();
  return { cpuSeconds: (c.user + c.system) / 1e6, gcMs: gcMs - g0, outBytes: sink.bytes - b0 };
}

function retained(): number {
  gc!();
  gc!();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

async function run(streams: {
  announce: Uint8Array;
  withdraw: Uint8Array;
}): Promise<{ converge: Phase; withdraw: Phase; bytesPerRoute: number; attributeSets: number }> {
  const before = retained();
  const rib = new Rib(ME, new PeerPolicy('iBGP', []));
  const sink = new CountingSink();
  const ex = new Exporter(rib, sink);
  const spec = {
    target: {
      kind: 'client' as const,
      localAs: AS,
      clusterId: ME.clusterId,
      nextHopMode: 'auto' as const,
      selfNextHop4: ME.routerId,
      llgr: false,
    },
    policy: new PeerPolicy('iBGP', []),
    codec: OPTS,
    families: [4, 6] as (4 | 6)[],
    maxMessageLength: 4096,
  };
  const peer = (address: string) =>
    rib.addPeer({ address, kind: 'client', asn: AS, routerId: address, policy: new PeerPolicy('iBGP', []) }).idx;
  const injector = peer(INJECTOR);
  ex.join(injector, spec);
  for (let i = 0; i < K; i++) ex.join(peer(`10.0.1.${i + 1}`), spec);
  while (ex.step(4096));
  const converge = await phase(() => feed(rib, ex, injector, streams.announce), sink);
  if (rib.routeCount !== N) throw new Error(`converged with ${rib.routeCount} routes, expected ${N}`);
  const attributeSets = rib.attributeSetCount;
  const bytesPerRoute = Math.round((retained() - before) / N);
  const withdraw = await phase(() => feed(rib, ex, injector, streams.withdraw), sink);
  if (rib.routeCount !== 0) throw new Error(`${rib.routeCount} routes left after the withdrawal`);
  return { converge, withdraw, bytesPerRoute, attributeSets };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (x: number, d = 3): number => Math.round(x * 10 ** d) / 10 ** d;

const table = generateTable({ routes: N, sets: SETS, mix: MIX, seed: SEED });
const streams = encodeStreams(table);
const log = (s: string): void => {
  if (!args.values.json) console.error(`[bench:rr-core] ${s}`);
};
log(
  `${N} routes over ${SETS} sets (${MIX}), ${K} receivers; injector stream ${streams.announce.length} + ${streams.withdraw.length} octets`,
);
// The first run in this process pays for V8 compiling the hot paths (on a background thread, but
// counted in the process's CPU), as a freshly started reflector in bench:bgp does: reported apart.
const cold = await run(streams);
log(
  `cold run: converge ${cold.converge.cpuSeconds.toFixed(3)} CPU-s, withdraw ${cold.withdraw.cpuSeconds.toFixed(3)} CPU-s`,
);
const runs: Awaited<ReturnType<typeof run>>[] = [];
for (let i = 0; i < RUNS; i++) {
  const r = await run(streams);
  runs.push(r);
  log(
    `run ${i + 1}: converge ${r.converge.cpuSeconds.toFixed(3)} CPU-s (GC ${r.converge.gcMs.toFixed(0)} ms), ` +
      `withdraw ${r.withdraw.cpuSeconds.toFixed(3)} CPU-s (GC ${r.withdraw.gcMs.toFixed(0)} ms), ${r.bytesPerRoute} B/route, ${r.attributeSets} sets`,
  );
}
const m = (f: (r: (typeof runs)[number]) => number, d = 3): number => round(median(runs.map(f)), d);
console.log(
  JSON.stringify({
    routes: N,
    sets: SETS,
    prefixMix: MIX,
    withdrawOrder: ORDER,
    seed: SEED,
    receivers: K,
    runs: RUNS,
    convergeCpuSeconds: m((r) => r.converge.cpuSeconds),
    convergeGcMs: m((r) => r.converge.gcMs, 0),
    withdrawCpuSeconds: m((r) => r.withdraw.cpuSeconds),
    withdrawGcMs: m((r) => r.withdraw.gcMs, 0),
    bytesPerRoute: m((r) => r.bytesPerRoute, 0),
    coldConvergeCpuSeconds: round(cold.converge.cpuSeconds, 3),
    coldWithdrawCpuSeconds: round(cold.withdraw.cpuSeconds, 3),
    outBytesPerReceiver: Math.round(runs[0]!.converge.outBytes / K),
    node: process.version,
    cpus: cpus().length,
    loadavg: loadavg().map((x) => round(x, 2)),
  }),
);
