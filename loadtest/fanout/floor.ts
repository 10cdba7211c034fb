// bench:fanout's raw-socket floor: the bytes one change costs, written by plain Node processes
// straight to sockets the load generator's workers hold open, no gRPC, no HTTP/2: what a change
// to every agent costs at the least on this machine, measured in the same run as the servers.
import { fork, type ChildProcess } from 'node:child_process';
import { entryPoint } from '../../services/shared/paths/index.js';
import { waitFor } from '../../services/shared/testing/index.js';
import { type BenchRun, LatencyHistogram } from '../report/index.js';
import type { FromFloor, FromWorker, ToFloor, ToWorker } from './messages.js';
import { now } from './proc.js';
import { openFileLimit, RESERVED_FDS } from '../../services/sync/index.js';

const floorEntry = entryPoint('loadtest/fanout/floor-server.ts');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the floor needs of the running benchmark. */
export interface FloorRig {
  run: BenchRun;
  /** Processes to kill at the end (the floor's are added). */
  children: ChildProcess[];
  /** The load generator's workers, and the agents each one holds. */
  workers: ChildProcess[];
  perWorker: ReadonlyArray<ReadonlyArray<unknown>>;
  /** Resolves with `count` messages of `type` from the workers. */
  collect<T extends FromWorker['type']>(
    type: T,
    count: number,
  ): Promise<Array<Extract<FromWorker, { type: T }> & { worker: number }>>;
  /** Workers that report latencies for each change. */
  reporting: number;
  agents: number;
  changes: number;
  /** The size of one change's frame as the servers wrote it. */
  frameBytes: number;
}

// One floor process writing to every socket, then (--floor-processes K > 1) K of them, each
// writing to 1/K of the sockets: the multi-core floor a server using every core is compared to.
// The multi-core floor's clock starts in this process, before it tells the K processes (their
// IPC delivery counts against them, as the KV put and watch count against the servers).
export async function measureFloor(rig: FloorRig, processes: number): Promise<LatencyHistogram> {
  const floors = Array.from({ length: processes }, () =>
    fork(floorEntry.script, [String(rig.frameBytes)], {
      execArgv: floorEntry.execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  rig.children.push(...floors);
  rig.run.sampler.watch(processes === 1 ? 'floor server' : `floor servers (${processes})`, () =>
    floors.map((f) => f.pid!),
  );
  const floorMsgs: Array<(m: FromFloor, i: number) => void> = [];
  const accepted = floors.map(() => 0);
  floors.forEach((f, i) =>
    f.on('message', (m: FromFloor) => {
      if (m.type === 'connections') accepted[i] = m.count;
      floorMsgs.forEach((l) => l(m, i));
    }),
  );
  const ports = await Promise.all(
    floors.map(
      (_, i) => new Promise<number>((r) => floorMsgs.push((m, j) => j === i && m.type === 'listening' && r(m.port))),
    ),
  );
  // Accepted on the floor side (not just connected on ours) before the first write.
  const connected = rig.collect('floor-connected', rig.workers.filter((_, w) => rig.perWorker[w]!.length > 0).length);
  rig.workers.forEach(
    (w, i) =>
      rig.perWorker[i]!.length > 0 &&
      w.send({
        type: 'floor-connect',
        ports,
        count: rig.perWorker[i]!.length,
        frameBytes: rig.frameBytes,
      } satisfies ToWorker),
  );
  await connected;
  await waitFor(
    'the floor servers to accept every socket',
    () => accepted.reduce((a, b) => a + b, 0) === rig.agents,
    300_000,
    5,
  );
  const latencies = new LatencyHistogram(processes === 1 ? 'floorMs' : 'floorMultiMs');
  const flooring = rig.run.console.phase(`floor: the same bytes over plain sockets from ${processes} process(es)`, {
    total: rig.changes,
    unit: 'changes',
  });
  for (let c = 1; c <= rig.changes; c++) {
    const all = rig.collect('floor-received', rig.reporting).then((ms) => ms.filter((m) => m.change === c));
    const t0 = processes === 1 ? undefined : now();
    for (const f of floors) f.send({ type: 'send', change: c, t0 } satisfies ToFloor);
    for (const m of await all) latencies.recordAll(m.latencies);
    flooring.update(c);
    await sleep(20);
  }
  flooring.end(null);
  for (const f of floors) f.send({ type: 'stop' } satisfies ToFloor);
  await sleep(200);
  return latencies;
}

/**
 * The single-process floor, then (K > 1) the K-process one, each logged; and the better p99. One
 * floor process holds a socket per agent: past its open-file limit (20,000 here, not raisable) it
 * cannot, and only the multi-process floor is measured.
 */
export async function measureFloors(rig: FloorRig, processes: number) {
  const fileLimit = openFileLimit();
  const single = fileLimit === undefined || rig.agents <= fileLimit - RESERVED_FDS || processes <= 1;
  if (!single)
    rig.run.log(`${rig.agents} sockets exceed one process's open-file limit (${fileLimit}): no single-process floor`);
  const floorLatencies = single ? await measureFloor(rig, 1) : undefined;
  const floorMs = floorLatencies?.summary() ?? null;
  if (floorMs)
    rig.run.log(
      `floor (${rig.frameBytes} B to ${rig.agents} plain sockets): p50 ${floorMs.p50} p99 ${floorMs.p99} max ${floorMs.max} ms`,
    );
  const floorMultiLatencies = processes > 1 ? await measureFloor(rig, processes) : undefined;
  const floorMultiMs = floorMultiLatencies?.summary() ?? null;
  if (floorMultiMs)
    rig.run.log(
      `multi-core floor (${processes} processes): p50 ${floorMultiMs.p50} p99 ${floorMultiMs.p99} max ${floorMultiMs.max} ms`,
    );
  const floorBestP99 = Math.min(floorMs?.p99 ?? Infinity, floorMultiMs?.p99 ?? Infinity);
  return { floorLatencies, floorMultiLatencies, floorMs, floorMultiMs, floorBestP99 };
}
