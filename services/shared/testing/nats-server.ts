// A real nats-server (the Debian package) with JetStream, on a random loopback port, its store in
// a temporary directory. Tests use it instead of any mock; restart() keeps the same port and data.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

export interface NatsServerOptions {
  storeDir?: string;
  port?: number;
  /** A configuration file's text for this port and store (e.g. shared/nats natsServerConfig); default: plain JetStream. */
  config?: (port: number, storeDir: string) => string;
}

export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServerHandle> {
  const storeDir = options.storeDir ?? mkdtempSync(join(tmpdir(), 'meshless-nats-'));
  const ownDir = options.storeDir === undefined;
  let port = options.port ?? (await freePort());
  let child: ChildProcess | undefined;
  let stderr = '';

  const launch = async (): Promise<void> => {
    stderr = '';
    let args = ['-js', '-sd', storeDir, '-a', '127.0.0.1', '-p', String(port)];
    if (options.config) {
      const file = join(storeDir, 'nats.conf');
      writeFileSync(file, options.config(port, storeDir));
      args = ['-c', file];
    }
    child = spawn(NATS_SERVER_BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    const spawnError = new Promise<never>((_, reject) => child!.once('error', (e) => reject(new Error(`cannot run ${NATS_SERVER_BIN}: ${e.message} (install the Debian package nats-server)`))));
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
      if (attempt >= 3 || options.port !== undefined || !/address already in use/i.test(String(err))) throw err;
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
