// What every command gets: the process's streams (replaceable, so tests run the CLI in-process),
// the global options resolved against the environment, and a datastore connection opened on
// first use and closed when the command ends (the CLI must leave no handle open).
import type { Readable } from 'node:stream';
import type { Command } from 'commander';
import { checks, ConfigError, loadConfig } from '../../shared/config/index.js';
// discover.ts directly, not the tls index: that loads gRPC, which a command pays for only when it connects.
import { resolveClientCredentials } from '../../shared/tls/discover.js';
import { CliError } from './failure.js';
import type { Store } from './store.js';

/** Anything with `write(text)`: process.stdout, or a buffer in tests. */
export interface Output {
  write(text: string): unknown;
}

export interface CliIo {
  stdout: Output;
  stderr: Output;
  stdin: Readable;
  env: NodeJS.ProcessEnv;
}

export const DEFAULT_DATASTORE = '127.0.0.1:5470';
export const DEFAULT_TIMEOUT = '10s';

/** The global options, declared once; env MESHLESS_DATASTORE / MESHLESS_TIMEOUT < flags. */
export const GLOBAL_SPEC = {
  datastore: {
    type: 'string',
    default: DEFAULT_DATASTORE,
    description: 'address of the datastore API (HOST:PORT)',
    check: checks.hostPort,
  },
  timeout: {
    type: 'duration',
    default: 10_000,
    description: 'how long to wait for the datastore (connection and each request)',
    check: checks.positive,
  },
} as const;

export interface GlobalOptions {
  datastore: string;
  timeoutMs: number;
  /** Credentials directory for mutual TLS, or undefined for plain text (see shared/tls discover.ts). */
  credentials: string | undefined;
}

export class CliContext {
  private store: Store | undefined;
  private readonly closers: Array<() => Promise<void> | void> = [];

  constructor(readonly io: CliIo) {}

  /** Writes to standard output. */
  print(text: string): void {
    this.io.stdout.write(text);
  }

  /** --datastore / --timeout from the command line, else the environment, else the defaults. */
  globals(cmd: Command): GlobalOptions {
    const o = cmd.optsWithGlobals<{ datastore?: string; timeout?: string; credentials?: string }>();
    try {
      // The CLI reads no config file: MESHLESS_CONFIG belongs to the services.
      const cfg = loadConfig(GLOBAL_SPEC, {
        env: { ...this.io.env, MESHLESS_CONFIG: undefined },
        overrides: { datastore: o.datastore, timeout: o.timeout },
      });
      return {
        datastore: cfg.datastore,
        timeoutMs: cfg.timeout,
        credentials: resolveClientCredentials(o.credentials, this.io.env).dir,
      };
    } catch (err) {
      if (err instanceof ConfigError)
        throw new CliError(err.message.replace(/^invalid (\w+)/, 'invalid --$1'), { cause: err });
      throw err;
    }
  }

  /** The datastore, connected on first use (fails fast with a one-line message when unreachable). */
  async datastore(cmd: Command): Promise<Store> {
    if (!this.store) {
      const { datastore, timeoutMs, credentials } = this.globals(cmd);
      // Imported on first use: gRPC and the generated proto code are most of a read command's start-up.
      const [{ connectStore }, { TlsConfigError }] = await Promise.all([
        import('./store.js'),
        import('../../shared/tls/index.js'),
      ]);
      try {
        this.store = await connectStore(datastore, timeoutMs, credentials);
      } catch (err) {
        if (err instanceof TlsConfigError) throw new CliError(`credentials: ${err.message}`, { cause: err });
        throw err;
      }
      this.closers.push(() => this.store?.close());
    }
    return this.store;
  }

  /** Runs `close` when the command ends, whatever the outcome. */
  onClose(close: () => Promise<void> | void): void {
    this.closers.push(close);
  }

  async close(): Promise<void> {
    for (const close of this.closers.splice(0).reverse()) await close();
  }
}
