// The Meshless run in the end-to-end topology: every service as its own process, started with the
// `meshless` command as a user would on separate machines, each in its namespace:
//   control ns: nats-server -js, `meshless datastore`, `meshless sync`, `meshless rr` ×2 (each on
//               its own fabric address, one cluster id), `meshless apply` as the operator;
//   node ns:    `meshless agent --dataplane linux` (no BGP on any node), and the CNI plugin
//               (bin/meshless-cni) executed for each pod as a container runtime does (cni-pods.ts).
// Every process writes its log to the run's directory; a failure message carries the tails.
import { execFile, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { BirdHandle, Netns } from '../../testing/index.js';
import { checkedDistEnv, MESHLESS_BIN } from '../../shared/paths/index.js';
import { CLUSTER_AS, SWITCH_AS } from './bird-configs.js';
import { CniPods, POD_NAMESPACE } from './cni-pods.js';
import { clusterResources, toYaml } from './resources.js';
import { addressIn, startSwitch } from './scenario.js';
import { runEvery } from '../../shared/testing/index.js';
import { CONTROL_ADDRESS, createTopology, SWITCH_ADDRESS, type Pod, type Topology } from './topology.js';

const execFileAsync = promisify(execFile);

export { MESHLESS_BIN };
export const NATS_PORT = 4222;
export const DATASTORE_PORT = 5470;
export const SYNC_PORT = 5473;

/**
 * Why the reflectors cannot run in datastore mode here, or undefined when they can: `meshless rr`
 * must exist and follow the sync servers (`--sync`), as a reflector that is a Node of the cluster.
 */
export async function reflectorUnavailable(): Promise<string | undefined> {
  try {
    const { stdout } = await execFileAsync(process.execPath, [MESHLESS_BIN, '--help'], { timeout: 30_000 });
    if (!/^  rr /m.test(stdout)) return '`meshless rr` is not in this checkout yet (services/rr)';
    const help = (await execFileAsync(process.execPath, [MESHLESS_BIN, 'rr', '--help'], { timeout: 30_000 })).stdout;
    if (!help.includes('--sync'))
      return '`meshless rr` has no datastore mode yet (no --sync: it cannot originate the IPAM blocks applied with `meshless apply`)';
    return undefined;
  } catch (err) {
    return `meshless --help failed: ${(err as Error).message}`;
  }
}

export class ServiceProcess {
  readonly exited: Promise<number | string>;
  private readonly child: ChildProcess;
  private stopping = false;

  constructor(
    readonly name: string,
    readonly logPath: string,
    ns: Netns,
    cmd: string,
    args: readonly string[],
    env: NodeJS.ProcessEnv,
  ) {
    const out = openSync(logPath, 'a');
    try {
      this.child = ns.spawn(cmd, args, { stdio: ['ignore', out, out], env });
    } finally {
      closeSync(out);
    }
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
      this.child.once('error', (err) => resolve(`spawn error: ${err.message}`));
    });
  }

  /** Whether it ended without us stopping or killing it. */
  get crashed(): boolean {
    return !this.running && !this.stopping;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  logTail(chars = 3000): string {
    try {
      return readFileSync(this.logPath, 'utf8').slice(-chars);
    } catch {
      return '';
    }
  }

  /** Wall-clock time of the first JSON log line with this `msg` (at or after `since`), if logged yet. */
  firstLogTime(msg: string, since = 0): number | undefined {
    for (const line of this.logTail(Number.MAX_SAFE_INTEGER).split('\n')) {
      if (!line.includes(msg)) continue;
      try {
        // pino's epoch milliseconds, or an ISO 8601 string (the services' logger writes that).
        const j = JSON.parse(line) as { msg?: string; time?: number | string };
        const time = typeof j.time === 'number' ? j.time : typeof j.time === 'string' ? Date.parse(j.time) : NaN;
        if (j.msg === msg && Number.isFinite(time) && time >= since) return time;
      } catch {
        // not a JSON line
      }
    }
    return undefined;
  }

  /** kill -9: no shutdown path at all. */
  async kill9(): Promise<void> {
    this.stopping = true;
    if (this.running) this.child.kill('SIGKILL');
    await this.exited;
  }

  async stop(graceMs = 5000): Promise<void> {
    this.stopping = true;
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

export class MeshlessCluster {
  readonly dir: string;
  private readonly processes = new Map<string, ServiceProcess>();
  private readonly env: NodeJS.ProcessEnv;

  /** `distChecked`: checkedDistEnv()'s, so the processes do not each check dist/ again. */
  constructor(
    private readonly topo: Topology,
    distChecked: Record<string, string> = {},
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'meshless-e2e-'));
    this.env = { ...process.env, MESHLESS_LOG_LEVEL: process.env.MESHLESS_E2E_LOG_LEVEL ?? 'info', ...distChecked };
  }

  get datastore(): string {
    return `${CONTROL_ADDRESS}:${DATASTORE_PORT}`;
  }

  get sync(): string {
    return `${CONTROL_ADDRESS}:${SYNC_PORT}`;
  }

  process(name: string): ServiceProcess {
    const p = this.processes.get(name);
    if (!p) throw new Error(`no process ${name}`);
    return p;
  }

  /** Starts (or restarts, under the same name and state directory) a process in `ns`. */
  start(name: string, ns: Netns, cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): ServiceProcess {
    const old = this.processes.get(name);
    if (old?.running) throw new Error(`${name} is running already`);
    const p = new ServiceProcess(name, join(this.dir, `${name}.log`), ns, cmd, args, { ...this.env, ...env });
    this.processes.set(name, p);
    return p;
  }

  meshless(name: string, ns: Netns, args: readonly string[], env: NodeJS.ProcessEnv = {}): ServiceProcess {
    return this.start(name, ns, process.execPath, [MESHLESS_BIN, ...args], env);
  }

  stateDir(name: string): string {
    return join(this.dir, 'state', name);
  }

  async startControlPlane(): Promise<void> {
    this.start('nats', this.topo.control, 'nats-server', [
      '-js',
      '-a',
      CONTROL_ADDRESS,
      '-p',
      String(NATS_PORT),
      '-sd',
      join(this.dir, 'nats'),
    ]);
    this.startDatastore();
    this.startSync();
    await this.waitForDatastore();
  }

  startDatastore(): ServiceProcess {
    return this.meshless('datastore', this.topo.control, [
      'datastore',
      '--insecure',
      '--listen',
      this.datastore,
      '--nats',
      `nats://${CONTROL_ADDRESS}:${NATS_PORT}`,
      '--metrics-port',
      '0',
    ]);
  }

  startSync(): ServiceProcess {
    return this.meshless('sync', this.topo.control, [
      'sync',
      '--insecure',
      '--listen',
      this.sync,
      '--nats',
      `nats://${CONTROL_ADDRESS}:${NATS_PORT}`,
      '--state-dir',
      this.stateDir('sync'),
      '--metrics-port',
      '0',
    ]);
  }

  startAgent(node: string): ServiceProcess {
    const n = this.topo.node(node);
    return this.meshless(`agent-${node}`, n.ns, [
      'agent',
      '--node',
      node,
      '--sync',
      this.sync,
      '--dataplane',
      'linux',
      '--state-dir',
      this.stateDir('agents'),
      '--metrics-port',
      '-1',
    ]);
  }

  /**
   * A route reflector on its own fabric address: the Node `name` (address and cluster id come
   * from its spec.bgp; BGPConfiguration bindMode NodeIP makes it bind that address), following
   * the sync servers with the `bgp` syncer; its LMDB directory survives restarts (warm restart).
   */
  startReflector(name: string, address: string): ServiceProcess {
    // The datastore (for LearnedRoute writes) through the environment: `meshless --datastore`
    // is also the CLI's global option, which takes the flag before `rr` sees it.
    return this.meshless(
      name,
      this.topo.control,
      [
        'rr',
        '--insecure',
        '--node',
        name,
        '--sync',
        this.sync,
        '--data-dir',
        this.stateDir(name),
        '--admin',
        `${address}:5474`,
        '--metrics-port',
        '0',
      ],
      { MESHLESS_DATASTORE: this.datastore },
    );
  }

  /**
   * Runs `meshless ARGS` as the operator, from the control namespace; resolves with stdout. Plain
   * text like the services here (`--insecure`), whatever credentials the user running the test
   * has in ~/.config/meshless (the CLI would use them by default).
   */
  async cli(args: readonly string[], input?: string): Promise<string> {
    const file =
      input === undefined
        ? undefined
        : join(this.dir, `input-${Date.now()}-${Math.random().toString(36).slice(2)}.yaml`);
    if (file) writeFileSync(file, input!);
    try {
      const { stdout } = await this.topo.control.exec(
        process.execPath,
        [MESHLESS_BIN, '--datastore', this.datastore, '--credentials', 'none', ...args, ...(file ? ['-f', file] : [])],
        { timeoutMs: 60_000 },
      );
      return stdout;
    } finally {
      if (file) rmSync(file, { force: true });
    }
  }

  apply(yaml: string): Promise<string> {
    return this.cli(['apply'], yaml);
  }

  async waitForDatastore(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      try {
        await this.cli(['get', 'ippools']);
        return;
      } catch (err) {
        last = (err as Error).message;
      }
      for (const name of ['nats', 'datastore']) {
        const p = this.processes.get(name);
        if (p && !p.running) throw new Error(`${name} exited: ${p.logTail()}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(
      `the datastore did not answer within ${timeoutMs} ms (${last}); log: ${this.processes.get('datastore')?.logTail()}`,
    );
  }

  /** A process that ended on its own (name and log tail), if any: waiting on it is pointless. */
  crashed(): string | undefined {
    for (const p of this.processes.values()) if (p.crashed) return `${p.name} exited on its own: ${p.logTail(1500)}`;
    return undefined;
  }

  /** Log tails of every process, for failure messages. */
  diagnostics(): string {
    return [...this.processes.values()]
      .map((p) => `--- ${p.name} (${p.running ? 'running' : 'exited'})\n${p.logTail(1500)}`)
      .join('\n');
  }

  async stop(): Promise<void> {
    // Agents and reflectors first (they talk to the rest), NATS last.
    const order = [...this.processes.values()].sort((a, b) => rank(a.name) - rank(b.name));
    await runEvery('stopping the Meshless processes', [
      ...order.map((p) => () => p.stop()),
      () => !process.env.MESHLESS_E2E_KEEP && rmSync(this.dir, { recursive: true, force: true }),
    ]);
  }
}

function rank(name: string): number {
  if (name.startsWith('agent') || name.startsWith('rr')) return 0;
  if (name === 'sync') return 1;
  if (name === 'datastore') return 2;
  return 3;
}

/** An IPAM block as the datastore has it: its node (affinity) and who uses each allocated address. */
export interface BlockView {
  readonly cidr: string;
  /** The node of `host:<node>`; undefined for a block without affinity. */
  readonly node: string | undefined;
  /** Allocated address → the node using it (the allocation's `secondary.node`). */
  readonly allocated: ReadonlyMap<string, string | undefined>;
}

/** The whole Meshless set-up of the end-to-end run, used by the test and by `meshless demo`. */
export interface MeshlessLab {
  readonly topo: Topology;
  readonly sw: BirdHandle;
  readonly cluster: MeshlessCluster;
  readonly reflectors: ReadonlyArray<{ name: string; address: string }>;
  /** The container runtime: pods are added and deleted through the CNI plugin. */
  readonly pods: CniPods;
  /** The IPAM blocks, read from the datastore with `meshless get ipamblocks`. */
  blocks(): Promise<BlockView[]>;
  /** Current kernel routes of our protocol in a node, as `[type ]dst[ via gw][ dev if]`. */
  nodeRoutes(node: string): Promise<string[]>;
  /** What the agent should have programmed in a node: its blocks blackholed, its pods' /32s. */
  expectedRoutes(node: string): Promise<string[]>;
  /** What a deleted pod left behind (endpoint, address, handle, route, interface); [] when nothing. */
  leftovers(pod: Pod, handleId: string): Promise<string[]>;
  startRouting(): void;
  destroy(): Promise<void>;
}

/**
 * Builds the topology, the switch peering with two reflector addresses, the control plane with
 * the operator's resources applied, and two pods per node added through the CNI plugin (one after
 * the other, node by node, so node-N claims the N-th block it asks for); the agents and reflectors
 * are started by startRouting() (so a caller can time from there).
 */
export async function createMeshlessLab(options: { prefix: string; withReflectors: boolean }): Promise<MeshlessLab> {
  const topo = await createTopology({ prefix: options.prefix });
  let sw: BirdHandle | undefined;
  let cluster: MeshlessCluster | undefined;
  try {
    const reflectors: Array<{ name: string; address: string }> = [];
    for (const name of ['rr-1', 'rr-2']) reflectors.push({ name, address: await topo.addControlAddress() });
    sw = await startSwitch(
      topo,
      reflectors.map((r) => ({ address: r.address, asNumber: CLUSTER_AS })),
    );
    // dist/ checked once here: like the image's processes (no sources beside dist/), the lab's
    // five routing processes start at once without each walking every source first.
    const c = new MeshlessCluster(topo, await checkedDistEnv());
    cluster = c;
    const withLogs = (err: unknown): never => {
      throw new Error(`${(err as Error).message}\n${c.diagnostics()}`);
    };
    await c.startControlPlane().catch(withLogs);
    // The operator's resources; everything about pods is the CNI plugin's.
    await c
      .apply(
        toYaml(
          clusterResources({
            nodes: topo.nodes,
            reflectors,
            switchAddress: SWITCH_ADDRESS,
            switchAs: SWITCH_AS,
            clusterAs: CLUSTER_AS,
          }),
        ),
      )
      .catch(withLogs);
    const pods = new CniPods(topo, c.datastore, c.dir);
    for (const [i, n] of topo.nodes.entries()) {
      for (const suffix of ['a', 'b']) await pods.add(n.name, `pod-${i + 1}${suffix}`).catch(withLogs);
    }
    const json = async <T>(args: string[]): Promise<T[]> =>
      (JSON.parse(await c.cli([...args, '-o', 'json'])) as { items: T[] }).items;
    const blocks = async (): Promise<BlockView[]> => {
      type Block = {
        spec: {
          cidr: string;
          affinity?: string;
          allocations: (number | null)[];
          attributes: Array<{ secondary?: { node?: string } }>;
        };
      };
      return (await json<Block>(['get', 'ipamblocks'])).map(({ spec }) => ({
        cidr: spec.cidr,
        node: spec.affinity?.startsWith('host:') ? spec.affinity.slice(5) : undefined,
        allocated: new Map(
          spec.allocations.flatMap((a, o) =>
            a === null ? [] : [[addressIn(spec.cidr, o), spec.attributes[a]?.secondary?.node] as const],
          ),
        ),
      }));
    };
    const nodeRoutes = async (node: string): Promise<string[]> => {
      const { stdout } = await topo.node(node).ns.exec('ip', ['-j', 'route', 'show', 'proto', '80']);
      return (
        JSON.parse(stdout.trim() || '[]') as Array<{ type?: string; dst: string; dev?: string; gateway?: string }>
      )
        .map(
          (r) =>
            `${r.type && r.type !== 'unicast' ? `${r.type} ` : ''}${r.dst}${r.gateway ? ` via ${r.gateway}` : ''}${r.dev ? ` dev ${r.dev}` : ''}`,
        )
        .sort();
    };
    const theSwitch = sw;
    return {
      topo,
      sw: theSwitch,
      cluster: c,
      reflectors,
      pods,
      blocks,
      nodeRoutes,
      async expectedRoutes(node) {
        const own = (await blocks()).filter((b) => b.node === node).map((b) => `blackhole ${b.cidr}`);
        return [
          ...own,
          ...[...topo.pods.values()].filter((p) => p.node === node).map((p) => `${p.ip} dev ${p.hostInterface}`),
        ].sort();
      },
      async leftovers(pod, handleId) {
        const left: string[] = [];
        const endpoints = await json<{ metadata: { name: string } }>(['get', 'workloadendpoints', '-n', POD_NAMESPACE]);
        if (endpoints.some((e) => e.metadata.name === pods.endpointName(pod)))
          left.push(`WorkloadEndpoint ${pods.endpointName(pod)}`);
        const block = (await blocks()).find((b) => b.allocated.has(pod.ip));
        if (block) left.push(`${pod.ip} still allocated in ${block.cidr} (to ${block.allocated.get(pod.ip)})`);
        const handles = await json<{ spec: { handleID: string } }>(['get', 'ipamhandles']);
        if (handles.some((h) => h.spec.handleID === handleId)) left.push(`IPAMHandle ${handleId}`);
        for (const n of topo.nodes) {
          const routes = (await n.ns.exec('ip', ['route', 'show', 'exact', `${pod.ip}/32`])).stdout.trim();
          // The block owner's route upstream for a borrowed address is the agent's to remove.
          if (routes) left.push(`${n.name}: route ${routes}`);
        }
        const link = await topo
          .node(pod.node)
          .ns.exec('ip', ['-o', 'link', 'show', 'dev', pod.hostInterface])
          .then(
            (r) => r.stdout.trim(),
            () => '',
          );
        if (link) left.push(`${pod.node}: interface ${pod.hostInterface}`);
        return left;
      },
      startRouting() {
        if (options.withReflectors) for (const r of reflectors) c.startReflector(r.name, r.address);
        for (const n of topo.nodes) c.startAgent(n.name);
      },
      destroy: () => runEvery('lab teardown', [() => c.stop(), () => theSwitch.stop(), () => topo.destroy()]),
    };
  } catch (err) {
    // The set-up's own error is the one to report; every cleanup step still runs.
    await runEvery('lab set-up cleanup', [() => cluster?.stop(), () => sw?.stop(), () => topo.destroy()]).catch(
      () => undefined,
    );
    throw err;
  }
}
