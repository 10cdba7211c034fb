// RouteMonitor: the timestamps of `ip -ts monitor route` parsed (and anything else ignored), and
// a real namespace's route changes seen with the time `ip` read them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createNetns, netnsSkipReason } from '../../testing/index.js';
import { waitFor } from '../../shared/testing/index.js';
import { parseRouteEvent, RouteMonitor } from './route-monitor.js';

test('an `ip -ts monitor route` line gives its local time and the route; other lines give nothing', () => {
  assert.deepEqual(parseRouteEvent('[2026-12-05T16:51:58.548551] blackhole 10.65.0.0/31 proto 80 '), {
    at: new Date(2026, 11, 5, 16, 51, 58, 548).getTime(),
    text: 'blackhole 10.65.0.0/31 proto 80',
  });
  assert.equal(
    parseRouteEvent('[2026-12-05T16:51:58.5] Deleted 10.0.0.0/8 dev lo proto 80')?.at,
    new Date(2026, 11, 5, 16, 51, 58, 500).getTime(),
  );
  for (const line of ['', 'blackhole 10.65.0.0/31 proto 80', '[not a time] x', '[2026-13-45T99:99:99.1] x'])
    assert.equal(parseRouteEvent(line), undefined, line);
});

test('a namespace route change is seen with its time; older or other routes are not', {
  skip: netnsSkipReason(),
}, async () => {
  const ns = await createNetns('rmon');
  const monitor = new RouteMonitor(ns);
  try {
    await monitor.started;
    const since = Date.now();
    // The monitor's subscription follows its start by a moment: add routes until one is seen.
    let n = 0;
    await waitFor(
      'the monitor sees a blackhole route of proto 80',
      async () => {
        await ns.exec('ip', ['route', 'add', 'blackhole', `10.99.${n++}.0/24`, 'proto', '80']);
        return monitor.lastChangeAt(/\bproto 80\b/, since) !== undefined;
      },
      10_000,
    );
    const at = monitor.lastChangeAt(/\bproto 80\b/, since)!;
    assert.ok(at >= since - 1000 && at <= Date.now() + 1000, `${at} is about now (${since})`);
    assert.equal(monitor.lastChangeAt(/\bproto 81\b/, since), undefined, 'no route of another protocol');
    assert.equal(monitor.lastChangeAt(/\bproto 80\b/, Date.now() + 60_000), undefined, 'nothing after a later instant');
  } finally {
    await monitor.stop();
    await ns.destroy();
  }
});
