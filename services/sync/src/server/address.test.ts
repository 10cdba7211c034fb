import { test } from 'node:test';
import assert from 'node:assert/strict';
import { advertisedAddress } from './address.js';

test('the advertised address: as given, a bare host with our port, or the listen address', () => {
  assert.equal(advertisedAddress(undefined, '0.0.0.0', 5473), '127.0.0.1:5473');
  assert.equal(advertisedAddress('', '10.0.0.5', 5473), '10.0.0.5:5473');
  assert.equal(advertisedAddress('10.1.2.3', '0.0.0.0', 5473), '10.1.2.3:5473');
  assert.equal(advertisedAddress('sync.example:6000', '0.0.0.0', 5473), 'sync.example:6000');
  assert.equal(advertisedAddress('fd00::7', '[::]', 5473), '[fd00::7]:5473');
  assert.equal(advertisedAddress('[fd00::7]:6000', '[::]', 5473), '[fd00::7]:6000');
});
