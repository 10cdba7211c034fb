// CNI ADD / DEL latency: N pods on one node (default 200), each ADDed, then each DELeted, by
// executing bin/meshless-cni exactly as a runtime does (inside the node's network namespace,
// CNI_* in the environment, the configuration on stdin), one at a time. Per invocation: wall
// time and CPU seconds (user + system of the plugin process, from /usr/bin/time). Prints JSON.
// The launcher runs the compiled entry (dist/services/cni/src/main.js), or the TypeScript through
// tsx with MESHLESS_FROM_SOURCE=1; `mode` in the output says which. Needs root. Wall times and CPU
// seconds are recorded in HDR histograms (loadtest/report); progress goes to stderr; --report
// FILE.html adds the latency CDFs and the CPU and memory of the datastore and NATS over time.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCniLab, netnsPath } from '../../services/cni/testing.js';
import { execPlugin, REPO_BIN, type Attachment, type PluginRun } from '../../services/cni/testing.js';
import { benchArgs } from '../args.js';
import { BenchRun, descendantsNamed, LatencyHistogram, lineChart } from '../report/index.js';

interface Sample {
  wallMs: number;
  cpuS: number;
}

/** Wall time (ms) and CPU (recorded as ms, reported in s) of every call of one command. */
class Calls {
  readonly wall: LatencyHistogram;
  readonly cpu: LatencyHistogram;
  constructor(readonly command: string) {
    this.wall = new LatencyHistogram(`${command} wall`);
    this.cpu = new LatencyHistogram(`${command} cpu`);
  }
  push(s: Sample): void {
    this.wall.record(s.wallMs);
    this.cpu.record(s.cpuS * 1000);
  }
}

const HELP = `CNI ADD and DEL latency and CPU per call, as a runtime calls the plugin (needs root).

Usage: npm run bench:cni -- [options]
  --pods N          pods ADDed then DELeted on one node (default 200)
`;

function summary(c: Calls) {
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  return {
    wallP50Ms: r3(c.wall.at(50)),
    wallP99Ms: r3(c.wall.at(99)),
    wallMaxMs: r3(c.wall.at(100)),
    cpuP50S: r3(c.cpu.at(50) / 1000),
    cpuP99S: r3(c.cpu.at(99) / 1000),
  };
}

async function main(): Promise<void> {
  const args = benchArgs('bench:cni', HELP, { pods: { type: 'string', default: '200' } });
  const pods = args.int('pods', 1, 5000);
  if (process.getuid?.() !== 0) throw new Error('needs root (network namespaces)');
  const run = new BenchRun('bench:cni', { reportPath: args.report });
  const timing = mkdtempSync(join(tmpdir(), 'meshless-cni-bench-'));
  // The lab's datastore runs in this process: it logs to stderr, stdout carries only the result.
  const lab = await createCniLab({ pool: '10.96.0.0/16', blockSize: 26, logLevel: 'warn', logDestination: 'stderr' });
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
  writeFileSync(
    join(timing, 'bin', 'meshless-cni'),
    `#!/bin/sh\nexec /usr/bin/time -f '%e %U %S' -o "${timing}/$CNI_COMMAND-$BENCH_I" ${join(REPO_BIN, 'meshless-cni')}\n`,
  );
  chmodSync(join(timing, 'bin', 'meshless-cni'), 0o755);

  run.sampler.watch('bench + datastore (this process)', process.pid);
  run.sampler.watch('nats-server', descendantsNamed('nats-server'));
  const load = [loadavg()[0]!];
  const adds = new Calls('ADD');
  const dels = new Calls('DEL');
  const attachments: Attachment[] = [];
  try {
    let phase = run.console.phase('CNI ADD', { total: pods, unit: 'pods' });
    for (let i = 0; i < pods; i++) {
      const ns = await lab.newPod();
      const a: Attachment = {
        containerId: `bench${i}`,
        netns: netnsPath(ns),
        ifname: 'eth0',
        args: { K8S_POD_NAMESPACE: 'bench', K8S_POD_NAME: `pod-${i}` },
      };
      const { run, sample } = await withEnv(i, () => timed(i, 'ADD', a));
      if (run.code !== 0) throw new Error(`ADD ${i} failed: ${run.stdout}${run.stderr}`);
      adds.push(sample);
      attachments.push(a);
      phase.update(i + 1, `p50 ${adds.wall.at(50).toFixed(0)} ms`);
    }
    phase.end(null);
    load.push(loadavg()[0]!);
    const blocks = (await lab.client.list('IPAMBlock')).items.length;
    phase = run.console.phase('CNI DEL', { total: pods, unit: 'pods' });
    for (const [i, a] of attachments.entries()) {
      const { run, sample } = await withEnv(i, () => timed(i, 'DEL', a));
      if (run.code !== 0) throw new Error(`DEL ${i} failed: ${run.stdout}${run.stderr}`);
      dels.push(sample);
      phase.update(i + 1, `p50 ${dels.wall.at(50).toFixed(0)} ms`);
    }
    phase.end(null);
    load.push(loadavg()[0]!);
    const leftHandles = (await lab.client.list('IPAMHandle')).items.length;
    const leftEndpoints = (await lab.client.list('WorkloadEndpoint')).items.length;
    const mode =
      process.env.MESHLESS_FROM_SOURCE === '1'
        ? 'tsx (TypeScript sources)'
        : 'compiled (dist/services/cni/src/main.js)';
    const result = {
      pods,
      mode,
      add: summary(adds),
      del: summary(dels),
      blocks,
      leftHandles,
      leftEndpoints,
      loadAverage1m: load.map((l) => Math.round(l * 100) / 100),
      node: process.version,
    };
    run.add({
      heading: 'CNI ADD / DEL',
      text: [
        `${pods} pods on one node, each ADDed then each DELeted by executing meshless-cni as a runtime does (${mode}), one at a time. Wall time per call as the runtime sees it; CPU = user + system of the plugin process (/usr/bin/time, 10 ms resolution).`,
      ],
      table: {
        head: [
          'command',
          'calls',
          'wall p50 ms',
          'wall p90 ms',
          'wall p99 ms',
          'wall max ms',
          'CPU p50 s',
          'CPU p99 s',
        ],
        rows: [adds, dels].map((c) => [
          c.command,
          c.wall.count,
          ...[50, 90, 99, 100].map((p) => Math.round(c.wall.at(p) * 10) / 10),
          c.cpu.at(50) / 1000,
          c.cpu.at(99) / 1000,
        ]),
      },
      charts: [
        lineChart({
          title: 'Wall time per call (CDF)',
          xLabel: 'ms',
          yLabel: 'fraction of calls',
          yMax: 1,
          series: [
            { name: 'ADD', points: adds.wall.cdf() },
            { name: 'DEL', points: dels.wall.cdf() },
          ],
        }),
      ],
    });
    run.finish(result);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await lab.stop();
    rmSync(timing, { recursive: true, force: true });
  }

  function withEnv<T>(i: number, fn: () => Promise<T>): Promise<T> {
    lab.rt.env = {
      BENCH_I: String(i),
      ...(process.env.MESHLESS_FROM_SOURCE ? { MESHLESS_FROM_SOURCE: process.env.MESHLESS_FROM_SOURCE } : {}),
    };
    return fn();
  }
}

main().catch((err: unknown) => {
  console.error(`bench:cni: ${(err as Error).message}`);
  process.exitCode = 1;
});
