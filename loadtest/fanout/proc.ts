// Process figures from /proc (Linux): resident memory and CPU seconds of another process.
import { readdirSync, readFileSync } from 'node:fs';

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
