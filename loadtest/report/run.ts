// One benchmark run as the report sees it: the console (progress and log lines on stderr), the
// /proc sampler of the processes under test, the machine and load at start and end, and the
// sections the benchmark adds; finish() writes the HTML file when --report asked for one.
import { accessSync, constants, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { renderReport, type Section } from './html.js';
import { lineChart, type Series } from './svg.js';
import { commandLine, loadAverage, machineInfo, sourceRevision } from './machine.js';
import { Console } from './progress.js';
import { ProcessSampler } from './sampler.js';

export interface BenchRunOptions {
  /** Where the HTML report goes; no report (and no sampling) when empty. */
  reportPath?: string;
  /** The sampler's period (default 1 s). */
  sampleMs?: number;
}

export class BenchRun {
  readonly console: Console;
  readonly sampler: ProcessSampler;
  readonly reportPath: string | undefined;
  private readonly startedAt = new Date();
  private readonly loadAtStart = loadAverage();
  private readonly command = commandLine();
  private readonly sections: Section[] = [];

  constructor(
    readonly benchmark: string,
    options: BenchRunOptions = {},
  ) {
    this.console = new Console(benchmark);
    this.reportPath = options.reportPath ? resolve(options.reportPath) : undefined;
    this.sampler = new ProcessSampler(options.sampleMs ?? 1000);
    if (this.reportPath) this.sampler.start();
  }

  /** Seconds since the run started (the x axis of every time chart). */
  seconds(): number {
    return Math.round((performance.now() - this.sampler.origin) / 10) / 100;
  }

  log(message: string): void {
    this.console.log(message);
  }

  add(section: Section): void {
    this.sections.push(section);
  }

  /** Writes the report (when asked for); returns its path. */
  finish(result: unknown): string | undefined {
    this.sampler.stop();
    if (!this.reportPath) return undefined;
    const html = renderReport({
      benchmark: this.benchmark,
      command: this.command,
      revision: sourceRevision(),
      startedAt: this.startedAt,
      endedAt: new Date(),
      machine: machineInfo(),
      loadAtStart: this.loadAtStart,
      loadAtEnd: loadAverage(),
      sections: [...this.sections, resourceSection(this.sampler)],
      result,
    });
    writeFileSync(this.reportPath, html);
    this.console.log(`report written to ${this.reportPath}`);
    return this.reportPath;
  }
}

/** CPU and RSS over time of every sampled group, and the machine's load average. */
export function resourceSection(sampler: ProcessSampler): Section {
  const groups = sampler.series().filter((g) => g.samples.length > 0);
  const cpu: Series[] = groups.map((g) => ({
    name: g.label,
    points: g.samples.map((s) => [s.t, s.cpuPercent] as const),
  }));
  const rss: Series[] = groups.map((g) => ({ name: g.label, points: g.samples.map((s) => [s.t, s.rssMB] as const) }));
  return {
    heading: 'CPU and memory over time',
    text: [
      'Sampled from /proc every second: CPU is user + system time of each group of processes since the previous sample, in % of one core; memory is the sum of their resident set sizes (VmRSS).',
    ],
    table: {
      head: ['process', 'samples', 'CPU % mean', 'CPU % max', 'RSS MB max'],
      rows: groups.map((g) => [
        g.label,
        g.samples.length,
        Math.round(g.samples.reduce((a, s) => a + s.cpuPercent, 0) / g.samples.length),
        Math.round(Math.max(...g.samples.map((s) => s.cpuPercent))),
        Math.max(...g.samples.map((s) => s.rssMB)),
      ]),
    },
    charts: [
      lineChart({
        title: 'CPU per process group',
        xLabel: 'seconds since the start of the run',
        yLabel: '% of one core',
        series: cpu,
      }),
      lineChart({
        title: 'Resident memory per process group',
        xLabel: 'seconds since the start of the run',
        yLabel: 'RSS MB',
        series: rss,
      }),
      lineChart({
        title: 'Machine load average (1 min)',
        xLabel: 'seconds since the start of the run',
        yLabel: 'load',
        series: [{ name: 'load average', points: sampler.load }],
      }),
    ],
  };
}

/** Fails early (before a long run) when the report could not be written. */
export function checkReportPath(path: string): string | undefined {
  if (!path) return undefined;
  try {
    accessSync(dirname(resolve(path)), constants.W_OK);
    return undefined;
  } catch {
    return `--report: cannot write into ${dirname(resolve(path))}`;
  }
}
