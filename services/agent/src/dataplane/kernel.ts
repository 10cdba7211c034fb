// Access to the kernel the dataplane programs: iproute2 for routes (read as JSON, written in one
// `ip -force -batch -` per reconcile; Node has no netlink socket and a process per route would be
// ~1,000x slower), /proc/sys for per-interface settings, and `ip monitor` for the events that
// should trigger a reconcile early (a route of ours deleted, a workload interface appearing).
//
// With `netns`, every command runs in that network namespace (`ip -n NAME`, `ip netns exec NAME`):
// tests and the end-to-end harness drive a namespace from outside; the agent itself runs in the
// node's namespace and leaves it unset.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface KernelOptions {
  /** Network namespace to act in (`ip netns` name); unset: this process's namespace. */
  readonly netns?: string;
  /** The iproute2 binary. */
  readonly ipBin?: string;
  /** Longest a single command may take. */
  readonly timeoutMs?: number;
}

function run(
  cmd: string,
  args: readonly string[],
  input: string | undefined,
  timeoutMs: number,
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`${cmd}: ${e.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (signal)
        return reject(
          new Error(
            `${cmd} ${args.slice(0, 6).join(' ')}: killed by ${signal}${signal === 'SIGKILL' ? ` after ${timeoutMs} ms` : ''}`,
          ),
        );
      resolve({
        code: code ?? 0,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });
}

// Reads files given as arguments, one `path=value` line each (empty value when unreadable). Shell
// builtins only: a process per file would cost more than the whole route batch.
const READ_SCRIPT = 'for f in "$@"; do v=; { read -r v < "$f"; } 2>/dev/null; printf "%s=%s\\n" "$f" "$v"; done';
// Writes `path value` pairs; reports the paths it could not write.
const WRITE_SCRIPT = 'while [ $# -gt 1 ]; do { echo "$2" > "$1"; } 2>/dev/null || echo "$1"; shift 2; done';

export class Kernel {
  readonly netns: string | undefined;
  private readonly ipBin: string;
  private readonly timeoutMs: number;

  constructor(options: KernelOptions = {}) {
    this.netns = options.netns;
    this.ipBin = options.ipBin ?? 'ip';
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** Runs `ip ARGS` (in the namespace), feeding `input` on stdin. */
  ip(args: readonly string[], input?: string): Promise<CommandResult> {
    return run(this.ipBin, this.netns ? ['-n', this.netns, ...args] : args, input, this.timeoutMs);
  }

  /** Runs `ip ARGS` and returns stdout; rejects with stderr when it fails. */
  async ipOut(args: readonly string[]): Promise<string> {
    const r = await this.ip(args);
    if (r.code !== 0)
      throw new Error(
        `ip ${args.join(' ')}${this.netns ? ` (netns ${this.netns})` : ''}: ${r.stderr.trim() || `exit ${r.code}`}`,
      );
    return r.stdout;
  }

  /** Runs batch lines with `ip -force -batch -`: every line is tried; failures come back on stderr. */
  batch(lines: readonly string[]): Promise<CommandResult> {
    return this.ip(['-force', '-batch', '-'], `${lines.join('\n')}\n`);
  }

  /** Reads /proc/sys files (absolute paths); missing ones map to undefined. */
  async readSysctls(paths: readonly string[]): Promise<Map<string, string | undefined>> {
    const values = new Map<string, string | undefined>();
    if (paths.length === 0) return values;
    if (!this.netns) {
      await Promise.all(
        paths.map(async (p) =>
          values.set(
            p,
            await readFile(p, 'utf8').then(
              (v) => v.trim(),
              () => undefined,
            ),
          ),
        ),
      );
      return values;
    }
    const r = await run(
      this.ipBin,
      ['netns', 'exec', this.netns, 'sh', '-c', READ_SCRIPT, 'sh', ...paths],
      undefined,
      this.timeoutMs,
    );
    for (const line of r.stdout.split('\n')) {
      const eq = line.indexOf('=');
      if (eq > 0) values.set(line.slice(0, eq), line.slice(eq + 1) === '' ? undefined : line.slice(eq + 1));
    }
    return values;
  }

  /** Writes /proc/sys files; returns the paths that could not be written. */
  async writeSysctls(writes: ReadonlyMap<string, string>): Promise<string[]> {
    if (writes.size === 0) return [];
    if (!this.netns) {
      const failed: string[] = [];
      await Promise.all([...writes].map(([p, v]) => writeFile(p, v).catch(() => failed.push(p))));
      return failed;
    }
    const args = [...writes].flatMap(([p, v]) => [p, v]);
    const r = await run(
      this.ipBin,
      ['netns', 'exec', this.netns, 'sh', '-c', WRITE_SCRIPT, 'sh', ...args],
      undefined,
      this.timeoutMs,
    );
    return r.stdout.split('\n').filter((l) => l !== '');
  }

  /**
   * Follows `ip -o monitor link route` and calls `onLine` for every event line. Restarts the
   * monitor if it dies (after `restartMs`) until stopped.
   */
  monitor(onLine: (line: string) => void, onError: (err: Error) => void, restartMs = 1000): { stop(): void } {
    let child: ChildProcess | undefined;
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    const start = (): void => {
      const args = [...(this.netns ? ['-n', this.netns] : []), '-o', 'monitor', 'link', 'route'];
      const c = spawn(this.ipBin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      child = c;
      let stderr = '';
      c.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-500)));
      createInterface({ input: c.stdout! }).on('line', onLine);
      c.once('error', (e) => onError(new Error(`ip monitor: ${e.message}`)));
      c.once('close', (code, signal) => {
        if (stopped) return;
        onError(new Error(`ip monitor exited (${signal ?? code}): ${stderr.trim()}`));
        timer = setTimeout(start, restartMs);
      });
    };
    start();
    return {
      stop() {
        stopped = true;
        if (timer) clearTimeout(timer);
        if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      },
    };
  }
}

/** /proc/sys path of a per-interface setting (interface names are literal directory names). */
export function interfaceSysctl(
  family: 'ipv4' | 'ipv6',
  group: 'conf' | 'neigh',
  iface: string,
  setting: string,
): string {
  return `/proc/sys/net/${family}/${group}/${iface}/${setting}`;
}
