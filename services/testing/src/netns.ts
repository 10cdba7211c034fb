// Network namespaces that a test creates for itself: a private loopback on which BGP daemons and
// our speaker each bind their own 198.18.0.0/15 (RFC 2544 benchmarking) or 2001:2::/48 (RFC 5180)
// address, so next hops are never in 127/8 (FRR and GoBGP drop such routes) and every daemon can
// use port 179. Deleted by destroy(), and at process exit if a test forgot or crashed.
//
// A test process that is killed runs no exit handler: its namespaces stay. Their names carry the
// creating process's PID (`<prefix>-<pid>-<n>`), and the first createNetns of a later process
// deletes every such namespace whose process is gone (reapStaleNetns). A namespace of a live
// process, another test's running beside us, is never touched; nor is a name of another shape.
// A PID reused since only delays the reap, never deletes a live test's namespace.
import { execFile, execFileSync, spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { promisify } from 'node:util';
import type { Server, Socket } from 'node:net';
import type { BgpTransport, ConnectOptions, ListenOptions } from '../../bgp/index.js';
import { entryPoint } from '../../shared/paths/index.js';

const execFileAsync = promisify(execFile);

export interface Netns {
  readonly name: string;
  /** Adds the next unused address of the family to the namespace's loopback and returns it. */
  addAddress(family?: 4 | 6): Promise<string>;
  /** Runs a command inside the namespace; rejects with its stderr when it exits non-zero. */
  exec(
    cmd: string,
    args: readonly string[],
    options?: { timeoutMs?: number },
  ): Promise<{ stdout: string; stderr: string }>;
  /** Starts a long-running command inside the namespace (the PID is the command's own; it dies with us). */
  spawn(cmd: string, args: readonly string[], options?: SpawnOptions): ChildProcess;
  /** Sockets created inside the namespace, for a BgpSpeaker running in this process. */
  transport(): Promise<NetnsTransport>;
  /** Stops transports and deletes the namespace. Processes started in it must be stopped first. */
  destroy(): Promise<void>;
}

export interface NetnsTransport extends BgpTransport {
  close(): Promise<void>;
}

const live = new Set<string>();
let counter = 0;
let exitHookInstalled = false;
let reaped = false;

/** `<prefix>-<pid>-<n>`: the shape of the names createNetns gives (a prefix is letters and digits). */
const NAME = /^[A-Za-z0-9]+-(\d+)-\d+$/;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, under another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Deletes the namespaces that createNetns made in processes that have since died without their
 * exit handler (killed, or the runner timed out); returns their names. createNetns runs it once per
 * process. Deleting one that another process reaps at the same moment is not an error.
 */
export async function reapStaleNetns(): Promise<string[]> {
  const { stdout } = await execFileAsync('ip', ['netns', 'list']);
  const stale = stdout
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => {
      const pid = NAME.exec(name)?.[1];
      return pid !== undefined && Number(pid) !== process.pid && !processAlive(Number(pid));
    });
  const deleted: string[] = [];
  for (const name of stale) {
    try {
      await execFileAsync('ip', ['netns', 'delete', name]);
      deleted.push(name);
    } catch {
      // deleted meanwhile by another process reaping too
    }
  }
  return deleted;
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const name of live) {
      try {
        execFileSync('ip', ['netns', 'delete', name], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
  });
}

let skipReason: string | undefined | null = null;
let setpriv: boolean | undefined;

/**
 * `ip netns exec` arguments that run a long-lived command in namespace `name` and tie it to this
 * process: `setpriv --pdeathsig KILL` (util-linux) has the kernel send it SIGKILL when this
 * process ends, however it ends (a test runner killed or timed out skips every after hook and
 * exit handler), so a test's daemons never outlive the test. `ip netns exec` and setpriv both
 * exec, so the PID stays the command's own. Without setpriv the command runs bare.
 */
function boundToUs(name: string, cmd: string, args: readonly string[]): string[] {
  setpriv ??= spawnSync('setpriv', ['--version'], { stdio: 'ignore' }).status === 0;
  return ['netns', 'exec', name, ...(setpriv ? ['setpriv', '--pdeathsig', 'KILL', '--'] : []), cmd, ...args];
}

/**
 * Why namespace tests cannot run here (not root, no iproute2, no CAP_SYS_ADMIN), or undefined when
 * they can. Tests pass it as node:test's `skip` option so the reason is printed, never hidden.
 */
export function netnsSkipReason(): string | undefined {
  if (skipReason !== null) return skipReason;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    skipReason = 'needs root to create network namespaces (ip netns add); run the interop tests as root';
    return skipReason;
  }
  const probe = `mlprobe${process.pid}`;
  try {
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'pipe' });
    execFileSync('ip', ['netns', 'delete', probe], { stdio: 'pipe' });
    skipReason = undefined;
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    skipReason = `cannot create a network namespace (${stderr || (err as Error).message}); install iproute2 and run as root`;
  }
  return skipReason;
}

function v4Address(n: number): string {
  return `198.18.${Math.floor(n / 254)}.${(n % 254) + 1}`;
}

function v6Address(n: number): string {
  return `2001:2::${(n + 1).toString(16)}`;
}

export async function createNetns(prefix = 'ml'): Promise<Netns> {
  const reason = netnsSkipReason();
  if (reason) throw new Error(reason);
  if (!/^[A-Za-z0-9]+$/.test(prefix)) throw new Error(`createNetns: prefix '${prefix}' must be letters and digits`);
  if (!reaped) {
    reaped = true;
    await reapStaleNetns();
  }
  const name = `${prefix}-${process.pid}-${++counter}`;
  installExitHook();
  await execFileAsync('ip', ['netns', 'add', name]);
  live.add(name);
  await execFileAsync('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  let next4 = 0;
  let next6 = 0;
  const transports = new Set<NetnsTransport>();

  const ns: Netns = {
    name,
    async addAddress(family = 4) {
      const address = family === 4 ? v4Address(next4++) : v6Address(next6++);
      const args =
        family === 4
          ? ['-n', name, 'addr', 'add', `${address}/32`, 'dev', 'lo']
          : ['-n', name, '-6', 'addr', 'add', `${address}/128`, 'dev', 'lo', 'nodad'];
      await execFileAsync('ip', args);
      return address;
    },
    async exec(cmd, args, options = {}) {
      try {
        const { stdout, stderr } = await execFileAsync('ip', ['netns', 'exec', name, cmd, ...args], {
          timeout: options.timeoutMs ?? 15_000,
          maxBuffer: 256 * 1024 * 1024,
        });
        return { stdout, stderr };
      } catch (err) {
        const e = err as { stderr?: string; stdout?: string; message: string };
        throw new Error(
          `${cmd} ${args.join(' ')} (netns ${name}) failed: ${(e.stderr || e.stdout || e.message).trim()}`,
        );
      }
    },
    spawn(cmd, args, options = {}) {
      return spawn('ip', boundToUs(name, cmd, args), options);
    },
    async transport() {
      const t = await startBroker(name);
      transports.add(t);
      return t;
    },
    async destroy() {
      for (const t of transports) await t.close();
      transports.clear();
      if (!live.delete(name)) return;
      await execFileAsync('ip', ['netns', 'delete', name]).catch(() => undefined);
    },
  };
  return ns;
}

interface BrokerReply {
  id: number;
  ok: boolean;
  port?: number;
  error?: string;
  code?: string;
}

async function startBroker(netns: string): Promise<NetnsTransport> {
  const broker = entryPoint('services/testing/src/netns-broker.ts');
  const child = spawn('ip', boundToUs(netns, process.execPath, [...broker.execArgv, broker.script]), {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const pending = new Map<number, (reply: BrokerReply, handle: unknown) => void>();
  let nextId = 0;
  let closed = false;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.on('message', (reply: BrokerReply, handle: unknown) => {
    const done = pending.get(reply.id);
    pending.delete(reply.id);
    done?.(reply, handle);
  });
  child.once('exit', (code) => {
    for (const done of pending.values())
      done(
        { id: -1, ok: false, error: `netns broker exited with ${code}: ${stderr.trim()}`, code: 'EBROKER' },
        undefined,
      );
    pending.clear();
  });

  const call = (req: Record<string, unknown>): Promise<[BrokerReply, unknown]> => {
    if (closed || child.exitCode !== null) return Promise.reject(new Error(`netns broker for ${netns} is closed`));
    return new Promise((resolve) => {
      const id = ++nextId;
      pending.set(id, (reply, handle) => resolve([reply, handle]));
      child.send({ ...req, id });
    });
  };
  const toError = (reply: BrokerReply): Error =>
    Object.assign(new Error(reply.error ?? 'netns broker error'), { code: reply.code });

  return {
    async listen(options: ListenOptions): Promise<Server> {
      const [reply, handle] = await call({ op: 'listen', host: options.host, port: options.port });
      if (!reply.ok) throw toError(reply);
      return handle as Server;
    },
    async connect(options: ConnectOptions): Promise<Socket> {
      const sec = options.security;
      const [reply, handle] = await call({
        op: 'connect',
        host: options.host,
        port: options.port,
        localAddress: options.localAddress,
        timeoutMs: options.timeoutMs,
        ...(sec?.md5Key ? { md5Key: Buffer.from(sec.md5Key).toString('hex') } : {}),
        ...(sec?.ttlSecurity ? { ttlSecurity: sec.ttlSecurity } : {}),
      });
      if (!reply.ok) throw toError(reply);
      return handle as Socket;
    },
    async close() {
      if (closed) return;
      closed = true;
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}
