// A real benchmark run with --report, as users run it (the compiled build): the fan-out benchmark
// at a small size (2 sync servers, so the failover phase runs too). stdout must hold only the JSON
// line; the report must carry the latency CDF of that run against the floor (the same percentiles
// as the JSON, from the same HDR histograms), CPU and memory series of the processes under test,
// the machine, the load and the exact command.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../services/shared/paths/index.js';

test('bench:fanout --report writes the HTML report of the run', { timeout: 300_000 }, async () => {
  const { build } = (await import(join(PROJECT_ROOT, 'infra/build.mjs'))) as {
    build(o?: { quiet?: boolean }): Promise<void>;
  };
  await build({ quiet: true });
  const dir = mkdtempSync(join(tmpdir(), 'meshless-bench-report-'));
  try {
    const report = join(dir, 'fanout <1>.html');
    const args = [
      '--agents',
      '12',
      '--servers',
      '2',
      '--changes',
      '5',
      '--nodes',
      '6',
      '--endpoints',
      '40',
      '--policies',
      '4',
      '--report',
      report,
      '--json',
    ];
    const child = spawn(
      process.execPath,
      ['--enable-source-maps', join(PROJECT_ROOT, 'dist/loadtest/fanout/main.js'), ...args],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MESHLESS_PROGRESS_SECONDS: '1' } },
    );
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    assert.equal(code, 0, stderr.slice(-3000));

    const lines = stdout.trim().split('\n');
    assert.equal(lines.length, 1, `stdout holds only the JSON line, got:\n${stdout.slice(0, 1000)}`);
    const result = JSON.parse(lines[0]!) as {
      latencyMs: { p50: number; p99: number; max: number; count: number };
      floorMs: { count: number };
      failover: { agents: number } | null;
    };
    assert.equal(result.latencyMs.count, 12 * 5, 'one receipt per agent and change');
    assert.equal(result.floorMs.count, 12 * 5);
    assert.ok(result.latencyMs.p50 <= result.latencyMs.p99 && result.latencyMs.p99 <= result.latencyMs.max);
    assert.ok(result.failover && result.failover.agents > 0);
    assert.match(stderr, /\[bench:fanout\] report written to .*fanout <1>\.html/);

    const html = readFileSync(report, 'utf8');
    assert.doesNotMatch(html, /<script|src=|href=/i, 'self-contained');
    const series = (name: string) =>
      new RegExp(`<polyline class="series" data-series="${name}" data-points="([^"]+)"`).exec(html)?.[1];
    const cdf = series('meshless sync');
    const floor = series('floor \\(plain TCP\\)');
    assert.ok(cdf && floor, 'the CDF chart has both curves');
    const points = cdf.split(' ').map((p) => p.split(',').map(Number) as [number, number]);
    assert.equal(points.at(-1)![1], 1, 'the CDF ends at 1');
    assert.ok(
      Math.abs(points.at(-1)![0] - result.latencyMs.max) <= 0.01 + result.latencyMs.max * 1e-5,
      "at the JSON's max",
    );
    assert.ok(
      points.some(([ms, f]) => f === 0.5 && Math.abs(ms - result.latencyMs.p50) <= 0.01 + ms * 1e-5),
      "through the JSON's p50",
    );
    for (const process of [
      'sync server s0',
      'sync server s1',
      'datastore',
      'nats-server',
      'load generator \\(workers\\)',
    ]) {
      assert.ok(series(process), `CPU/RSS series for ${process}`);
    }
    assert.match(html, /Change latency to 12 agents vs the raw-socket floor/);
    assert.match(html, /load average \(1, 5, 15 min\) at start<\/td><td>[\d.]+ [\d.]+ [\d.]+</);
    assert.match(html, /Node\.js<\/td><td>v\d+/);
    assert.ok(
      html.includes(`--report &#39;${report.replace(/</g, '&lt;').replace(/>/g, '&gt;')}&#39; --json`),
      'the exact command, quoted and escaped',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
