import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bucketDelta, bucketsOf, histogramQuantile, parsePrometheusText, sumOf } from './prom-text.js';

// The exposition of a real sync server (OpenTelemetry's Prometheus exporter), trimmed.
const SYNC = `# HELP meshless_sync_connections streams past the handshake, by syncer type
# TYPE meshless_sync_connections gauge
meshless_sync_connections{syncer="agent",otel_scope_name="meshless-sync"} 3
meshless_sync_connections{syncer="bgp",otel_scope_name="meshless-sync"} 1
# TYPE meshless_sync_fanout_seconds histogram
meshless_sync_fanout_seconds_bucket{kind="deltas",otel_scope_name="meshless-sync",le="0.001"} 2
meshless_sync_fanout_seconds_bucket{kind="deltas",otel_scope_name="meshless-sync",le="0.002"} 6
meshless_sync_fanout_seconds_bucket{kind="deltas",otel_scope_name="meshless-sync",le="0.004"} 10
meshless_sync_fanout_seconds_bucket{kind="deltas",otel_scope_name="meshless-sync",le="+Inf"} 10
meshless_sync_fanout_seconds_bucket{kind="ping",otel_scope_name="meshless-sync",le="0.001"} 5
meshless_sync_fanout_seconds_bucket{kind="ping",otel_scope_name="meshless-sync",le="0.002"} 5
meshless_sync_fanout_seconds_bucket{kind="ping",otel_scope_name="meshless-sync",le="0.004"} 5
meshless_sync_fanout_seconds_bucket{kind="ping",otel_scope_name="meshless-sync",le="+Inf"} 5
meshless_sync_fanout_seconds_count{kind="deltas",otel_scope_name="meshless-sync"} 10
meshless_sync_streams{otel_scope_name="meshless-sync"} 4 1700000000000
weird{path="a\\\\b \\"quoted\\"\\nnext",empty=""} NaN
`;

test('parses samples, labels with escapes, timestamps and NaN; sums by label', () => {
  const s = parsePrometheusText(SYNC);
  assert.equal(sumOf(s, 'meshless_sync_connections'), 4);
  assert.equal(sumOf(s, 'meshless_sync_connections', { syncer: 'agent' }), 3);
  assert.equal(sumOf(s, 'meshless_sync_connections', { syncer: 'other' }), undefined);
  assert.equal(sumOf(s, 'meshless_sync_streams'), 4);
  assert.equal(sumOf(s, 'absent'), undefined);
  const weird = s.get('weird')![0]!;
  assert.deepEqual(weird.labels, { path: 'a\\b "quoted"\nnext', empty: '' });
  assert.ok(Number.isNaN(weird.value));
});

test('a malformed line is an error that quotes it', () => {
  assert.throws(() => parsePrometheusText('meshless_x{a="1" 2\n'), /malformed .*meshless_x/);
  assert.throws(() => parsePrometheusText('meshless_x twelve\n'), /malformed value in metrics line: meshless_x twelve/);
  assert.throws(() => parsePrometheusText('meshless_x{a=1} 2\n'), /malformed labels/);
});

test('quantiles as PromQL histogram_quantile: interpolated inside the bucket, by label', () => {
  const s = parsePrometheusText(SYNC);
  const deltas = bucketsOf(s, 'meshless_sync_fanout_seconds', { kind: 'deltas' });
  assert.deepEqual(deltas, [
    [0.001, 2],
    [0.002, 6],
    [0.004, 10],
    [Infinity, 10],
  ]);
  // rank 5 of 10 lies in (0.001, 0.002], 3 of its 4 observations in: 0.001 + 0.001 × 3/4.
  assert.equal(histogramQuantile(0.5, deltas), 0.00175);
  assert.equal(histogramQuantile(0.99, deltas), 0.002 + (0.002 * (9.9 - 6)) / 4);
  assert.equal(histogramQuantile(0.5, bucketsOf(s, 'meshless_sync_fanout_seconds', { kind: 'ping' })), 0.0005);
  assert.equal(histogramQuantile(0.5, []), undefined);
  // Everything above the last finite bound: that bound, as Prometheus answers.
  assert.equal(
    histogramQuantile(0.9, [
      [0.1, 0],
      [Infinity, 3],
    ]),
    0.1,
  );
});

test('bucket deltas between scrapes, and a restarted server counted from zero', () => {
  const before: Array<[number, number]> = [
    [0.001, 2],
    [Infinity, 4],
  ];
  assert.deepEqual(
    bucketDelta(
      [
        [0.001, 5],
        [Infinity, 9],
      ],
      before,
    ),
    [
      [0.001, 3],
      [Infinity, 5],
    ],
  );
  assert.deepEqual(
    bucketDelta(
      [
        [0.001, 1],
        [Infinity, 1],
      ],
      before,
    ),
    [
      [0.001, 1],
      [Infinity, 1],
    ],
  );
});
