// What every service's /metrics carries before it adds a single instrument of its own: the
// process and runtime series under Prometheus' usual names, meshless_build_info, no OTel scope
// label; and the exposition passes `promtool check metrics` (Debian's prometheus package).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startTelemetry } from './index.js';

test('/metrics has process, runtime and build metrics, and promtool accepts it', async (t) => {
  const telemetry = await startTelemetry({ service: 'test', port: 0 });
  try {
    const counter = telemetry.meter.createCounter('meshless_test_things_total', { description: 'things' });
    counter.add(3, { kind: 'a' });
    // Give the event-loop delay monitor something to sample.
    await new Promise((r) => setTimeout(r, 50));
    const text = await (await fetch(`http://127.0.0.1:${telemetry.port}/metrics`)).text();
    for (const name of [
      'process_cpu_seconds_total',
      'process_cpu_user_seconds_total',
      'process_resident_memory_bytes',
      'process_start_time_seconds',
      'process_open_fds',
      'nodejs_heap_size_used_bytes',
      'nodejs_heap_size_total_bytes',
      'nodejs_external_memory_bytes',
      'nodejs_eventloop_lag_p50_seconds',
      'nodejs_eventloop_lag_p99_seconds',
      'nodejs_eventloop_lag_max_seconds',
    ]) {
      assert.match(text, new RegExp(`^${name}(\\{[^}]*\\})? [0-9.e+-]+$`, 'm'), `${name} is exported`);
    }
    assert.match(text, /^# TYPE process_cpu_seconds_total counter$/m);
    assert.match(text, /^meshless_build_info\{service="test",version="[^"]+",node_version="v\d+[^"]*"\} 1$/m);
    assert.match(text, /^meshless_test_things_total\{kind="a"\} 3$/m);
    assert.doesNotMatch(text, /otel_scope_name/);
    const rss = Number(/^process_resident_memory_bytes (\S+)$/m.exec(text)![1]);
    assert.ok(rss > 10 * 2 ** 20 && rss < 4 * 2 ** 30, `RSS ${rss} is a plausible size`);

    const promtool = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    if (promtool.error) {
      t.diagnostic(`promtool not installed (${promtool.error.message}); skipped the lint`);
      return;
    }
    assert.equal(promtool.status, 0, `promtool check metrics:\n${promtool.stdout}${promtool.stderr}`);
  } finally {
    await telemetry.close();
  }
});

test('/readyz fails as "starting" until the service registers a condition, then follows it', async () => {
  const telemetry = await startTelemetry({ service: 'test', port: 0 });
  const readyz = async () => {
    const res = await fetch(`http://127.0.0.1:${telemetry.port}/readyz`);
    return `${res.status} ${(await res.text()).trim()}`;
  };
  try {
    assert.equal(await readyz(), '503 service: starting (no readiness condition registered yet)');
    let up = false;
    telemetry.addReadiness('server', () => ({ ready: up, reason: 'not listening' }));
    assert.equal(await readyz(), '503 server: not listening');
    up = true;
    assert.equal(await readyz(), '200 ok');
  } finally {
    await telemetry.close();
  }
});
