import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { ChangeTail } from './tail.js';

test('the slowest changes come first, and a ping round near a change is flagged', () => {
  const tail = new ChangeTail();
  const flat = (ms: number, n = 100) => Array.from({ length: n }, (_, i) => ms + i / 100);
  tail.change(1, 1000, flat(10));
  tail.change(2, 2000, [...flat(10, 98), 400, 500]);
  tail.change(3, 3000, flat(12));
  // Ping 7 of server A reached one agent at 1800 and another at 1700: the first receipt counts,
  // and it is within 1 s before change 2.
  tail.ping('A', 7, 1800);
  tail.ping('A', 7, 1700);
  tail.ping('B', 7, 9000);
  const s = tail.summary(2);
  assert.deepEqual(
    s.slowest.map((c) => [c.change, c.p99, c.max, c.nearPing]),
    [
      [2, 400, 500, true],
      [3, 12.98, 12.99, false],
    ],
  );
  // Changes 1 and 3 had no ping near: 200 receipts, their p99 is change 3's tail.
  assert.equal(s.p99AwayFromPings, 12.97);
  assert.equal(s.changesNearPing, 1);
  assert.equal(s.pingRounds, 1);
});

test('no changes: an empty summary, no exception', () => {
  assert.deepEqual(new ChangeTail().summary(), {
    slowest: [],
    changesNearPing: 0,
    p99AwayFromPings: undefined,
    pingRounds: 0,
  });
});
