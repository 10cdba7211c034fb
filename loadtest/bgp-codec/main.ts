// BGP codec benchmark: a realistic IPv4 table (1,000,000 prefixes by default over a few thousand
// distinct attribute sets) is encoded the way a route reflector sends it (attributes encoded once
// per set, prefixes packed into as few UPDATEs as fit) and decoded back the way a session receives
// it (FrameReader over 64 KiB TCP-sized chunks, decodeMessage per frame) into a compact table:
// one Prefix per route plus a Uint32Array index into the per-UPDATE attribute objects.
//
//   npm run bench:bgp-codec -- [--prefixes N] [--sets N] [--runs N] [--json]
//
// The last stdout line is one JSON object: prefixes, decodePrefixesPerSec (decoding into the
// table), encodePrefixesPerSec, decodeMBPerSec, bytesPerDecodedRoute (heap + array buffers
// retained per decoded route, GC forced before both readings; needs --expose-gc, which the npm
// script passes), plus decodeDiscardPrefixesPerSec (decoding with nothing kept), CPU seconds and
// the load average, since wall-clock figures on a shared machine need that context. Each figure
// is the median of --runs runs after a JIT warm-up. Progress goes to stderr (between runs: each
// run is one synchronous loop); --report FILE.html adds every run's time and this process's CPU
// and memory over time.

import { benchArgs } from '../args.js';
import { drawLength, randomNetwork, xorshift32, type LengthMix } from '../random.js';
import { BenchRun, lineChart } from '../report/index.js';
import { cpus, loadavg } from 'node:os';
import {
  decodeMessage,
  encodeAttributes,
  FrameReader,
  makePrefix,
  MessageType,
  packUpdates,
  type CodecOptions,
  type PathAttributes,
  type Prefix,
} from '../../services/bgp/index.js';

const USAGE = `BGP codec benchmark: encode and decode a realistic IPv4 table, as a reflector sends and a session receives it.

Usage: npm run bench:bgp-codec -- [options]
  --prefixes N   routes in the table (default 1000000)
  --sets N       distinct attribute sets (default 3000)
  --runs N       measured runs after a warm-up; each figure is their median (default 3)
  --json         print only the JSON result line on stdout
  -h, --help     this help
`;
const args = benchArgs('bench:bgp-codec', USAGE, {
  prefixes: { type: 'string', default: '1000000' },
  sets: { type: 'string', default: '3000' },
  runs: { type: 'string', default: '3' },
  json: { type: 'boolean', default: false },
});
const values = args.values;
const PREFIXES = args.int('prefixes', 1);
const SETS = args.int('sets', 1);
const RUNS = args.int('runs', 1);
const OPTS: CodecOptions = { fourOctetAs: true, extendedMessage: false, addPath: [] };
const CHUNK = 64 * 1024;
const WARMUP = Math.min(50_000, PREFIXES);

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc (npm run bench:bgp-codec does)');

/** Deterministic xorshift32, so every run builds the same table. */
const rand = xorshift32(0x9e3779b9);
const randInt = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));

/** Prefix lengths roughly as in a full Internet table (mostly /24) plus data-center /26 blocks. */
const LENGTHS: LengthMix = [
  [24, 0.58],
  [23, 0.07],
  [22, 0.1],
  [21, 0.04],
  [20, 0.04],
  [19, 0.03],
  [18, 0.02],
  [16, 0.02],
  [26, 0.1],
];

function buildTable(n: number): Prefix[] {
  const seen = new Set<number>();
  const out: Prefix[] = [];
  const bytes = new Uint8Array(4);
  while (out.length < n) {
    const len = drawLength(LENGTHS, rand);
    const addr = randomNetwork(len, rand);
    const key = addr * 64 + len;
    if (seen.has(key) || addr >>> 24 === 0 || addr >>> 24 >= 224) continue;
    seen.add(key);
    bytes[0] = addr >>> 24;
    bytes[1] = (addr >>> 16) & 255;
    bytes[2] = (addr >>> 8) & 255;
    bytes[3] = addr & 255;
    out.push(makePrefix(4, bytes, len));
  }
  return out;
}

function buildAttributeSets(n: number): PathAttributes[] {
  const sets: PathAttributes[] = [];
  for (let i = 0; i < n; i++) {
    const asns = Array.from({ length: randInt(2, 6) }, () =>
      rand() < 0.15 ? randInt(131072, 4200000000) : randInt(1, 64511),
    );
    const communities = Array.from(
      { length: randInt(0, 4) },
      () => ((randInt(1, 65535) << 16) | randInt(0, 65535)) >>> 0,
    );
    const a: PathAttributes = {
      origin: rand() < 0.9 ? 0 : 2,
      asPath: [{ type: 2, asns }],
      nextHop: `192.0.2.${randInt(1, 50)}`,
      atomicAggregate: false,
      unknown: [],
      ...(rand() < 0.3 ? { med: randInt(0, 1000) } : {}),
      ...(communities.length > 0 ? { communities } : {}),
      ...(rand() < 0.1
        ? { largeCommunities: [{ globalAdmin: asns[0]!, localData1: randInt(1, 100), localData2: randInt(1, 100) }] }
        : {}),
    };
    sets.push(a);
  }
  return sets;
}

/** Heavy-tailed: a few attribute sets carry many prefixes, most carry a few hundred. */
function assign(prefixes: number, sets: number): Uint32Array {
  const out = new Uint32Array(prefixes);
  for (let i = 0; i < prefixes; i++) out[i] = Math.floor(sets * rand() ** 1.5);
  return out;
}

function encodeTable(prefixes: Prefix[], sets: PathAttributes[], setOf: Uint32Array): Uint8Array[] {
  const groups: Prefix[][] = sets.map(() => []);
  for (let i = 0; i < prefixes.length; i++) groups[setOf[i]!]!.push(prefixes[i]!);
  const messages: Uint8Array[] = [];
  for (let s = 0; s < sets.length; s++) {
    const g = groups[s]!;
    if (g.length === 0) continue;
    const attrs = encodeAttributes(sets[s]!, OPTS);
    for (const m of packUpdates(g, attrs, OPTS)) messages.push(m);
  }
  return messages;
}

/** TCP-sized chunks of the UPDATE stream (built once; slicing is not part of decoding). */
function chunkStream(messages: Uint8Array[]): Uint8Array[] {
  const stream = Buffer.concat(messages);
  const chunks: Uint8Array[] = [];
  for (let off = 0; off < stream.length; off += CHUNK) chunks.push(stream.subarray(off, off + CHUNK));
  return chunks;
}

interface DecodedTable {
  prefixes: Prefix[];
  attrIndex: Uint32Array;
  attributes: PathAttributes[];
}

/** Decoding alone: every message decoded and dropped (what the codec costs without a table). */
function decodeDiscard(chunks: Uint8Array[], expected: number): void {
  const reader = new FrameReader();
  let n = 0;
  for (const chunk of chunks) {
    reader.push(chunk);
    for (let f = reader.next(); f; f = reader.next()) {
      const { message } = decodeMessage(f.message, OPTS);
      if (message.type === MessageType.Update) n += message.nlri.length;
    }
  }
  if (n !== expected) throw new Error(`decoded ${n} prefixes, expected ${expected}`);
}

function decodeStream(chunks: Uint8Array[], expected: number): DecodedTable {
  const reader = new FrameReader();
  const t: DecodedTable = { prefixes: [], attrIndex: new Uint32Array(expected), attributes: [] };
  for (const chunk of chunks) {
    reader.push(chunk);
    for (let f = reader.next(); f; f = reader.next()) {
      const { message, error } = decodeMessage(f.message, OPTS);
      if (error || message.type !== MessageType.Update || !message.attributes)
        throw new Error(`unexpected message: ${error?.message ?? message.type}`);
      const id = t.attributes.length;
      t.attributes.push(message.attributes);
      for (const p of message.nlri) {
        t.attrIndex[t.prefixes.length] = id;
        t.prefixes.push(p);
      }
    }
  }
  if (t.prefixes.length !== expected) throw new Error(`decoded ${t.prefixes.length} prefixes, expected ${expected}`);
  return t;
}

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function cpuSeconds(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1e6;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function memory(): number {
  gc!();
  gc!();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

const run = new BenchRun('bench:bgp-codec', { reportPath: args.report });
run.sampler.watch('bench:bgp-codec (this process)', process.pid);
const log = (s: string): void => run.log(s);
/** Lets due timers run (progress, the /proc sampler) between the synchronous measured loops. */
const breathe = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

let prefixes = buildTable(PREFIXES);
const sets = buildAttributeSets(SETS);
const setOf = assign(PREFIXES, SETS);
log(
  `table: ${PREFIXES} IPv4 prefixes over ${SETS} attribute sets (Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'})`,
);

// Warm up the JIT on a slice, then measure.
encodeTable(prefixes.slice(0, WARMUP), sets, setOf);
const encodeTimes: number[] = [];
const encodeCpu: number[] = [];
let messages: Uint8Array[] = [];
let phase = run.console.phase('encode', { total: RUNS, unit: 'runs' });
for (let r = 0; r < RUNS; r++) {
  await breathe();
  messages = [];
  gc();
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  messages = encodeTable(prefixes, sets, setOf);
  encodeTimes.push(seconds(t0));
  encodeCpu.push(cpuSeconds(c0));
  phase.update(r + 1);
}
phase.end(null);
const wireBytes = messages.reduce((n, m) => n + m.length, 0);
log(
  `encode: ${messages.length} UPDATEs, ${(wireBytes / 1e6).toFixed(1)} MB, median ${median(encodeTimes).toFixed(3)} s (${median(encodeCpu).toFixed(3)} CPU-s) of ${RUNS}`,
);

const chunks = chunkStream(messages);
const warmup = chunkStream(encodeTable(prefixes.slice(0, WARMUP), sets, setOf));
// The source table is not needed any more: drop it so decoding runs on the heap a receiver has.
messages = [];
prefixes = [];
decodeStream(warmup, WARMUP);
const decodeTimes: number[] = [];
const decodeCpu: number[] = [];
phase = run.console.phase('decode into the table', { total: RUNS, unit: 'runs' });
for (let r = 0; r < RUNS; r++) {
  await breathe();
  gc();
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  decodeStream(chunks, PREFIXES);
  decodeTimes.push(seconds(t0));
  decodeCpu.push(cpuSeconds(c0));
  phase.update(r + 1);
}
phase.end(null);
const discardTimes: number[] = [];
phase = run.console.phase('decode, nothing kept', { total: RUNS, unit: 'runs' });
for (let r = 0; r < RUNS; r++) {
  await breathe();
  gc();
  const t0 = process.hrtime.bigint();
  decodeDiscard(chunks, PREFIXES);
  discardTimes.push(seconds(t0));
  phase.update(r + 1);
}
phase.end(null);
log(`decode without keeping the routes: median ${median(discardTimes).toFixed(3)} s of ${RUNS}`);
log(`decode: median ${median(decodeTimes).toFixed(3)} s (${median(decodeCpu).toFixed(3)} CPU-s) of ${RUNS}`);

const before = memory();
const table = decodeStream(chunks, PREFIXES);
const after = memory();
const bytesPerDecodedRoute = (after - before) / PREFIXES;
log(
  `retained: ${((after - before) / 1e6).toFixed(1)} MB for ${table.prefixes.length} routes and ${table.attributes.length} attribute objects`,
);

const encodeSec = median(encodeTimes);
const decodeSec = median(decodeTimes);
const result = {
  prefixes: PREFIXES,
  attributeSets: SETS,
  updates: table.attributes.length,
  wireBytes,
  decodePrefixesPerSec: Math.round(PREFIXES / decodeSec),
  encodePrefixesPerSec: Math.round(PREFIXES / encodeSec),
  decodeMBPerSec: Number((wireBytes / 1e6 / decodeSec).toFixed(1)),
  encodeMBPerSec: Number((wireBytes / 1e6 / encodeSec).toFixed(1)),
  bytesPerDecodedRoute: Math.round(bytesPerDecodedRoute),
  decodeDiscardPrefixesPerSec: Math.round(PREFIXES / median(discardTimes)),
  encodeCpuSeconds: Number(median(encodeCpu).toFixed(3)),
  decodeCpuSeconds: Number(median(decodeCpu).toFixed(3)),
  loadAverage1m: Number(loadavg()[0]!.toFixed(2)),
  node: process.version,
  cpus: cpus().length,
};
const perRun = (xs: number[]) => xs.map((x, i) => [i + 1, PREFIXES / x / 1e6] as const);
run.add({
  heading: 'Codec',
  text: [
    `${PREFIXES.toLocaleString('en-US')} IPv4 prefixes over ${SETS} attribute sets, ${result.updates} UPDATEs, ${(wireBytes / 1e6).toFixed(2)} MB on the wire; ${RUNS} measured runs after a JIT warm-up, medians below.`,
  ],
  table: {
    head: ['figure', 'value'],
    rows: Object.entries(result).map(([k, v]) => [k, typeof v === 'number' ? v : String(v)]),
  },
  charts: [
    lineChart({
      title: 'Throughput per run',
      xLabel: 'run',
      yLabel: 'million prefixes per second',
      series: [
        { name: 'encode', points: perRun(encodeTimes) },
        { name: 'decode into the table', points: perRun(decodeTimes) },
        { name: 'decode, nothing kept', points: perRun(discardTimes) },
      ],
    }),
  ],
});
run.finish(result);
process.stdout.write(`${JSON.stringify(result)}\n`);
