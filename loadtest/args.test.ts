// Every benchmark, run as users run it (the compiled build, through its npm script's entry):
// `--help` prints its usage and exits 0 without starting anything; an unknown flag or a malformed
// value exits 2 with the flag named and the usage, before anything starts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../services/shared/paths/index.js';

const BENCHMARKS: Array<{ name: string; entry: string; bad: string[]; badMessage: RegExp }> = [
  {
    name: 'bench:fanout',
    entry: 'loadtest/fanout/main.js',
    bad: ['--agents', 'many'],
    badMessage: /--agents: expected an integer/,
  },
  { name: 'bench:bgp-codec', entry: 'loadtest/bgp-codec/main.js', bad: ['--prefixes', '-5'], badMessage: /--prefixes/ },
  { name: 'bench:bgp', entry: 'loadtest/bgp/main.js', bad: ['--routes', 'lots'], badMessage: /--routes/ },
  {
    name: 'bench:startup',
    entry: 'loadtest/startup/main.js',
    bad: ['--modes', 'jit'],
    badMessage: /--modes: expected dist and\/or source/,
  },
  {
    name: 'bench:cni',
    entry: 'loadtest/cni/main.js',
    bad: ['--pods', '1e3'],
    badMessage: /--pods: expected an integer/,
  },
];

test('benchmarks answer --help and refuse unknown or malformed flags', async (t) => {
  const { build } = (await import(join(PROJECT_ROOT, 'infra/build.mjs'))) as {
    build(o?: { quiet?: boolean }): Promise<void>;
  };
  await build({ quiet: true });
  for (const b of BENCHMARKS) {
    await t.test(b.name, () => {
      const script = join(PROJECT_ROOT, 'dist', b.entry);
      const run = (args: string[]) =>
        spawnSync(process.execPath, ['--expose-gc', script, ...args], { encoding: 'utf8', timeout: 60_000 });
      const help = run(['--help']);
      assert.equal(help.status, 0, `${b.name} --help: ${help.stderr}`);
      assert.match(help.stdout, /usage: npm run /i);
      assert.match(help.stdout, /--report FILE\.html/);

      const typo = run(['--agnets', '10']);
      assert.equal(typo.status, 2, `${b.name} --agnets exits 2 (stdout: ${typo.stdout.slice(0, 200)})`);
      assert.match(typo.stderr, /agnets/);
      assert.match(typo.stderr, /usage: npm run /i);

      const bad = run(b.bad);
      assert.equal(bad.status, 2, `${b.name} ${b.bad.join(' ')} exits 2`);
      assert.match(bad.stderr, b.badMessage);

      // A report that could not be written fails before the run, not after it.
      const nowhere = run(['--report', '/nonexistent-dir/report.html']);
      assert.equal(nowhere.status, 2, `${b.name} --report into a missing directory exits 2`);
      assert.match(nowhere.stderr, /--report: cannot write into \/nonexistent-dir/);
    });
  }
});
