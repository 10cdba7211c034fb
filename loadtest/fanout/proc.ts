// Process figures from /proc (Linux): resident memory and CPU seconds of another process; and
// how the benchmark starts the services it measures.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { MESHLESS_BIN } from '../../services/shared/paths/index.js';

const CLK_TCK = 100;

export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** User + system CPU seconds the process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

export function now(): number {
  return performance.timeOrigin + performance.now();
}

/** PID and its descendants (a sync server and its worker processes), from /proc/PID/task/TID/children. */
export function processTree(pid: number): number[] {
  const out: number[] = [];
  const visit = (p: number) => {
    out.push(p);
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      return;
    }
    for (const t of tasks) {
      let children = '';
      try {
        children = readFileSync(`/proc/${p}/task/${t}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const c of children.split(' ')) if (c.trim()) visit(Number(c));
    }
  };
  visit(pid);
  return out;
}

/** Summed over the process and its descendants (those still running). */
export function treeRssBytes(pid: number): number {
  return processTree(pid).reduce((n, p) => n + safe(() => rssBytes(p)), 0);
}

export function treeCpuSeconds(pid: number): number {
  return processTree(pid).reduce((n, p) => n + safe(() => cpuSeconds(p)), 0);
}

function safe(f: () => number): number {
  try {
    return f();
  } catch {
    return 0;
  }
}

/** FANOUT_PROFILE_DIR: --cpu-prof into that directory, the file named after the process. */
export function profileArgs(name: string): string[] {
  const dir = process.env.FANOUT_PROFILE_DIR;
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}/${name}`] : [];
}

export function spawnService(
  args: string[],
  env: Record<string, string>,
  nodeArgs: string[] = [],
  binary = MESHLESS_BIN,
): ChildProcess {
  return spawn(process.execPath, [...nodeArgs, binary, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}
