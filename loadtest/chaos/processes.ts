// The chaos suite's component processes that the suite follows from their JSON log lines or admin
// API: `meshless agent` (status and content hash, logged on every change, compared with the
// datastore's filtered view) and `meshless rr` in datastore mode (its originated routes).
import { spawn, type ChildProcess } from 'node:child_process';
import { MESHLESS_BIN } from '../../services/shared/paths/index.js';

/** A `meshless agent` process; status and contentHash follow its "in sync" / "changes arrived" log lines. */
export class AgentProcess {
  status = 'connecting';
  contentHash = '';
  readonly syncer = 'agent';
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  private stderr = '';

  constructor(
    readonly node: string,
    sync: readonly string[],
    stateDir: string,
  ) {
    this.child = spawn(
      process.execPath,
      [
        MESHLESS_BIN,
        'agent',
        '--node',
        node,
        '--sync',
        sync.join(','),
        '--state-dir',
        stateDir,
        '--metrics-port',
        '-1',
      ],
      {
        env: { ...process.env, MESHLESS_LOG_LEVEL: 'info', MESHLESS_BACKOFF_MAX: '500' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-2000)));
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
    let buffered = '';
    this.child.stdout!.on('data', (d: Buffer) => {
      buffered += d.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const text = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (text.startsWith('{')) this.onLine(JSON.parse(text) as Record<string, unknown>);
      }
    });
  }

  /** The last log lines (time, level, message and fields), for a failing round's message. */
  readonly recent: string[] = [];

  private onLine(line: Record<string, unknown>): void {
    const { time, msg, level, pid: _pid, component: _c, hostname: _h, ...fields } = line;
    this.recent.push(
      `${String(time).slice(11, 23)} ${String(level)} ${String(msg)} ${JSON.stringify(fields)}`.slice(0, 300),
    );
    if (this.recent.length > 25) this.recent.shift();
    this.firstLineAt ??= Date.now();
    const was = `${this.status} ${this.contentHash}`;
    if (line.msg === 'in sync') {
      this.status = 'in-sync';
      this.contentHash = String(line.contentHash);
      this.inSyncAt ??= Date.now();
    } else if (line.msg === 'changes arrived') {
      this.contentHash = String(line.contentHash);
    } else if (
      line.msg === 'connecting' ||
      line.msg === 'receiving a snapshot' ||
      line.msg === 'resuming from our revision'
    ) {
      this.status = line.msg === 'connecting' ? 'connecting' : 'syncing';
    }
    if (`${this.status} ${this.contentHash}` !== was) this.changedAt = Date.now();
  }

  /** When the process logged its first line: up and running its own code (undefined: not yet). */
  firstLineAt: number | undefined;
  /** When the process first logged "in sync" (undefined: not yet). */
  inSyncAt: number | undefined;
  /** When its status or content hash last changed (ms since the epoch). */
  changedAt = Date.now();

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Why the process is gone, for a failing round's message. */
  describeExit(): string {
    return `exited ${this.child.exitCode ?? this.child.signalCode}: ${this.stderr.trim()}`;
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.alive) this.child.kill(signal);
    await this.exited;
  }
}

/** `meshless rr` in datastore mode following the sync servers; its admin API answers on `admin`. */
export class RrProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  private stderr = '';

  constructor(
    node: string,
    sync: readonly string[],
    readonly admin: string,
  ) {
    this.child = spawn(
      process.execPath,
      [
        '--max-semi-space-size=2',
        MESHLESS_BIN,
        'rr',
        '--node',
        node,
        '--sync',
        sync.join(','),
        '--datastore',
        'none',
        '--admin',
        admin,
        '--insecure',
      ],
      {
        env: { ...process.env, MESHLESS_LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-2000)));
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
  }

  describeExit(): string {
    return `exited ${this.child.exitCode ?? this.child.signalCode}: ${this.stderr.trim()}`;
  }

  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }
}
