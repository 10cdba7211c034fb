import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { fanoutQuantiles } from './server-metrics.js';

const bucket = (le: string, n: number, kind = 'deltas') =>
  `meshless_sync_fanout_seconds_bucket{kind="${kind}",le="${le}"} ${n}`;

test('fan-out quantiles come from the deltas buckets as their upper bounds, in ms', () => {
  const text = [
    bucket('0.004', 50),
    bucket('0.016', 99),
    bucket('0.032', 100),
    bucket('+Inf', 100),
    bucket('0.001', 7, 'ping'),
  ].join('\n');
  assert.deepEqual(fanoutQuantiles(text), { p50: 4, p99: 16, max: 32, count: 100, overLastBound: 0 });
});

test('fan-outs past the last bound are counted and their quantiles are that bound, never Infinity (JSON null)', () => {
  const text = [bucket('0.512', 10), bucket('1.024', 40), bucket('+Inf', 100)].join('\n');
  const q = fanoutQuantiles(text);
  assert.deepEqual(q, { p50: 1024, p99: 1024, max: 1024, count: 100, overLastBound: 60 });
  assert.equal(JSON.parse(JSON.stringify(q)).p99, 1024);
});

test('a /metrics text without the histogram gives zeros, not an error', () => {
  assert.deepEqual(fanoutQuantiles('# nothing here\n'), { p50: 0, p99: 0, max: 0, count: 0, overLastBound: 0 });
});
