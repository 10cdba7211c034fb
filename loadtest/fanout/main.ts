// The fan-out benchmark (issue 3):
//   npm run bench:fanout -- --agents N --servers S --changes C [--nodes 1000 --endpoints 20000
//                           --policies 500 --workers W --compression gzip|deflate|none] --json
// Starts its own nats-server, datastore and S sync server processes, loads the dataset, opens N
// agent streams spread over worker processes, then measures:
//   inSyncSeconds          from opening the streams until every agent is in sync
//   snapshotBytesPerAgent  snapshot chunk bytes received per agent (after compression)
//   latencyMs              KV write of one change to its receipt by each agent, over C changes
//                          (t0 = just before the KV put, so the put is included)
//   floorMs                the same bytes-per-change written by one Node process to N plain TCP
//                          sockets and read by the same workers: the physical floor of this machine
//   serverRssMB, rssPerStreamKB, serverCpuSeconds  of the sync server processes (/proc)
//   failover               kill -9 of one server: seconds until its agents are in sync elsewhere,
//                          and the snapshot bytes that cost
// The last line of stdout is one JSON object; progress goes to stderr. Latencies are recorded in HDR
// histograms (loadtest/report); --report FILE.html adds the latency CDF against the floor and the
// CPU and memory of every process over time.
import { fork, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { entryPoint, MESHLESS_BIN } from '../../services/shared/paths/index.js';
import { benchArgs } from '../args.js';
import { Kvm } from '@nats-io/kv';
import { SyncCompression, SyncResponse } from '../../proto/gen/meshless/v1/sync.js';
import { RESOURCES_BUCKET, connectNats } from '../../services/shared/nats/index.js';
import { createTestPki, freePort, httpOk, startNatsServer, waitFor } from '../../services/shared/testing/index.js';
import { MARKER_KEY, dataset, markerJson, nodeName } from './dataset.js';
import type { FromFloor, FromWorker, ToFloor, ToWorker } from './messages.js';
import {
  now,
  profileArgs,
  spawnService,
  processTree,
  treeCpuSeconds as cpuSeconds,
  treeRssBytes as rssBytes,
} from './proc.js';
import { countsSince, serverFanoutMs, streamCounts } from './server-metrics.js';
import { type FloorRig, measureFloors } from './floor.js';
import { type FailoverPhases, summarizePhases } from './failover-phases.js';
import { checkSnapshotContent } from './content.js';
import { ChangeTail } from './tail.js';
import { BenchRun, descendantsNamed, LatencyHistogram, lineChart } from '../report/index.js';

const bin = MESHLESS_BIN;
const workerEntry = entryPoint('loadtest/fanout/worker.ts');

const USAGE = `Sync-server fan-out benchmark: N agent streams on S sync servers, change latency against the raw-socket floor.

Usage: npm run bench:fanout -- [options]
  --agents N        agent streams (default 1000)
  --servers S       sync server processes (default 1)
  --changes C       changes measured, one at a time (default 100)
  --nodes N         Nodes in the dataset (default 1000)
  --endpoints N     WorkloadEndpoints in the dataset (default 20000)
  --policies N      NetworkPolicies in the dataset (default 500)
  --workers W       agent worker processes (default: one per 2,500 agents, at most 4)
  --compression C   gzip, deflate or none (default gzip)
  --tls             sync servers serve mutual TLS (a throw-away CA; agents present a read-only
                    certificate); the floor stays plain TCP
  --sync-workers N  each sync server's --workers (default: the server's own, 1 = one event loop;
                    0 = one worker process per core)
  --floor-processes K  also measure a multi-core floor: K floor processes, each writing to 1/K of
                    the sockets (default: one per core; 1 = only the single-process floor)
  --json            print only the JSON result line on stdout
  -h, --help        this help
`;
const args = benchArgs('bench:fanout', USAGE, {
  agents: { type: 'string', default: '1000' },
  servers: { type: 'string', default: '1' },
  changes: { type: 'string', default: '100' },
  nodes: { type: 'string', default: '1000' },
  endpoints: { type: 'string', default: '20000' },
  policies: { type: 'string', default: '500' },
  workers: { type: 'string' },
  compression: { type: 'string', default: 'gzip' },
  tls: { type: 'boolean', default: false },
  'sync-workers': { type: 'string' },
  'floor-processes': { type: 'string' },
  json: { type: 'boolean', default: false },
});

const syncWorkers = args.values['sync-workers'] === undefined ? undefined : args.int('sync-workers', 0);
const floorProcesses = args.values['floor-processes'] === undefined ? cpus().length : args.int('floor-processes', 1);

const run = new BenchRun('bench:fanout', { reportPath: args.report });
const say = (s: string) => run.log(s);
/** With FANOUT_PROFILE_DIR: the monotonic clock in µs (a V8 CPU profile's time base) at a phase's edge. */
const mark = (phase: string) => {
  if (process.env.FANOUT_PROFILE_DIR) say(`profile mark ${phase} ${process.hrtime.bigint() / 1000n}`);
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Rejects after `ms` (without keeping the process alive): a lost change fails the run, never hangs it. */
const deadline = (ms: number, what: string) =>
  new Promise<never>((_, reject) => setTimeout(() => reject(new Error(what)), ms).unref());
/** How long one change may take to reach every agent before the run fails. */
const CHANGE_TIMEOUT_MS = 60_000;

interface ServerProc {
  child: ChildProcess;
  address: string;
  metricsPort: number;
  ready: Promise<void>;
}

/** A `meshless sync` process; its address and readiness come from its JSON log. */
function startSyncServer(natsUrl: string, stateDir: string, id: string, credentials?: string): Promise<ServerProc> {
  // FANOUT_PROFILE_DIR: write a V8 CPU profile of each sync server (read it with Chrome DevTools).
  const profile = profileArgs(id);
  const child = spawnService(
    [
      'sync',
      ...(credentials ? ['--credentials', credentials] : ['--insecure']),
      '--listen',
      '127.0.0.1:0',
      '--nats',
      natsUrl,
      '--state-dir',
      stateDir,
      '--server-id',
      id,
      '--metrics-port',
      '0',
      ...(syncWorkers !== undefined ? ['--workers', String(syncWorkers)] : []),
    ],
    { MESHLESS_LOG_LEVEL: 'info' },
    profile,
    // FANOUT_SYNC_BIN: another checkout's bin/meshless.mjs for the servers (same load generator).
    process.env.FANOUT_SYNC_BIN ?? bin,
  );
  let buffered = '';
  let readyResolve: () => void = () => undefined;
  const ready = new Promise<void>((r) => (readyResolve = r));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`sync server ${id} exited with ${code}`)));
    // FANOUT_SERVER_LOG_DIR: keep each server's log (JSON lines) as DIR/<id>.log.
    // Created here: appending to a missing directory threw in the data handler, which killed the
    // bench and left its servers running.
    const logDir = process.env.FANOUT_SERVER_LOG_DIR;
    if (logDir) mkdirSync(logDir, { recursive: true });
    child.stdout!.on('data', (d: Buffer) => {
      if (logDir) appendFileSync(join(logDir, `${id}.log`), d);
      buffered += d.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        try {
          const l = JSON.parse(line) as { msg?: string; address?: string; metricsPort?: number };
          if (l.msg === 'sync server listening')
            resolve({ child, address: l.address!, metricsPort: l.metricsPort!, ready });
          if (l.msg === 'caught up with the datastore: ready') readyResolve();
        } catch {
          // not a log line
        }
      }
    });
  });
}

async function main(): Promise<void> {
  const agents = args.int('agents', 1);
  const servers = args.int('servers', 1);
  const changes = args.int('changes', 1);
  const size = { nodes: args.int('nodes', 1), endpoints: args.int('endpoints'), policies: args.int('policies') };
  const workerCount =
    args.values.workers === undefined ? Math.min(4, Math.ceil(agents / 2500)) : args.int('workers', 1);
  const compressionName = args.values.compression;
  if (!['gzip', 'deflate', 'none'].includes(compressionName))
    args.fail(`--compression: expected gzip, deflate or none, got '${compressionName}'`);
  const compression =
    compressionName === 'none'
      ? [SyncCompression.SYNC_COMPRESSION_NONE]
      : compressionName === 'deflate'
        ? [SyncCompression.SYNC_COMPRESSION_DEFLATE]
        : [SyncCompression.SYNC_COMPRESSION_GZIP];
  const dir = mkdtempSync(join(tmpdir(), 'meshless-fanout-'));
  const children: ChildProcess[] = [];
  const nats = await startNatsServer({ storeDir: join(dir, 'nats') });
  let pki: Awaited<ReturnType<typeof createTestPki>> | undefined;
  try {
    say(`nats at ${nats.url}; starting the datastore`);
    const dsPort = await freePort();
    const dsMetrics = await freePort();
    const datastore = spawnService(
      [
        'datastore',
        '--insecure',
        '--listen',
        `127.0.0.1:${dsPort}`,
        '--nats',
        nats.url,
        '--metrics-port',
        String(dsMetrics),
      ],
      { MESHLESS_LOG_LEVEL: 'warn' },
    );
    datastore.stdout!.resume();
    children.push(datastore);
    run.sampler.watch('nats-server', descendantsNamed('nats-server'));
    run.sampler.watch('datastore', datastore.pid!);
    await waitFor('the datastore', () => httpOk(`http://127.0.0.1:${dsMetrics}/readyz`), 30_000);

    const nc = await connectNats(nats.url, 'fanout-bench');
    const kv = await new Kvm(nc).open(RESOURCES_BUCKET);
    const t0Load = now();
    let loaded = 0;
    let inflight: Promise<unknown>[] = [];
    const loading = run.console.phase('loading the dataset', { unit: 'resources' });
    for (const item of dataset(size)) {
      inflight.push(kv.put(item.key, item.json));
      loaded++;
      if (inflight.length >= 512) {
        await Promise.all(inflight);
        inflight = [];
        loading.update(loaded);
      }
    }
    await Promise.all(inflight);
    loading.end(null);
    await kv.put(MARKER_KEY, markerJson(0, 0));
    say(`loaded ${loaded} resources in ${((now() - t0Load) / 1000).toFixed(1)} s`);

    // --tls: a throw-away CA; each server a sync-server certificate for 127.0.0.1, the agents one
    // read-only certificate (the role a load test may sync any node's view with).
    pki = args.values.tls ? await createTestPki() : undefined;
    const clientTls = pki
      ? await (async () => {
          const creds = await pki.issue('read-only', 'fanout-bench');
          const read = (f: string) => readFileSync(join(creds, f), 'utf8');
          return { ca: read('ca.crt'), cert: read('tls.crt'), key: read('tls.key') };
        })()
      : undefined;
    const syncs: ServerProc[] = [];
    for (let s = 0; s < servers; s++) {
      const credentials = pki ? await pki.issue('sync-server', `s${s}`, { hosts: ['127.0.0.1'] }) : undefined;
      syncs.push(await startSyncServer(nats.url, join(dir, `sync-${s}`), `s${s}`, credentials));
    }
    children.push(...syncs.map((s) => s.child));
    // A server with worker processes is its process tree.
    syncs.forEach((s, i) => run.sampler.watch(`sync server s${i}`, () => processTree(s.child.pid!)));
    await Promise.all(syncs.map((s) => s.ready));
    await sleep(1000);
    // A first scrape loads each server's metrics SDK now, not inside a measured phase.
    await Promise.all(syncs.map((s) => streamCounts(s.metricsPort)));
    const idleRss = syncs.map((s) => rssBytes(s.child.pid!));
    const cpuStart = syncs.map((s) => cpuSeconds(s.child.pid!));
    say(
      `${servers} sync server(s) ready at ${syncs.map((s) => s.address).join(', ')}; idle RSS ${idleRss.map((r) => (r / 2 ** 20).toFixed(0)).join('/')} MB`,
    );

    // Workers, each holding a slice of the agents.
    const workers: ChildProcess[] = [];
    /** The load generator's CPU-seconds so far (all workers): it shares the cores with the servers. */
    const workersCpu = () => workers.reduce((n, c) => n + cpuSeconds(c.pid!), 0);
    const inbox: FromWorker[][] = [];
    const listeners: Array<(m: FromWorker, w: number) => void> = [];
    for (let w = 0; w < workerCount; w++) {
      const child = fork(workerEntry.script, [], {
        execArgv: [...workerEntry.execArgv, '--max-old-space-size=8192', ...profileArgs('worker')],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      workers.push(child);
      children.push(child);
      run.sampler.watch('load generator (workers)', () => workers.map((c) => c.pid!));
      inbox.push([]);
      child.on('message', (m: FromWorker) => {
        for (const l of listeners) l(m, w);
      });
    }
    const collect = <T extends FromWorker['type']>(
      type: T,
      count: number,
    ): Promise<Array<Extract<FromWorker, { type: T }> & { worker: number }>> =>
      new Promise((resolve) => {
        const got: Array<Extract<FromWorker, { type: T }> & { worker: number }> = [];
        const l = (m: FromWorker, w: number) => {
          if (m.type !== type) return;
          got.push({ ...(m as Extract<FromWorker, { type: T }>), worker: w });
          if (got.length === count) {
            listeners.splice(listeners.indexOf(l), 1);
            resolve(got);
          }
        };
        listeners.push(l);
      });
    const helloed = collect('hello', workerCount);
    await helloed;
    const endpoints = syncs.map((s) => s.address);
    const perWorker: Array<Array<{ index: number; node: string }>> = workers.map(() => []);
    for (let i = 0; i < agents; i++)
      perWorker[i % workerCount]!.push({ index: i, node: nodeName(i % Math.max(1, size.nodes)) });

    say(`opening ${agents} agent streams from ${workerCount} worker process(es)`);
    const insync = collect('insync', workers.filter((_, w) => perWorker[w]!.length > 0).length);
    const syncing = run.console.phase('agents in sync', { total: agents, unit: 'agents' });
    const inSyncPerWorker = workers.map(() => 0);
    const onProgress = (m: FromWorker, w: number) => {
      if (m.type === 'progress') inSyncPerWorker[w] = m.inSync;
      else if (m.type === 'insync') inSyncPerWorker[w] = m.endpoints.length;
      else return;
      syncing.update(inSyncPerWorker.reduce((a, b) => a + b, 0));
    };
    listeners.push(onProgress);
    const tOpen = now();
    mark('open');
    const cpuBeforeOpen = syncs.map((s) => cpuSeconds(s.child.pid!));
    const workerCpuBeforeOpen = workersCpu();
    workers.forEach(
      (w, i) =>
        perWorker[i]!.length > 0 &&
        w.send({
          type: 'connect',
          endpoints,
          compression,
          agents: perWorker[i]!,
          totalAgents: agents,
          ...(clientTls ? { tls: clientTls } : {}),
        } satisfies ToWorker),
    );
    const synced = await insync;
    listeners.splice(listeners.indexOf(onProgress), 1);
    syncing.end(null);
    const inSyncSeconds = (now() - tOpen) / 1000;
    mark('insync');
    // CPU-seconds of the servers while the agents took their snapshots: steadier than wall time
    // on a shared machine (the load generator competes for the same cores).
    const coldStartCpuSeconds = syncs.reduce((n, s, i) => n + cpuSeconds(s.child.pid!) - cpuBeforeOpen[i]!, 0);
    const coldStartLoadGenCpuSeconds = workersCpu() - workerCpuBeforeOpen;
    const snapshotBytes = synced.flatMap((m) => m.snapshotBytes);
    const snapshotContent = checkSnapshotContent(synced);
    if (snapshotContent.agentsDiffering > 0 || snapshotContent.agentsWithoutSnapshot > 0)
      say(`snapshot content: ${JSON.stringify(snapshotContent)} (agents of one node should hold the same bytes)`);
    const streamsPerServer = endpoints.map((e) =>
      synced.reduce((n, m) => n + m.endpoints.filter((x) => x === e).length, 0),
    );
    say(
      `all ${agents} agents in sync in ${inSyncSeconds.toFixed(2)} s (servers ${coldStartCpuSeconds.toFixed(2)} CPU-s); streams per server ${streamsPerServer.join('/')}`,
    );
    await sleep(2000);
    const loadedRss = syncs.map((s) => rssBytes(s.child.pid!));

    // Latency: one change at a time, each waited for at every agent.
    const latencies = new LatencyHistogram('latencyMs');
    const tail = new ChangeTail();
    listeners.push((m) => m.type === 'ping-seen' && tail.ping(m.endpoint, m.id, m.at));
    const cpuBeforeChanges = syncs.map((s) => cpuSeconds(s.child.pid!));
    const changing = run.console.phase('changes to every agent', { total: changes, unit: 'changes' });
    for (let c = 1; c <= changes; c++) {
      const all = collect('received', synced.length).then((ms) => ms.filter((m) => m.change === c));
      mark(`change ${c}`);
      const t0 = now();
      await kv.put(MARKER_KEY, markerJson(c, t0));
      const got = await Promise.race([
        all,
        deadline(CHANGE_TIMEOUT_MS, `change ${c} did not reach every agent within ${CHANGE_TIMEOUT_MS / 1000} s`),
      ]);
      const ms = got.flatMap((m) => m.times.map((t) => t - t0));
      latencies.recordAll(ms);
      tail.change(c, t0, ms);
      changing.update(c, `p99 so far ${latencies.at(99).toFixed(1)} ms`);
      await sleep(20);
    }
    changing.end(null);
    const cpuChanges = syncs.reduce((n, s, i) => n + cpuSeconds(s.child.pid!) - cpuBeforeChanges[i]!, 0);
    const latencyMs = latencies.summary();
    const fanout = await Promise.all(syncs.map((s) => serverFanoutMs(s.metricsPort)));
    const serverFanout = {
      p50: Math.max(...fanout.map((f) => f.p50)),
      p99: Math.max(...fanout.map((f) => f.p99)),
      max: Math.max(...fanout.map((f) => f.max)),
      overLastBound: fanout.reduce((n, f) => n + f.overLastBound, 0),
    };
    say(
      `latency over ${changes} changes x ${agents} agents: p50 ${latencyMs.p50} p99 ${latencyMs.p99} max ${latencyMs.max} ms (server fan-out p50 <= ${serverFanout.p50} p99 <= ${serverFanout.p99} ms)`,
    );

    // The floor: the same number of bytes per change (a live delta carries its commit time), plain TCP, same receivers.
    const frameBytes = Math.max(
      16,
      SyncResponse.encode({
        message: {
          $case: 'deltas',
          value: {
            block: {
              updates: [
                {
                  key: MARKER_KEY,
                  revision: 1,
                  value: Buffer.from(markerJson(1, now())),
                  deleted: false,
                  traceparent: '',
                  commitTimeUnixMicros: Date.now() * 1000,
                },
              ],
              compressed: Buffer.alloc(0),
            },
            revision: 1,
          },
        },
      }).finish().byteLength,
    );
    const rig: FloorRig = {
      run,
      children,
      workers,
      perWorker,
      collect,
      reporting: synced.length,
      agents,
      changes,
      frameBytes,
    };
    const { floorLatencies, floorMultiLatencies, floorMs, floorMultiMs, floorBestP99 } = await measureFloors(
      rig,
      floorProcesses,
    );
    const floorForReport = (floorMs ?? floorMultiMs)!;

    // Failover: kill -9 the first server, wait until its agents are in sync elsewhere.
    let failover: {
      agents: number;
      resyncSeconds: number;
      snapshotBytes: number;
      survivorCpuSeconds: number;
      loadGenCpuSeconds: number;
      /** The survivors' resumes, streams closed and connections rejected (by reason) meanwhile. */
      survivorStreams: Record<string, number>;
      /** Per orphan, where its time went (failover-phases.ts). */
      phases: FailoverPhases;
      /** Warm standby sessions (as SyncAgent; FANOUT_STANDBY=0: none), orphans that resumed over one, and the second server's RSS growth per standby session. */
      standby: boolean;
      warmStreams: number;
      standbyRssKBPerSession?: number;
    } | null = null;
    if (servers >= 2) {
      const victim = syncs[0]!;
      const standby = process.env.FANOUT_STANDBY !== '0';
      const rssBeforeStandby = rssBytes(syncs[1]!.child.pid!);
      const watching = collect('watching', workers.length);
      const early = collect('resynced', workers.length);
      workers.forEach((w) => w.send({ type: 'failover-watch', endpoint: victim.address } satisfies ToWorker));
      // Workers holding none of the victim's agents answer 'resynced' at once; with
      // standby sessions the others answer once every stream's standby session is up.
      await Promise.race([watching, sleep(standby ? 120_000 : 2000)]);
      // What a standby session costs the server it idles on (the victim's agents' standbys are here).
      const standbyKB = (rssBytes(syncs[1]!.child.pid!) - rssBeforeStandby) / 1024 / (agents / servers);
      if (standby)
        say(`standby sessions: the second server's RSS grew ${Math.round(standbyKB * 10) / 10} KB per session`);
      const survivors = syncs.slice(1);
      const countsBeforeKill = await Promise.all(survivors.map((s) => streamCounts(s.metricsPort)));
      const cpuBeforeKill = survivors.map((s) => cpuSeconds(s.child.pid!));
      const workerCpuBeforeKill = workersCpu();
      const tKill = now();
      mark('kill');
      const failing = run.console.phase('failover: agents of the killed server back in sync elsewhere');
      victim.child.kill('SIGKILL');
      const resynced = await early;
      mark('resynced');
      const survivorCpuSeconds = survivors.reduce((n, s, i) => n + cpuSeconds(s.child.pid!) - cpuBeforeKill[i]!, 0);
      const loadGenCpuSeconds = workersCpu() - workerCpuBeforeKill;
      const survivorStreams: Record<string, number> = {};
      for (const [i, s] of survivors.entries())
        for (const [k, v] of Object.entries(countsSince(await streamCounts(s.metricsPort), countsBeforeKill[i]!)))
          survivorStreams[k] = (survivorStreams[k] ?? 0) + v;
      failing.end(null);
      const moved = resynced.reduce((n, m) => n + m.count, 0);
      failover = {
        agents: moved,
        resyncSeconds:
          Math.round((Math.max(...resynced.filter((m) => m.count > 0).map((m) => m.at), tKill) - tKill) / 10) / 100,
        snapshotBytes: resynced.reduce((n, m) => n + m.snapshotBytes, 0),
        survivorCpuSeconds: Math.round(survivorCpuSeconds * 100) / 100,
        loadGenCpuSeconds: Math.round(loadGenCpuSeconds * 100) / 100,
        survivorStreams,
        standby,
        warmStreams: resynced.reduce((n, m) => n + m.warm, 0),
        ...(standby ? { standbyRssKBPerSession: Math.round(standbyKB * 10) / 10 } : {}),
        phases: summarizePhases(
          resynced.flatMap((m) => m.moments),
          tKill,
        ),
      };
      say(
        `failover: ${moved} agents in sync elsewhere ${failover.resyncSeconds} s after kill -9 (survivor ${failover.survivorCpuSeconds} CPU-s, ${failover.warmStreams} over standby sessions), ${failover.snapshotBytes} snapshot bytes`,
      );
    }

    const serverCpuSeconds = syncs.reduce(
      (n, s, i) =>
        s.child.exitCode === null && s.child.signalCode === null ? n + cpuSeconds(s.child.pid!) - cpuStart[i]! : n,
      0,
    );
    const rssPerStream = loadedRss
      .map((r, i) => (streamsPerServer[i]! > 0 ? (r - idleRss[i]!) / streamsPerServer[i]! : 0))
      .filter((x) => x > 0);
    const result = {
      agents,
      servers,
      changes,
      dataset: { ...size, resources: loaded },
      workers: workerCount,
      compression: compressionName,
      tls: args.values.tls,
      directWrites: process.env.MESHLESS_DIRECT_WRITES !== 'false',
      inSyncSeconds: Math.round(inSyncSeconds * 100) / 100,
      coldStartCpuSeconds: Math.round(coldStartCpuSeconds * 100) / 100,
      coldStartLoadGenCpuSeconds: Math.round(coldStartLoadGenCpuSeconds * 100) / 100,
      snapshotBytesPerAgent: Math.round(snapshotBytes.reduce((a, b) => a + b, 0) / Math.max(1, snapshotBytes.length)),
      snapshotContent,
      latencyMs,
      floorMs,
      floorMultiMs: floorMultiMs && { processes: floorProcesses, ...floorMultiMs },
      floorBestP99,
      p99OverBestFloor: Math.round((latencyMs.p99 / floorBestP99) * 100) / 100,
      changeTail: tail.summary(),
      syncWorkers: syncWorkers ?? 'default (1)',
      serverFanoutMs: serverFanout,
      serverRssMB: Math.round(Math.max(...loadedRss) / 2 ** 20),
      serverIdleRssMB: Math.round(Math.max(...idleRss) / 2 ** 20),
      rssPerStreamKB:
        Math.round(rssPerStream.reduce((a, b) => a + b, 0) / Math.max(1, rssPerStream.length) / 102.4) / 10,
      serverCpuSeconds: Math.round(serverCpuSeconds * 100) / 100,
      serverCpuSecondsDuringChanges: Math.round(cpuChanges * 100) / 100,
      failover,
      machine: {
        cpus: cpus().length,
        model: cpus()[0]?.model ?? '',
        loadAverage1m: Math.round(loadavg()[0]! * 100) / 100,
        node: process.version,
      },
    };
    workers.forEach((w) => w.send({ type: 'stop' } satisfies ToWorker));
    await nc.close();
    run.add({
      heading: 'Fan-out',
      text: [
        `${agents} agent streams on ${servers} sync server(s), dataset ${loaded} resources (${size.nodes} nodes, ${size.endpoints} endpoints, ${size.policies} policies), ${workerCount} load-generator process(es), ${compressionName} offered. Latency: from just before the KV put of a change to its receipt at each agent, ${changes} changes one at a time; floor: a frame of the same size written by one Node process to ${agents} plain TCP sockets and read by the same workers.`,
      ],
      table: {
        head: ['figure', 'value'],
        rows: [
          ['all agents in sync (s)', result.inSyncSeconds],
          ['snapshot bytes per agent', result.snapshotBytesPerAgent],
          [
            'latency p50 / p90 / p99 / p99.9 / max (ms)',
            `${latencyMs.p50} / ${latencyMs.p90} / ${latencyMs.p99} / ${latencyMs.p999} / ${latencyMs.max} (${latencyMs.count} receipts)`,
          ],
          [
            'floor p50 / p90 / p99 / p99.9 / max (ms)',
            `${floorForReport.p50} / ${floorForReport.p90} / ${floorForReport.p99} / ${floorForReport.p999} / ${floorForReport.max} (${floorForReport.count} receipts${floorMs ? '' : `, ${floorProcesses} processes`})`,
          ],
          [
            'server fan-out p50 / p99 / max (ms, histogram bucket bounds)',
            `${serverFanout.p50} / ${serverFanout.p99} / ${serverFanout.max}`,
          ],
          ['server RSS MB (idle)', `${result.serverRssMB} (${result.serverIdleRssMB})`],
          ['RSS per stream KB', result.rssPerStreamKB],
          ['server CPU s (during the changes)', `${result.serverCpuSeconds} (${result.serverCpuSecondsDuringChanges})`],
          [
            'failover',
            failover
              ? `${failover.agents} agents in sync elsewhere ${failover.resyncSeconds} s after kill -9, ${failover.snapshotBytes} snapshot bytes`
              : 'not run (needs --servers 2 or more)',
          ],
        ],
      },
      charts: [
        lineChart({
          title: `Change latency to ${agents} agents vs the raw-socket floor (CDF)`,
          xLabel: 'latency ms (log scale)',
          yLabel: 'fraction of receipts',
          xScale: 'log',
          yMax: 1,
          series: [
            { name: 'meshless sync', points: latencies.cdf() },
            { name: 'floor (plain TCP)', points: (floorLatencies ?? floorMultiLatencies)!.cdf(), dashed: true },
          ],
        }),
      ],
    });
    run.finish(result);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    // SIGTERM first (servers drain and close: a --cpu-prof profile gets written), then SIGKILL.
    const alive = children.filter((c) => c.exitCode === null && c.signalCode === null);
    for (const c of alive) c.kill('SIGTERM');
    await Promise.race([Promise.all(alive.map((c) => new Promise((r) => c.once('exit', r)))), sleep(15_000)]);
    for (const c of alive) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await nats.stop();
    rmSync(dir, { recursive: true, force: true });
    pki?.remove();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`[fanout] failed: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
