// The stand-in meter a service measures with before the metrics SDK is loaded: what it keeps is
// exactly what the SDK's meter would have had, attached later; a detached one keeps nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTelemetry } from './index.js';
import { DEFERRED_VALUES_LIMIT, DeferredMeter } from './deferred-meter.js';

async function scrape(port: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

test('values recorded before the first scrape are all in it, and later ones go straight to the SDK', async () => {
  const telemetry = await startTelemetry({ service: 'deferred', port: 0 });
  try {
    const m = telemetry.meter;
    const things = m.createCounter('meshless_deferred_things_total');
    const level = m.createUpDownCounter('meshless_deferred_level');
    const latency = m.createHistogram('meshless_deferred_latency_seconds', {
      advice: { explicitBucketBoundaries: [0.1, 1] },
    });
    things.add(2, { kind: 'a' });
    things.add(3, { kind: 'a' });
    things.add(1, { kind: 'b' });
    things.add(-4, { kind: 'a' }); // a counter ignores negative values, as the SDK does
    level.add(5);
    level.add(-2);
    for (const v of [0.05, 0.5, 2]) latency.record(v, { stage: 'x' });
    let observed = 0;
    const gauge = m.createObservableGauge('meshless_deferred_depth');
    gauge.addCallback((r) => r.observe(++observed));
    const batch = m.createObservableGauge('meshless_deferred_batch');
    m.addBatchObservableCallback((r) => r.observe(batch, 7, { from: 'batch' }), [batch]);

    const first = await scrape(telemetry.port);
    assert.match(first, /^meshless_deferred_things_total\{kind="a"\} 5$/m);
    assert.match(first, /^meshless_deferred_things_total\{kind="b"\} 1$/m);
    assert.match(first, /^meshless_deferred_level 3$/m);
    assert.match(first, /^meshless_deferred_latency_seconds_count\{stage="x"\} 3$/m);
    assert.match(first, /^meshless_deferred_latency_seconds_bucket\{stage="x",le="0.1"\} 1$/m);
    assert.match(first, /^meshless_deferred_depth 1$/m);
    assert.match(first, /^meshless_deferred_batch\{from="batch"\} 7$/m);

    things.add(10, { kind: 'a' });
    m.createCounter('meshless_deferred_late_total').add(1);
    const second = await scrape(telemetry.port);
    assert.match(second, /^meshless_deferred_things_total\{kind="a"\} 15$/m);
    assert.match(second, /^meshless_deferred_late_total 1$/m);
    assert.match(second, /^meshless_deferred_depth 2$/m);
  } finally {
    await telemetry.close();
  }
});

test('buffered histogram values past the limit ask for the SDK once; a detached meter keeps nothing', () => {
  let asked = 0;
  const meter = new DeferredMeter(() => asked++);
  const h = meter.createHistogram('h');
  for (let i = 0; i < DEFERRED_VALUES_LIMIT + 5; i++) h.record(i);
  assert.equal(asked, 1);

  const detached = new DeferredMeter(() => assert.fail('a detached meter never asks for the SDK'));
  detached.detach();
  const d = detached.createHistogram('d');
  for (let i = 0; i < DEFERRED_VALUES_LIMIT + 5; i++) d.record(i);
  detached.createCounter('c').add(1);
});
