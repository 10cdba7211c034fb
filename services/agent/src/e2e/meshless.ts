// The Meshless run in the end-to-end topology: every service as its own process, started with the
// `meshless` command as a user would on separate machines, each in its namespace:
//   control ns: nats-server -js, `meshless datastore`, `meshless sync`, `meshless rr` ×2 (each on
//               its own fabric address, one cluster id), `meshless apply/delete` as the operator;
//   node ns:    `meshless agent --dataplane linux` (no BGP on any node).
// Every process writes its log to the run's directory; a failure message carries the tails.
import { execFile, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Netns } from '../../../bgp/src/testing/index.js';
import { CONTROL_ADDRESS, type Topology } from './topology.js';

const execFileAsync = promisify(execFile);

export const MESHLESS_BIN = fileURLToPath(new URL('../../../../bin/meshless.mjs', import.meta.url));
export const NATS_PORT = 4222;
export const DATASTORE_PORT = 5470;
export const SYNC_PORT = 5473;

/** Whether `meshless <command>` exists in this checkout (a service still being built may not). */
export async function hasCommand(command: string): Promise<boolean> {
  try {
    // `meshless help` lists the commands, one per line, each line starting with its name.
    const { stdout } = await execFileAsync(process.execPath, [MESHLESS_BIN, '--help'], { timeout: 30_000 });
    return new RegExp(`^  ${command} `, 'm').test(stdout);
  } catch {
    return false;
  }
}

export class ServiceProcess {
  readonly exited: Promise<number | string>;
  private readonly child: ChildProcess;

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

  /** kill -9: no shutdown path at all. */
  async kill9(): Promise<void> {
    if (this.running) this.child.kill('SIGKILL');
    await this.exited;
  }

  async stop(graceMs = 5000): Promise<void> {
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

  constructor(private readonly topo: Topology) {
    this.dir = mkdtempSync(join(tmpdir(), 'meshless-e2e-'));
    this.env = { ...process.env, MESHLESS_LOG_LEVEL: process.env.MESHLESS_E2E_LOG_LEVEL ?? 'info' };
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
  start(name: string, ns: Netns, cmd: string, args: readonly string[]): ServiceProcess {
    const old = this.processes.get(name);
    if (old?.running) throw new Error(`${name} is running already`);
    const p = new ServiceProcess(name, join(this.dir, `${name}.log`), ns, cmd, args, this.env);
    this.processes.set(name, p);
    return p;
  }

  meshless(name: string, ns: Netns, args: readonly string[]): ServiceProcess {
    return this.start(name, ns, process.execPath, [MESHLESS_BIN, ...args]);
  }

  stateDir(name: string): string {
    return join(this.dir, 'state', name);
  }

  async startControlPlane(): Promise<void> {
    this.start('nats', this.topo.control, 'nats-server', ['-js', '-a', CONTROL_ADDRESS, '-p', String(NATS_PORT), '-sd', join(this.dir, 'nats')]);
    this.startDatastore();
    this.startSync();
    await this.waitForDatastore();
  }

  startDatastore(): ServiceProcess {
    return this.meshless('datastore', this.topo.control, ['datastore', '--listen', this.datastore, '--nats', `nats://${CONTROL_ADDRESS}:${NATS_PORT}`, '--metrics-port', '0']);
  }

  startSync(): ServiceProcess {
    return this.meshless('sync', this.topo.control, ['sync', '--listen', this.sync, '--nats', `nats://${CONTROL_ADDRESS}:${NATS_PORT}`, '--state-dir', this.stateDir('sync'), '--metrics-port', '0']);
  }

  startAgent(node: string): ServiceProcess {
    const n = this.topo.node(node);
    return this.meshless(`agent-${node}`, n.ns, ['agent', '--node', node, '--sync', this.sync, '--dataplane', 'linux', '--state-dir', this.stateDir('agents'), '--metrics-port', '-1']);
  }

  /**
   * A route reflector on its own fabric address: a Node with a cluster id in the datastore,
   * following the sync servers with the `bgp` syncer; its LMDB directory survives restarts.
   */
  startReflector(name: string, address: string, clusterId: string): ServiceProcess {
    return this.meshless(name, this.topo.control, ['rr', '--node', name, '--sync', this.sync, '--listen', `${address}:179`, '--cluster-id', clusterId, '--state-dir', this.stateDir(name), '--metrics-port', '0']);
  }

  /** Runs `meshless ARGS` as the operator, from the control namespace; resolves with stdout. */
  async cli(args: readonly string[], input?: string): Promise<string> {
    const file = input === undefined ? undefined : join(this.dir, `input-${Date.now()}-${Math.random().toString(36).slice(2)}.yaml`);
    if (file) writeFileSync(file, input!);
    try {
      const { stdout } = await this.topo.control.exec(process.execPath, [MESHLESS_BIN, '--datastore', this.datastore, ...args, ...(file ? ['-f', file] : [])], { timeoutMs: 60_000 });
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
    throw new Error(`the datastore did not answer within ${timeoutMs} ms (${last}); log: ${this.processes.get('datastore')?.logTail()}`);
  }

  /** Log tails of every process, for failure messages. */
  diagnostics(): string {
    return [...this.processes.values()].map((p) => `--- ${p.name} (${p.running ? 'running' : 'exited'})\n${p.logTail(1500)}`).join('\n');
  }

  async stop(): Promise<void> {
    // Agents and reflectors first (they talk to the rest), NATS last.
    const order = [...this.processes.values()].sort((a, b) => rank(a.name) - rank(b.name));
    for (const p of order) await p.stop();
    if (!process.env.MESHLESS_E2E_KEEP) rmSync(this.dir, { recursive: true, force: true });
  }
}

function rank(name: string): number {
  if (name.startsWith('agent') || name.startsWith('rr')) return 0;
  if (name === 'sync') return 1;
  if (name === 'datastore') return 2;
  return 3;
}
