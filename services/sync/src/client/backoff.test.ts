import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextBackoff, reconnectSpread } from './backoff.js';

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
