import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextBackoff } from './backoff.js';

test('backoff doubles up to the maximum, with jitter in the upper half', () => {
  assert.equal(nextBackoff(0, 100, 10_000, () => 0), 50);
  assert.equal(nextBackoff(0, 100, 10_000, () => 1), 100);
  assert.equal(nextBackoff(3, 100, 10_000, () => 0), 400);
  assert.equal(nextBackoff(20, 100, 10_000, () => 1), 10_000);
  assert.equal(nextBackoff(1000, 100, 10_000, () => 0.5), 7500);
  for (let i = 0; i < 100; i++) {
    const d = nextBackoff(5, 100, 10_000);
    assert.ok(d >= 1600 && d <= 3200, String(d));
  }
});
