// The machine a figure was taken on, as the report and the JSON record it.
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { PROJECT_ROOT } from '../../services/shared/paths/index.js';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGB: number;
  node: string;
  kernel: string;
}

export function machineInfo(): MachineInfo {
  const c = cpus();
  return {
    cpuModel: c[0]?.model.trim() ?? 'unknown',
    cores: c.length,
    memoryGB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    kernel: release(),
  };
}

/** The 1-, 5- and 15-minute load averages, to 0.01. */
export function loadAverage(): [number, number, number] {
  const [a, b, c] = loadavg().map((l) => Math.round(l * 100) / 100);
  return [a!, b!, c!];
}

/** The command as the user typed it: `npm run bench:x -- ARGS` when npm started us. */
export function commandLine(argv = process.argv, env = process.env): string {
  const args = argv.slice(2).map(shellQuote).join(' ');
  const event = env.npm_lifecycle_event;
  if (event) return `npm run ${event}${args ? ` -- ${args}` : ''}`;
  return [argv[0] ?? 'node', ...argv.slice(1)].map(shellQuote).join(' ');
}

export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The checkout's commit (`abc1234`, `+dirty` with uncommitted changes), or 'unknown' outside git. */
export function sourceRevision(): string {
  try {
    const run = (args: string[]) =>
      execFileSync('git', ['-C', PROJECT_ROOT, ...args], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
        timeout: 5000,
      }).trim();
    return `${run(['rev-parse', '--short', 'HEAD'])}${run(['status', '--porcelain', '--untracked-files=no']) ? '+dirty' : ''}`;
  } catch {
    return 'unknown';
  }
}
