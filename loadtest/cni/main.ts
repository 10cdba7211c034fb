// CNI ADD / DEL latency: N pods on one node (default 200), each ADDed, then each DELeted, by
// executing bin/meshless-cni exactly as a runtime does (inside the node's network namespace,
// CNI_* in the environment, the configuration on stdin), one at a time. Per invocation: wall
// time and CPU seconds (user + system of the plugin process, from /usr/bin/time). Prints JSON.
// The launcher runs the compiled entry (dist/services/cni/src/main.js), or the TypeScript through
// tsx with MESHLESS_FROM_SOURCE=1; `mode` in the output says which. Needs root.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCniLab, netnsPath } from '../../services/cni/testing.js';
import { execPlugin, REPO_BIN, type Attachment, type PluginRun } from '../../services/cni/testing.js';
import { benchArgs } from '../args.js';

interface Sample {
  wallMs: number;
  cpuS: number;
}

const HELP = `CNI ADD and DEL latency and CPU per call, as a runtime calls the plugin (needs root).

Usage: npm run bench:cni -- [options]
  --pods N          pods ADDed then DELeted on one node (default 200)
`;

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

function summary(samples: Sample[]) {
  const wall = samples.map((s) => s.wallMs);
  const cpu = samples.map((s) => s.cpuS);
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  return { wallP50Ms: r3(pct(wall, 50)), wallP99Ms: r3(pct(wall, 99)), wallMaxMs: r3(Math.max(...wall)), cpuP50S: r3(pct(cpu, 50)), cpuP99S: r3(pct(cpu, 99)) };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('needs root (network namespaces)');
  const pods = benchArgs('bench:cni', HELP, { pods: { type: 'string', default: '200' } }).int('pods', 1, 5000);
  const timing = mkdtempSync(join(tmpdir(), 'meshless-cni-bench-'));
  const lab = await createCniLab({ pool: '10.96.0.0/16', blockSize: 26, logLevel: 'warn' });
  const conf = { cniVersion: '1.0.0', name: lab.list.name, ...lab.list.plugins[0] };
  // /usr/bin/time wraps the plugin: the runtime's exec of `meshless-cni` plus its CPU accounting.
  const timed = (i: number, command: string, a: Attachment): Promise<{ run: PluginRun; sample: Sample }> => {
    const out = join(timing, `${command}-${i}`);
    const rt = { ...lab.rt, path: [join(timing, 'bin')] };
    return execPlugin(rt, command, conf, a).then((run) => {
      const [, user, sys] = readFileSync(out, 'utf8').trim().split(/\s+/).map(Number);
      return { run, sample: { wallMs: run.ms, cpuS: user! + sys! } };
    });
  };
  // A wrapper named meshless-cni that runs the real one under /usr/bin/time, writing to $BENCH_OUT.
  const { mkdirSync, writeFileSync, chmodSync } = await import('node:fs');
  mkdirSync(join(timing, 'bin'));
  writeFileSync(join(timing, 'bin', 'meshless-cni'), `#!/bin/sh\nexec /usr/bin/time -f '%e %U %S' -o "${timing}/$CNI_COMMAND-$BENCH_I" ${join(REPO_BIN, 'meshless-cni')}\n`);
  chmodSync(join(timing, 'bin', 'meshless-cni'), 0o755);

  const load = [loadavg()[0]!];
  const adds: Sample[] = [];
  const dels: Sample[] = [];
  const attachments: Attachment[] = [];
  try {
    for (let i = 0; i < pods; i++) {
      const ns = await lab.newPod();
      const a: Attachment = { containerId: `bench${i}`, netns: netnsPath(ns), ifname: 'eth0', args: { K8S_POD_NAMESPACE: 'bench', K8S_POD_NAME: `pod-${i}` } };
      const { run, sample } = await withEnv(i, () => timed(i, 'ADD', a));
      if (run.code !== 0) throw new Error(`ADD ${i} failed: ${run.stdout}${run.stderr}`);
      adds.push(sample);
      attachments.push(a);
    }
    load.push(loadavg()[0]!);
    const blocks = (await lab.client.list('IPAMBlock')).items.length;
    for (const [i, a] of attachments.entries()) {
      const { run, sample } = await withEnv(i, () => timed(i, 'DEL', a));
      if (run.code !== 0) throw new Error(`DEL ${i} failed: ${run.stdout}${run.stderr}`);
      dels.push(sample);
    }
    load.push(loadavg()[0]!);
    const leftHandles = (await lab.client.list('IPAMHandle')).items.length;
    const leftEndpoints = (await lab.client.list('WorkloadEndpoint')).items.length;
    const mode = process.env.MESHLESS_FROM_SOURCE === '1' ? 'tsx (TypeScript sources)' : 'compiled (dist/services/cni/src/main.js)';
    const result = { pods, mode, add: summary(adds), del: summary(dels), blocks, leftHandles, leftEndpoints, loadAverage1m: load.map((l) => Math.round(l * 100) / 100), node: process.version };
    console.log(JSON.stringify(result));
  } finally {
    await lab.stop();
    rmSync(timing, { recursive: true, force: true });
  }

  function withEnv<T>(i: number, fn: () => Promise<T>): Promise<T> {
    lab.rt.env = { BENCH_I: String(i), ...(process.env.MESHLESS_FROM_SOURCE ? { MESHLESS_FROM_SOURCE: process.env.MESHLESS_FROM_SOURCE } : {}) };
    return fn();
  }
}

main().catch((err: unknown) => {
  console.error(`bench:cni: ${(err as Error).message}`);
  process.exitCode = 1;
});
