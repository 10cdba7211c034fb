// Test helpers of the CLI: a real nats-server and a real datastore service on free loopback ports,
// and two ways to run `meshless`: in-process through `run()` with captured output (fast, most
// tests), and as a child process through bin/meshless.mjs (what an operator runs).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before } from 'node:test';
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
  const defaults = Object.fromEntries(
    Object.entries(datastoreConfig).map(([k, v]) => [k, v.default]),
  ) as unknown as DatastoreConfig;
  try {
    const datastore = await runDatastore(
      { ...defaults, listen: '127.0.0.1:0', metricsPort: 0, nats: nats.url, insecure: true },
      createLogger('cli-test'),
    );
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
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        MESHLESS_LOG_LEVEL: 'silent',
        MESHLESS_CREDENTIALS: 'none',
        ...options.env,
      },
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

/** What a test file gets from `cliSuite`: the cluster, `meshless` bound to it, and a scratch directory. */
export interface CliSuite {
  /** The running cluster (set once the suite's `before` hook has run). */
  readonly cluster: TestCluster;
  /** The scratch directory, removed after the suite. */
  readonly scratch: string;
  /** `meshless ARGS` in-process against the suite's datastore. */
  meshless(...args: string[]): Promise<CliResult>;
  /** The same with STDIN on standard input. */
  withStdin(stdin: string, ...args: string[]): Promise<CliResult>;
  /** Writes TEXT to NAME in the scratch directory and returns its path. */
  file(name: string, text: string): string;
}

/**
 * Registers `before`/`after` hooks that start a test cluster and a scratch directory for the
 * calling test file, and returns the handles its tests use.
 */
export function cliSuite(name: string): CliSuite {
  let cluster: TestCluster | undefined;
  let scratch: string | undefined;
  const env = () => ({ MESHLESS_DATASTORE: suite.cluster.address });
  const suite: CliSuite = {
    get cluster() {
      if (!cluster) throw new Error('cliSuite: the cluster is not started yet');
      return cluster;
    },
    get scratch() {
      if (!scratch) throw new Error('cliSuite: the scratch directory is not created yet');
      return scratch;
    },
    meshless: (...args) => cli(args, { env: env() }),
    withStdin: (stdin, ...args) => cli(args, { env: env(), stdin }),
    file(fileName, text) {
      const path = join(suite.scratch, fileName);
      writeFileSync(path, text);
      return path;
    },
  };
  before(async () => {
    cluster = await startTestCluster();
    scratch = mkdtempSync(join(tmpdir(), `meshless-${name}-`));
  });
  after(async () => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
    await cluster?.stop();
  });
  return suite;
}

/** Exit status 0 and nothing on stderr (and STDOUT exactly, when given); returns stdout. */
export function ok(r: CliResult, stdout?: string): string {
  assert.equal(r.stderr, '', `unexpected stderr: ${r.stderr}`);
  assert.equal(r.code, 0);
  if (stdout !== undefined) assert.equal(r.stdout, stdout);
  return r.stdout;
}

/**
 * The failure contract: exit status 1, nothing on stdout unless STDOUT says what, exactly one
 * `meshless: …` line on stderr whose message equals MESSAGE (a string) or matches it (a RegExp).
 */
export function fails(r: CliResult, message: string | RegExp, stdout = ''): void {
  assert.equal(r.code, 1, `expected exit 1, got ${r.code}; stdout: ${r.stdout}`);
  assert.equal(r.stdout, stdout);
  assert.match(r.stderr, /^meshless: [^\n]*\n$/, `not one line: ${JSON.stringify(r.stderr)}`);
  const line = r.stderr.slice('meshless: '.length, -1);
  if (typeof message === 'string') assert.equal(line, message);
  else assert.match(line, message);
}
