// Test helpers of the CLI: a real nats-server and a real datastore service on free loopback ports,
// and two ways to run `meshless`: in-process through `run()` with captured output (fast, most
// tests), and as a child process through bin/meshless.mjs (what an operator runs).
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { datastoreConfig, runDatastore, type DatastoreConfig } from '../../datastore/index.js';
import { createLogger } from '../../shared/log/index.js';
import { startNatsServer } from '../../shared/testing/index.js';
import { run } from './main.js';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export interface TestCluster {
  /** HOST:PORT of the datastore API. */
  readonly address: string;
  stop(): Promise<void>;
}

export async function startTestCluster(): Promise<TestCluster> {
  const nats = await startNatsServer();
  const defaults = Object.fromEntries(Object.entries(datastoreConfig).map(([k, v]) => [k, v.default])) as unknown as DatastoreConfig;
  try {
    const datastore = await runDatastore({ ...defaults, listen: '127.0.0.1:0', metricsPort: 0, nats: nats.url, insecure: true }, createLogger('cli-test'));
    return {
      address: datastore.address,
      async stop() {
        await datastore.close();
        await nats.stop();
      },
    };
  } catch (err) {
    await nats.stop();
    throw err;
  }
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliRunOptions {
  stdin?: string;
  env?: NodeJS.ProcessEnv;
}

/** Runs `meshless <args>` in this process. */
export async function cli(args: readonly string[], options: CliRunOptions = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await run(args, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    stdin: Readable.from(options.stdin === undefined ? [] : [Buffer.from(options.stdin)]),
    // No credentials unless a test gives some: the user's own (~/.config/meshless) never leak in.
    env: { MESHLESS_CREDENTIALS: 'none', ...options.env },
  });
  return { code, stdout, stderr };
}

/** Runs `node bin/meshless.mjs <args>` as a child process, from the repository root. */
export function cliProcess(args: readonly string[], options: CliRunOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'meshless.mjs'), ...args], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, MESHLESS_LOG_LEVEL: 'silent', MESHLESS_CREDENTIALS: 'none', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(options.stdin ?? '');
  });
}
