// A real nats-server (the Debian package) with JetStream, on a random loopback port, its store in
// a temporary directory. Tests use it instead of any mock; restart() keeps the same port and data.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './ports.js';

export interface NatsServerHandle {
  readonly url: string;
  readonly port: number;
  readonly storeDir: string;
  /** SIGTERM (or SIGKILL with hard=true), wait for exit, start again on the same port and store. */
  restart(hard?: boolean): Promise<void>;
  /** SIGKILL (or `signal`) and wait for exit, without starting again (start() does). */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Sends a signal without waiting (SIGSTOP / SIGCONT: a wedged server that keeps its sockets). */
  signal(signal: NodeJS.Signals): void;
  /** Starts a stopped server again on the same port and store. */
  start(): Promise<void>;
  /** Whether the process is running now. */
  readonly running: boolean;
  /** What the server logged since it last started (the last 256 KB): wait on it, not on a clock. */
  readonly log: string;
  stop(): Promise<void>;
}

export const NATS_SERVER_BIN = process.env.MESHLESS_NATS_SERVER ?? 'nats-server';

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export interface NatsClusterMember {
  /** Unique server name (JetStream clustering requires one). */
  serverName: string;
  clusterName: string;
  /** Port of this server's cluster (route) listener. */
  clusterPort: number;
  /** Route ports of the other members. */
  routes: number[];
}

export async function startNatsServer(
  options: {
    storeDir?: string;
    port?: number;
    cluster?: NatsClusterMember;
    extraArgs?: string[];
    /** A configuration file's text for this port and store (e.g. shared/nats natsServerConfig); replaces the flags above. */
    config?: (port: number, storeDir: string) => string;
  } = {},
): Promise<NatsServerHandle> {
  const storeDir = options.storeDir ?? mkdtempSync(join(tmpdir(), 'meshless-nats-'));
  const ownDir = options.storeDir === undefined;
  let port = options.port ?? (await freePort());
  let child: ChildProcess | undefined;
  let stderr = '';
  let log = '';

  const launch = async (): Promise<void> => {
    stderr = '';
    log = '';
    let args = ['-js', '-sd', storeDir, '-a', '127.0.0.1', '-p', String(port), ...(options.extraArgs ?? [])];
    const c = options.cluster;
    if (c) {
      args.push('-n', c.serverName, '--cluster_name', c.clusterName, '--cluster', `nats://127.0.0.1:${c.clusterPort}`);
      if (c.routes.length > 0) args.push('--routes', c.routes.map((p) => `nats://127.0.0.1:${p}`).join(','));
    }
    if (options.config) {
      mkdirSync(storeDir, { recursive: true });
      const file = join(storeDir, 'nats.conf');
      writeFileSync(file, options.config(port, storeDir));
      args = ['-c', file];
    }
    child = spawn(NATS_SERVER_BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
      log = (log + d.toString()).slice(-256 * 1024);
    });
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    const spawnError = new Promise<never>((_, reject) =>
      child!.once('error', (e) =>
        reject(new Error(`cannot run ${NATS_SERVER_BIN}: ${e.message} (install the Debian package nats-server)`)),
      ),
    );
    await Promise.race([
      waitFor(`nats-server on port ${port}`, () => portOpen(port), 15_000),
      exited.then((code) => {
        throw new Error(`nats-server exited with ${code}: ${stderr}`);
      }),
      spawnError,
    ]);
  };

  const halt = async (signal: NodeJS.Signals): Promise<void> => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const done = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill(signal);
    await done;
  };

  for (let attempt = 0; ; attempt++) {
    try {
      await launch();
      break;
    } catch (err) {
      if (attempt >= 3 || options.port !== undefined || options.cluster || !/address already in use/i.test(String(err)))
        throw err;
      port = await freePort();
    }
  }

  return {
    get url() {
      return `nats://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    storeDir,
    get log() {
      return log;
    },
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      await halt(signal);
    },
    async start() {
      await launch();
    },
    signal(signal: NodeJS.Signals) {
      child?.kill(signal);
    },
    async restart(hard = false) {
      await halt(hard ? 'SIGKILL' : 'SIGTERM');
      await launch();
    },
    async stop() {
      await halt('SIGTERM');
      if (ownDir) rmSync(storeDir, { recursive: true, force: true });
    },
  };
}
