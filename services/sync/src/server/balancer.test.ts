import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHeartbeat } from './balancer.js';

const enc = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));

test('a heartbeat parses; draining defaults to false', () => {
  assert.deepEqual(parseHeartbeat(enc({ id: 's1', address: '127.0.0.1:5473', connections: 3, ready: true })), {
    id: 's1',
    address: '127.0.0.1:5473',
    connections: 3,
    ready: true,
    draining: false,
  });
});

test('bad heartbeats are named, never thrown', () => {
  const bad: Array<[unknown, RegExp]> = [
    ['{nope', /not JSON/],
    ['7', /not an object/],
    ['null', /not an object/],
    [{ address: 'a:1', connections: 1, ready: true }, /id: must be a non-empty string/],
    [{ id: 's', connections: 1, ready: true }, /address: must be a string/],
    [{ id: 's', address: 'a:1', connections: -1, ready: true }, /connections: must be a non-negative integer/],
    [{ id: 's', address: 'a:1', connections: 1.5, ready: true }, /connections/],
    [{ id: 's', address: 'a:1', connections: 1, ready: 'yes' }, /ready: must be a boolean/],
  ];
  for (const [input, problem] of bad) {
    const r = parseHeartbeat(enc(input));
    assert.equal(typeof r, 'string', JSON.stringify(input));
    assert.match(r as string, problem);
  }
});
