// When a namespace's routes changed, as `ip -ts monitor route` reports it: one long-lived process
// per namespace, started before the change it times, that sleeps until the kernel announces a
// route. A figure like "the agents programmed their routes" is taken from its timestamps instead
// of polling `ip route` while the processes being timed start: each poll forks the harness and
// runs `ip netns exec`, CPU the classic run's timing never has to share (measured in
// loadtest/RESULTS.md, "End to end").
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Netns } from '../../testing/index.js';

/** One line of `ip -ts monitor route`: `[2026-12-05T16:51:58.548551] blackhole 10.65.0.0/31 proto 80 `. */
const LINE = /^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d+)\] (.*)$/;

export interface RouteEvent {
  /** Wall-clock ms when `ip` read the event from the kernel. */
  readonly at: number;
  /** The route as `ip monitor` prints it, `Deleted ` first for a removal. */
  readonly text: string;
}

/**
 * Parses one line of `ip -ts monitor route`; undefined for anything else. `ip` prints local time
 * without a zone (strftime of localtime), which is how Date reads an ISO date-time without one.
 */
export function parseRouteEvent(line: string): RouteEvent | undefined {
  const m = LINE.exec(line);
  if (!m) return undefined;
  const at = new Date(`${m[1]}.${m[2]!.padEnd(3, '0').slice(0, 3)}`).getTime();
  return Number.isFinite(at) ? { at, text: m[3]!.trim() } : undefined;
}

export class RouteMonitor {
  /** Resolves once `ip monitor` runs (its netlink subscription follows within a millisecond). */
  readonly started: Promise<void>;
  private readonly child: ChildProcess;
  private readonly events: RouteEvent[] = [];
  private readonly exited: Promise<void>;

  constructor(ns: Netns) {
    this.child = ns.spawn('ip', ['-ts', 'monitor', 'route'], { stdio: ['ignore', 'pipe', 'ignore'] });
    this.started = new Promise((resolve, reject) => {
      this.child.once('spawn', () => resolve());
      this.child.once('error', reject);
    });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      const e = parseRouteEvent(line);
      if (e) this.events.push(e);
    });
    this.exited = new Promise((resolve) => this.child.once('close', () => resolve()));
  }

  /** Time of the last event at or after `since` whose text matches `pattern`, if any. */
  lastChangeAt(pattern: RegExp, since: number): number | undefined {
    for (let i = this.events.length - 1; i >= 0; i--) {
      const e = this.events[i]!;
      if (e.at < since) return undefined;
      if (pattern.test(e.text)) return e.at;
    }
    return undefined;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    await this.exited;
  }
}
