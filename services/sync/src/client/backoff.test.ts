import { test } from 'node:test';
import assert from 'node:assert/strict';
import { failoverIndex, nextBackoff, reconnectSpread } from './backoff.js';

test('backoff doubles up to the maximum, with jitter in the upper half', () => {
  assert.equal(
    nextBackoff(0, 100, 10_000, () => 0),
    50,
  );
  assert.equal(
    nextBackoff(0, 100, 10_000, () => 1),
    100,
  );
  assert.equal(
    nextBackoff(3, 100, 10_000, () => 0),
    400,
  );
  assert.equal(
    nextBackoff(20, 100, 10_000, () => 1),
    10_000,
  );
  assert.equal(
    nextBackoff(1000, 100, 10_000, () => 0.5),
    7500,
  );
  for (let i = 0; i < 100; i++) {
    const d = nextBackoff(5, 100, 10_000);
    assert.ok(d >= 1600 && d <= 3200, String(d));
  }
});

test('the reconnect spread grows with the agents per surviving server, within its bounds', () => {
  assert.equal(reconnectSpread(10, 2), 20);
  assert.equal(reconnectSpread(10_000, 2), 1000);
  assert.equal(reconnectSpread(10_000, 3), 333);
  assert.equal(reconnectSpread(10_000, 1), 2000);
  assert.equal(reconnectSpread(1_000_000, 2), 10_000);
  assert.equal(reconnectSpread(0, 0), 20);
  assert.ok(reconnectSpread(5000, 2) < reconnectSpread(20_000, 2));
});

test('after losing an in-sync server an agent picks one of the others at random, never the lost one', () => {
  assert.equal(failoverIndex(1, 0), 0);
  assert.equal(
    failoverIndex(2, 0, () => 0),
    1,
  );
  assert.equal(
    failoverIndex(2, 1, () => 0.99),
    0,
  );
  // Out-of-range input is clamped to an endpoint: a random() of exactly 1 still names one.
  assert.equal(
    failoverIndex(3, 2, () => 1),
    1,
  );
  // A lost server not in the list (one a Reconnect named): any endpoint, the first included.
  assert.equal(
    failoverIndex(3, -1, () => 0),
    0,
  );
  assert.equal(
    failoverIndex(3, 7, () => 0.99),
    2,
  );
  assert.equal(
    failoverIndex(3, Number.NaN, () => 1),
    2,
  );
  // Every other endpoint, about equally: the orphans spread over all survivors.
  const counts = [0, 0, 0, 0];
  let seed = 1;
  const random = () => ((seed = (seed * 48271) % 2147483647) - 1) / 2147483646;
  for (let i = 0; i < 4000; i++) counts[failoverIndex(4, 1, random)]!++;
  assert.equal(counts[1], 0);
  for (const i of [0, 2, 3]) assert.ok(counts[i]! > 1100 && counts[i]! < 1560, `endpoint ${i}: ${counts[i]}`);
});
