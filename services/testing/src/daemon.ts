// One real routing daemon started by a test: its own temporary directory (config, control socket,
// pid file, log), optionally inside a network namespace, stopped by the PID we started.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Netns } from './netns.js';

const execFileAsync = promisify(execFile);

export interface DaemonProcess {
  readonly pid: number;
  /** The daemon's private directory (config, sockets, logs); removed by stop(). */
  readonly dir: string;
  /** Resolves with the exit code (or signal name) when the process ends. */
  readonly exited: Promise<number | string>;
  /** The exit code (or signal name) once the process has ended. */
  readonly exitCode: number | string | undefined;
  /** The last few KB of the daemon's stdout/stderr and log file, for failure messages. */
  logTail(): string;
  /** The whole log: the daemon's own log file when it has one, else its stdout/stderr. */
  readLog(): string;
  /** SIGTERM (or the given signal), waits for exit, SIGKILL after `graceMs`; then removes `dir`. */
  stop(options?: { signal?: NodeJS.Signals; graceMs?: number; keepDir?: boolean }): Promise<void>;
}

export function makeDaemonDir(kind: string): string {
  return mkdtempSync(join(tmpdir(), `meshless-${kind}-`));
}

export function spawnDaemon(
  kind: string,
  dir: string,
  cmd: string,
  args: readonly string[],
  netns?: Netns,
  extraLog?: string,
): DaemonProcess {
  const outPath = join(dir, 'output.log');
  const out = openSync(outPath, 'a');
  let child: ChildProcess;
  try {
    const options = { stdio: ['ignore', out, out] as ['ignore', number, number], cwd: dir };
    child = netns ? netns.spawn(cmd, args, options) : spawn(cmd, args, options);
  } finally {
    closeSync(out);
  }
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
    child.once('error', (err) => resolve(`spawn error: ${err.message}`));
  });
  const logTail = (): string => {
    const read = (p: string): string => {
      try {
        return readFileSync(p, 'utf8').slice(-3000);
      } catch {
        return '';
      }
    };
    return [read(outPath), extraLog ? read(extraLog) : ''].filter(Boolean).join('\n');
  };
  const readLog = (): string => {
    try {
      return readFileSync(extraLog ?? outPath, 'utf8');
    } catch {
      return '';
    }
  };
  if (child.pid === undefined) throw new Error(`cannot start ${kind} (${cmd}): ${logTail()}`);
  const pid = child.pid;
  let stopped = false;
  let exitCode: number | string | undefined;
  void exited.then((c) => (exitCode = c));
  return {
    get exitCode() {
      return exitCode;
    },
    pid,
    dir,
    exited,
    logTail,
    readLog,
    async stop({ signal = 'SIGTERM', graceMs = 5000, keepDir = false } = {}) {
      if (!stopped) {
        stopped = true;
        if (child.exitCode === null && child.signalCode === null) {
          child.kill(signal);
          const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
          await exited;
          clearTimeout(timer);
        }
      }
      if (!keepDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Runs `probe` until it returns a value (not undefined) or the timeout passes. `stop` is asked
 * before every attempt and ends the wait at once with its error (e.g. the daemon exited).
 */
export async function poll<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  diagnostics?: () => string,
  stop?: () => Error | undefined,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    const stopped = stop?.();
    if (stopped) throw stopped;
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const extra = diagnostics ? `\n${diagnostics()}` : '';
      const last = lastError ? ` (last error: ${(lastError as Error).message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last}${extra}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Runs one control command of a daemon (birdc, vtysh, gobgp), in `netns` when given; resolves with
 * its stdout, rejects with `label` and what the command said.
 */
export async function runControl(bin: string, argv: readonly string[], label: string, netns?: Netns): Promise<string> {
  try {
    if (netns) return (await netns.exec(bin, argv, { timeoutMs: 15_000 })).stdout;
    return (await execFileAsync(bin, argv, { timeout: 15_000, maxBuffer: 512 * 1024 * 1024 })).stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${label}: ${(e.stderr || e.stdout || e.message).trim()}`);
  }
}

/**
 * `poll` on a daemon: its log tail in the timeout message, and the wait ended at once (with the
 * log) when the daemon exits. What every handle's waitForState does.
 */
export function pollDaemon<T>(
  proc: DaemonProcess,
  name: string,
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
): Promise<T> {
  return poll(what, probe, timeoutMs, proc.logTail, () =>
    proc.exitCode !== undefined ? new Error(`${name} exited with ${proc.exitCode}: ${proc.logTail()}`) : undefined,
  );
}

/** Waits until a freshly started daemon answers `probe`; stops it (its directory removed) and throws when it does not. */
export async function untilServing(
  proc: DaemonProcess,
  name: string,
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  try {
    await pollDaemon(proc, name, what, async () => ((await probe()) ? true : undefined), timeoutMs);
  } catch (err) {
    await proc.stop();
    throw err;
  }
}
