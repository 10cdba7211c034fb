// The report module: HDR percentiles, progress lines and bar, the /proc sampler on a real busy
// child, SVG charts that carry their data, HTML that escapes text and parses (in Chromium when it
// is installed: the browser's parser is the judge of "parses").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromiumMissing, launchChromium, waitFor } from '../../services/shared/testing/index.js';
import {
  Console,
  LatencyHistogram,
  ProcessSampler,
  commandLine,
  descendants,
  descendantsNamed,
  escapeHtml,
  lineChart,
  machineInfo,
  niceTicks,
  renderReport,
  type ProgressStream,
} from './index.js';

test('LatencyHistogram: percentiles within HDR precision, CDF ends at the maximum', () => {
  const h = new LatencyHistogram('t');
  assert.deepEqual(h.summary(), { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 });
  for (let i = 1; i <= 10_000; i++) h.record(i / 10); // 0.1 .. 1000 ms
  const s = h.summary();
  assert.equal(s.count, 10_000);
  const near = (got: number, want: number) =>
    assert.ok(Math.abs(got - want) <= want * 0.002 + 0.01, `${got} ≈ ${want}`);
  near(s.p50, 500);
  near(s.p90, 900);
  near(s.p99, 990);
  near(s.p999, 999);
  assert.equal(s.max, 1000);
  near(s.min, 0.1);
  near(s.mean, 500.05);
  assert.ok(s.p999 <= s.max);
  const cdf = h.cdf();
  assert.deepEqual(cdf.at(-1), [1000, 1]);
  for (let i = 1; i < cdf.length; i++) {
    assert.ok(cdf[i]![0] >= cdf[i - 1]![0], 'latency non-decreasing');
    assert.ok(cdf[i]![1] > cdf[i - 1]![1], 'fraction increasing');
  }
  assert.throws(() => h.record(Number.NaN), /t: latency must be a finite number/);
  // Far beyond the initial range: the histogram grows instead of throwing.
  h.record(5 * 3_600_000);
  assert.equal(h.summary().max, 5 * 3_600_000);
});

function fakeStream(tty: boolean): ProgressStream & { out: string } {
  const s = { out: '', isTTY: tty, columns: 200, write: (x: string) => (s.out += x) };
  return s;
}

test('progress: periodic lines when not a terminal, one final line', async () => {
  const stream = fakeStream(false);
  const c = new Console('bench:x', stream, 20);
  const p = c.phase('convergence', { total: 10, unit: 'routes' });
  p.update(3, '1/2 receivers done');
  await waitFor('a periodic line', () => stream.out.includes('[bench:x] convergence: 3/10 routes (30%)'), 10_000, 5);
  assert.match(stream.out, /1\/2 receivers done\n/);
  assert.doesNotMatch(stream.out, /\r/, 'no carriage returns in a log');
  c.log('between');
  p.end();
  assert.match(stream.out, /\[bench:x\] between\n/);
  assert.match(stream.out, /\[bench:x\] convergence: done, 3\/10 routes in \d+\.\d s\n$/);
  const lines = stream.out.length;
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(stream.out.length, lines, 'nothing after end()');
  c.phase('silent').end(null);
  assert.equal(stream.out.length, lines, 'end(null) writes nothing');
  c.phase('waiting for the cluster').end();
  assert.match(
    stream.out,
    /\[bench:x\] waiting for the cluster: done in \d+\.\d s\n$/,
    'no count for a phase without a size',
  );
});

test('progress: a bar redrawn in place on a terminal; log lines clear it first', () => {
  const stream = fakeStream(true);
  const c = new Console('bench:x', stream, 20);
  const p = c.phase('withdrawal', { total: 4 });
  assert.match(stream.out, /^\r\x1b\[2K\[bench:x\] withdrawal \[-{28}\]   0% 0\/4 0\.\d s$/);
  // Redraws are throttled to 10 a second; a log line redraws at once, with the latest count.
  p.update(2);
  stream.out = '';
  c.log('hello');
  assert.ok(
    stream.out.startsWith(
      '\r\x1b[2K[bench:x] hello\n\r\x1b[2K[bench:x] withdrawal [##############--------------]  50% 2/4 ',
    ),
    JSON.stringify(stream.out),
  );
  p.end('all gone');
  assert.ok(stream.out.endsWith('\r\x1b[2K[bench:x] withdrawal: all gone\n'));
});

test('sampler: CPU and RSS of a real busy child, per group, from /proc', async () => {
  const child = spawn(process.execPath, ['-e', 'const t = Date.now(); while (Date.now() - t < 60000) {}'], {
    stdio: 'ignore',
  });
  try {
    const sampler = new ProcessSampler(100).start();
    sampler.watch('busy', child.pid!);
    sampler.watch('node children', descendantsNamed('node'));
    assert.ok(descendants(process.pid).includes(child.pid!));
    await waitFor(
      'a busy sample',
      () =>
        sampler
          .series()
          .find((g) => g.label === 'busy')!
          .samples.some((s) => s.cpuPercent > 20 && s.rssMB > 5),
      20_000,
      20,
    );
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const n = sampler.series().find((g) => g.label === 'busy')!.samples.length;
    await new Promise((r) => setTimeout(r, 300));
    sampler.stop();
    const busy = sampler.series().find((g) => g.label === 'busy')!.samples;
    assert.ok(busy.length <= n + 1, 'a gone process adds no samples');
    assert.ok(busy.every((s) => s.cpuPercent >= 0 && s.cpuPercent <= 400 && s.t >= 0));
    assert.ok(sampler.series().find((g) => g.label === 'node children')!.samples.length > 0);
    assert.ok(sampler.load.length > 2);
  } finally {
    child.kill('SIGKILL');
  }
});

test('charts: one polyline per series carrying its data; names escaped; log axis', () => {
  assert.deepEqual(niceTicks(0, 100), [0, 20, 40, 60, 80, 100]);
  const svg = lineChart({
    title: 'A <b>title</b>',
    xLabel: 'x',
    yLabel: 'y',
    xScale: 'log',
    series: [
      {
        name: 'meshless "sync"',
        points: [
          [1, 0.1],
          [10, 0.5],
          [100, 1],
        ],
      },
      {
        name: 'floor',
        points: [
          [0.5, 0.2],
          [5, 1],
        ],
        dashed: true,
      },
    ],
  });
  const lines = [...svg.matchAll(/<polyline class="series" data-series="([^"]*)" data-points="([^"]*)"/g)];
  assert.deepEqual(
    lines.map((m) => m[1]),
    ['meshless &quot;sync&quot;', 'floor'],
  );
  assert.equal(lines[0]![2], '1,0.1 10,0.5 100,1');
  assert.match(svg, /A &lt;b&gt;title&lt;\/b&gt;/);
  assert.match(svg, />0\.1</, 'log axis starts at the decade below the smallest value');
  assert.match(svg, />100</);
  assert.match(svg, /stroke-dasharray/);
  assert.match(lineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [] }), /no data/);
});

test('commandLine: the npm script as typed, quoted for a shell', () => {
  assert.equal(
    commandLine(['node', 'main.js', '--routes', '1000', '--duts', "a b'c"], { npm_lifecycle_event: 'bench:bgp' }),
    `npm run bench:bgp -- --routes 1000 --duts 'a b'\\''c'`,
  );
  assert.equal(commandLine(['/usr/bin/node', 'dist/x.js'], {}), '/usr/bin/node dist/x.js');
  assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
});

/** Open and close tags of the non-void elements balance (a cheap parse check without a browser). */
function assertBalanced(html: string): void {
  const VOID = new Set(['meta', 'br', 'hr', 'img', 'input', 'link']);
  const stack: string[] = [];
  for (const m of html.matchAll(/<(\/?)([a-zA-Z][\w-]*)[^>]*?(\/?)>/g)) {
    const [, close, name, self] = m;
    const tag = name!.toLowerCase();
    if (VOID.has(tag) || self) continue;
    if (close) assert.equal(stack.pop(), tag, `</${tag}> closes <${stack.at(-1)}>`);
    else stack.push(tag);
  }
  assert.deepEqual(stack, []);
}

const SAMPLE = () =>
  renderReport({
    benchmark: 'bench:test',
    command: `npm run bench:test -- --x '<script>alert(1)</script>'`,
    revision: 'abc1234',
    startedAt: new Date('2026-12-05T09:00:00Z'),
    endedAt: new Date('2026-12-05T09:01:30Z'),
    machine: { ...machineInfo(), cpuModel: 'CPU <i>evil</i> & co' },
    loadAtStart: [1.5, 2, 3],
    loadAtEnd: [4.25, 2, 3],
    sections: [
      {
        heading: 'Results <1>',
        text: ['a & b < c'],
        table: {
          head: ['name', 'value'],
          rows: [
            ['x</td><td>y', 1234.5],
            ['none', null],
          ],
        },
        charts: [
          lineChart({
            title: 'CDF',
            xLabel: 'ms',
            yLabel: 'fraction',
            series: [
              {
                name: 'a',
                points: [
                  [1, 0],
                  [2, 1],
                ],
              },
            ],
          }),
        ],
      },
    ],
    result: { note: '</pre><script>x()</script>' },
  });

test('HTML report: self-contained, balanced, every text escaped, the result JSON intact', () => {
  const html = SAMPLE();
  assertBalanced(html);
  assert.doesNotMatch(html, /<script/i, 'no script, and no injected one');
  assert.doesNotMatch(html, /(src|href)=/i, 'nothing loaded from anywhere');
  assert.match(html, /CPU &lt;i&gt;evil&lt;\/i&gt; &amp; co/);
  assert.match(html, /x&lt;\/td&gt;&lt;td&gt;y/);
  assert.match(html, /1,234.5|1234.5/);
  assert.match(html, /4.25 2 3/);
  assert.match(html, /\(90 s\)/);
  const pre = /<pre id="result">([\s\S]*?)<\/pre>/.exec(html)![1]!;
  const unescaped = pre
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
  assert.deepEqual(JSON.parse(unescaped), { note: '</pre><script>x()</script>' });
});

test('HTML report: Chromium parses it, shows the escaped text as text and the chart with its data', {
  skip: chromiumMissing(),
  timeout: 120_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshless-report-'));
  const browser = await launchChromium();
  try {
    const file = join(dir, 'r.html');
    writeFileSync(file, SAMPLE());
    const page = await browser.newPage(1000, 800);
    await page.navigate(pathToFileURL(file).href);
    const seen = await page.evaluate<{
      scripts: number;
      polylines: string[];
      cpu: string;
      command: string;
      result: string;
    }>(`({
      scripts: document.scripts.length,
      polylines: [...document.querySelectorAll('svg polyline.series')].map((p) => p.dataset.series + '=' + p.dataset.points),
      cpu: [...document.querySelectorAll('td')].find((td) => td.textContent.startsWith('CPU <i>'))?.textContent ?? '',
      command: document.querySelector('p code').textContent,
      result: document.getElementById('result').textContent,
    })`);
    assert.equal(seen.scripts, 0);
    assert.deepEqual(seen.polylines, ['a=1,0 2,1']);
    assert.match(seen.cpu, /^CPU <i>evil<\/i> & co, \d+ cores$/);
    assert.equal(seen.command, `npm run bench:test -- --x '<script>alert(1)</script>'`);
    assert.deepEqual(JSON.parse(seen.result), { note: '</pre><script>x()</script>' });
    assert.deepEqual(page.errors, []);
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
