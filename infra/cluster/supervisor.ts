// A small process supervisor for the local cluster: starts each child in order, waits until it is
// ready, restarts it with backoff when it dies unexpectedly, and stops everything in reverse order.
// Children write JSON logs to files under the data directory; the terminal shows only state changes.
//
// Ports: the cluster picks a free port and the child binds it a moment later, so another process
// (a test beside us) can take it in between. A child that exits during its start saying so
// (EADDRINUSE) is started again from its step, which picks its ports anew (startStep). Rejected:
// every child binding port 0 and reporting it, which would need each service's and BIRD's report
// parsed, and a reflector's BGP port is written into the datastore before it starts.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';

export interface ChildSpec {
  /** Short name used in messages and as the log file name. */
  name: string;
  command: string;
  args: string[];
  env?: Record<string, string>;
  /** Resolves true once the child serves (polled until `readyTimeoutMs`). */
  ready: () => Promise<boolean>;
  readyTimeoutMs?: number;
  /** One line per endpoint, printed after `meshless ready`. */
  endpoints: string[];
  /**
   * Turns one line of the child's output into a line for the terminal, or undefined to keep it in
   * the log file only (the default). The local cluster uses it to show agents receiving changes.
   */
  echo?: (line: string) => string | undefined;
}

interface Running {
  spec: ChildSpec;
  child: ChildProcess;
  restarts: number;
  log: WriteStream;
  /** The last few KB the child wrote (why it exited during its start). */
  tail: string;
  /** Failed its start and was given up: not restarted, not stopped again. */
  abandoned: boolean;
}

/** A step of the start: the child to run, its ports picked anew on each attempt (0, 1, ...). */
export type StartStep = (attempt: number) => Promise<ChildSpec | undefined>;

/** Starts made again when a child lost one of its ports between the choice and its bind. */
const PORT_ATTEMPTS = 5;
const PORT_TAKEN = /EADDRINUSE|address already in use/i;

/** A child exited before it was ready. */
export class ChildStartError extends Error {
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(message);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Supervisor {
  private readonly running: Running[] = [];
  private stopping = false;

  constructor(
    private readonly logDir: string,
    private readonly say: (line: string) => void,
  ) {
    mkdirSync(logDir, { recursive: true });
  }

  /** Starts the child and waits for it to be ready; throws (with its log file) when it is not. */
  async start(spec: ChildSpec): Promise<void> {
    const log = createWriteStream(join(this.logDir, `${spec.name}.log`), { flags: 'a' });
    const entry: Running = {
      spec,
      child: undefined as unknown as ChildProcess,
      restarts: 0,
      log,
      tail: '',
      abandoned: false,
    };
    entry.child = this.spawn(spec, log, entry);
    this.running.push(entry);
    this.watch(entry);
    const deadline = Date.now() + (spec.readyTimeoutMs ?? 30_000);
    for (;;) {
      if (entry.child.exitCode !== null) {
        entry.abandoned = true;
        this.running.splice(this.running.indexOf(entry), 1);
        log.end();
        throw new ChildStartError(
          `${spec.name} exited with code ${entry.child.exitCode}; see ${join(this.logDir, spec.name + '.log')}`,
          entry.tail,
        );
      }
      if (await spec.ready().catch(() => false)) return;
      if (Date.now() > deadline)
        throw new Error(
          `${spec.name} not ready after ${spec.readyTimeoutMs ?? 30_000} ms; see ${join(this.logDir, spec.name + '.log')}`,
        );
      await sleep(100);
    }
  }

  /**
   * Runs `step` and starts its child; when the child exits during its start because a port it was
   * given was taken meanwhile, runs the step again (new ports), up to PORT_ATTEMPTS times.
   */
  async startStep(step: StartStep): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const spec = await step(attempt);
      if (!spec) return;
      this.say(`starting ${spec.name}`);
      try {
        await this.start(spec);
        return;
      } catch (err) {
        if (!(err instanceof ChildStartError) || !PORT_TAKEN.test(err.output) || attempt + 1 >= PORT_ATTEMPTS)
          throw err;
        this.say(`${spec.name}: a port it was given was taken before it could bind it; picking again`);
      }
    }
  }

  endpoints(): string[] {
    return this.running.flatMap((r) => r.spec.endpoints);
  }

  /** SIGTERM to every child, last started first; SIGKILL after `graceMs`. */
  async stopAll(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    for (const r of [...this.running].reverse()) {
      const c = r.child;
      if (c.exitCode === null && c.signalCode === null) {
        const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
        c.kill('SIGTERM');
        const timer = setTimeout(() => c.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      r.log.end();
    }
  }

  private spawn(spec: ChildSpec, log: WriteStream, entry: Running): ChildProcess {
    const child = spawn(spec.command, spec.args, {
      env: { ...process.env, ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: false,
    });
    child.stdout!.pipe(log, { end: false });
    child.stderr!.pipe(log, { end: false });
    const keep = (d: Buffer) => (entry.tail = (entry.tail + d.toString()).slice(-4096));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const echo = spec.echo;
    if (echo) {
      let partial = '';
      child.stdout!.on('data', (d: Buffer) => {
        const lines = (partial + d.toString()).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          const shown = echo(line);
          if (shown !== undefined) this.say(shown);
        }
      });
    }
    child.once('error', (err) => log.write(`spawn error: ${err.message}\n`));
    return child;
  }

  private watch(entry: Running): void {
    entry.child.once('exit', (code, signal) => {
      if (this.stopping || entry.abandoned) return;
      entry.restarts++;
      const delay = Math.min(30_000, 500 * 2 ** Math.min(entry.restarts, 6));
      this.say(`${entry.spec.name} exited (${signal ?? code}); restarting in ${delay} ms (restart #${entry.restarts})`);
      setTimeout(() => {
        if (this.stopping) return;
        entry.child = this.spawn(entry.spec, entry.log, entry);
        this.watch(entry);
      }, delay).unref();
    });
  }
}
