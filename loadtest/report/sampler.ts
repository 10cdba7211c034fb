// CPU and memory of the processes under test over time, read from /proc (Linux): every interval,
// each watched group's CPU (user + system ticks of its processes since the last sample, as a
// percentage of one core) and RSS (sum of VmRSS). A group is one contender (a reflector, the
// sync servers, the receivers' BIRDs...); a process that exits drops out of its group's sums
// without making its CPU go negative (only processes seen in both samples count).
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';

/** USER_HZ: the unit of /proc/<pid>/stat times; 100 on every Linux Node supports. */
const CLK_TCK = 100;

export interface ProcessSample {
  /** Seconds since the sampler's origin. */
  t: number;
  /** CPU of the group since the previous sample, % of one core. */
  cpuPercent: number;
  rssMB: number;
}

export interface SampledGroup {
  label: string;
  samples: ProcessSample[];
}

/** User + system ticks of a process, or undefined when it is gone. */
export function cpuTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return undefined;
  }
}

/** Resident memory of a process in bytes, or undefined when it is gone. */
export function rssOf(pid: number): number | undefined {
  try {
    // A zombie (exited, not yet reaped) has no VmRSS line: gone as far as memory goes.
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

interface Group {
  label: string;
  pids: () => number[];
  last: Map<number, number>;
  lastAt: number;
  samples: ProcessSample[];
}

export class ProcessSampler {
  private readonly groups = new Map<string, Group>();
  private timer: NodeJS.Timeout | undefined;
  /** The 1-minute load average at each sample: [t, load]. */
  readonly load: Array<[number, number]> = [];

  constructor(
    private readonly intervalMs = 1000,
    /** performance.now() at the run's start: sample times count from it. */
    readonly origin = performance.now(),
  ) {}

  /** Watches a group of processes under `label` (pids read at every sample). */
  watch(label: string, pids: number | number[] | (() => number[])): void {
    const fn = typeof pids === 'function' ? pids : Array.isArray(pids) ? () => pids : () => [pids];
    const existing = this.groups.get(label);
    if (existing) {
      // A contender started again (a restart, the next run of the same name): same series.
      existing.pids = fn;
      existing.last = new Map();
      return;
    }
    this.groups.set(label, { label, pids: fn, last: new Map(), lastAt: performance.now(), samples: [] });
    this.sampleGroup(this.groups.get(label)!, performance.now());
  }

  /** Stops sampling a group; its samples stay. A last sample is taken first. */
  unwatch(label: string): void {
    const g = this.groups.get(label);
    if (!g) return;
    this.sampleGroup(g, performance.now());
    g.pids = () => [];
  }

  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.sample();
  }

  sample(): void {
    const now = performance.now();
    this.load.push([this.seconds(now), Math.round(loadavg()[0]! * 100) / 100]);
    for (const g of this.groups.values()) this.sampleGroup(g, now);
  }

  series(): SampledGroup[] {
    return [...this.groups.values()].map((g) => ({ label: g.label, samples: g.samples }));
  }

  private seconds(now: number): number {
    return Math.round((now - this.origin) / 10) / 100;
  }

  private sampleGroup(g: Group, now: number): void {
    const pids = g.pids();
    if (pids.length === 0 && g.last.size === 0) return;
    const ticks = new Map<number, number>();
    let rss = 0;
    let delta = 0;
    for (const pid of pids) {
      const t = cpuTicks(pid);
      const r = rssOf(pid);
      if (t === undefined || r === undefined) continue;
      ticks.set(pid, t);
      rss += r;
      const before = g.last.get(pid);
      if (before !== undefined) delta += t - before;
    }
    const wall = (now - g.lastAt) / 1000;
    // The first sample of a group only sets the baseline: CPU needs two readings.
    if (ticks.size > 0 && g.last.size > 0 && wall > 0) {
      g.samples.push({
        t: this.seconds(now),
        cpuPercent: Math.round((10000 * delta) / CLK_TCK / wall) / 100,
        rssMB: Math.round((rss / 2 ** 20) * 10) / 10,
      });
    }
    g.last = ticks;
    g.lastAt = now;
  }
}

/** Every descendant of `root` (children, their children...), from /proc/<pid>/task/<pid>/children. */
export function descendants(root: number): number[] {
  const out: number[] = [];
  const visit = (pid: number) => {
    let children: string;
    try {
      children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8');
    } catch {
      return;
    }
    for (const c of children.trim().split(/\s+/)) {
      if (!c) continue;
      out.push(Number(c));
      visit(Number(c));
    }
  };
  visit(root);
  return out;
}

/** The command name of a process (/proc/<pid>/comm), or undefined when it is gone. */
export function commOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** A pid list for ProcessSampler.watch: the descendants of this process named `comm`, read at every sample. */
export function descendantsNamed(comm: string, root = process.pid): () => number[] {
  return () => descendants(root).filter((pid) => commOf(pid) === comm);
}
