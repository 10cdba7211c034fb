import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Cache, type RawChange } from './cache.js';

const wep = (name: string, node: string) => ({
  key: `workloadendpoints.default.${name}`,
  value: Buffer.from(
    JSON.stringify({ kind: 'WorkloadEndpoint', metadata: { name, namespace: 'default' }, spec: { node } }),
  ),
});

test('apply keeps the latest value per key, ignores replays and non-resource keys', () => {
  const c = new Cache();
  const applied = c.apply([
    { key: 'nodes._.a', revision: 1, value: Buffer.from('{"v":1}') },
    { key: 'nodes._.a', revision: 3, value: Buffer.from('{"v":3}') },
    { key: 'nodes._.a', revision: 2, value: Buffer.from('{"v":2}') },
    { key: 'not-a-resource', revision: 4, value: Buffer.from('x') },
  ]);
  assert.equal(applied.length, 2);
  assert.equal(c.get('nodes._.a')?.value?.toString(), '{"v":3}');
  assert.equal(c.revision, 4);
  assert.equal(c.ignoredKeys, 1);
  assert.equal(c.live, 1);
});

test('endpoints are indexed by spec.node, moves and deletions update the index', () => {
  const c = new Cache();
  const a = wep('w', 'n1');
  c.apply([{ ...a, revision: 1 }]);
  assert.deepEqual(
    [...c.nodeEntries('n1')].map((e) => e.key),
    [a.key],
  );
  const moved = c.apply([{ ...wep('w', 'n2'), revision: 2 }]);
  assert.equal(moved[0]!.previous?.node, 'n1');
  assert.equal(moved[0]!.entry.node, 'n2');
  assert.deepEqual([...c.nodeEntries('n1')], []);
  assert.equal(c.nodeRevision('n1'), 2);
  c.apply([{ key: a.key, revision: 3, value: undefined }]);
  assert.deepEqual([...c.nodeEntries('n2')], []);
  assert.equal(c.get(a.key)?.value, undefined, 'a tombstone is kept');
  assert.equal(c.live, 0);
});

test('an endpoint whose JSON has no spec.node belongs to no node', () => {
  const c = new Cache();
  c.apply([{ key: 'workloadendpoints.default.x', revision: 1, value: Buffer.from('{not json') }]);
  assert.equal(c.get('workloadendpoints.default.x')?.node, undefined);
});

test('raiseHorizon drops tombstones at or below it and nothing else', () => {
  const c = new Cache();
  c.apply([
    { key: 'nodes._.a', revision: 1, value: Buffer.from('{}') },
    { key: 'nodes._.b', revision: 2, value: undefined },
    { key: 'nodes._.c', revision: 3, value: undefined },
  ]);
  assert.deepEqual(c.raiseHorizon(2), ['nodes._.b']);
  assert.equal(c.horizon, 2);
  assert.equal(c.get('nodes._.c')?.value, undefined);
  assert.ok(c.get('nodes._.c'));
  assert.deepEqual(c.raiseHorizon(1), [], 'the horizon never goes down');
});

test('property: changedSince(R) is exactly the latest state of every key written after R', () => {
  const keys = [
    'nodes._.a',
    'nodes._.b',
    'ippools._.p',
    'workloadendpoints.default.w1',
    'workloadendpoints.default.w2',
  ];
  const op = fc.record({ key: fc.constantFrom(...keys), del: fc.boolean(), node: fc.constantFrom('n1', 'n2') });
  fc.assert(
    fc.property(fc.array(op, { minLength: 1, maxLength: 300 }), fc.nat(), (ops, pick) => {
      const c = new Cache();
      const log: RawChange[] = ops.map((o, i) => ({
        key: o.key,
        revision: i + 1,
        value: o.del
          ? undefined
          : o.key.startsWith('workload')
            ? wep(o.key.split('.')[2]!, o.node).value
            : Buffer.from(`{"i":${i}}`),
      }));
      // apply in a few batches
      for (let i = 0; i < log.length; i += 7) c.apply(log.slice(i, i + 7));
      const r = pick % (log.length + 1);
      const expected = new Map<string, number>();
      for (const ch of log) if (ch.revision > r) expected.set(ch.key, ch.revision);
      const got = [...c.changedSince(r)];
      assert.deepEqual(new Map(got.map((e) => [e.key, e.revision])), expected);
      for (let i = 1; i < got.length; i++) assert.ok(got[i - 1]!.revision < got[i]!.revision, 'in revision order');
      const live = new Map<string, Buffer | undefined>();
      for (const ch of log) live.set(ch.key, ch.value);
      assert.equal(c.live, [...live.values()].filter((v) => v !== undefined).length);
    }),
    { numRuns: 200 },
  );
});

test('the change log is compacted under heavy churn of few keys', () => {
  const c = new Cache();
  for (let i = 1; i <= 5000; i++)
    c.apply([{ key: `nodes._.k${i % 3}`, revision: i, value: Buffer.from(`{"i":${i}}`) }]);
  assert.deepEqual(
    [...c.changedSince(4990)].map((e) => e.revision),
    [4998, 4999, 5000],
  );
  assert.deepEqual([...c.changedSince(0)].length, 3);
});

test('load restores a warm cache', () => {
  const c = new Cache();
  c.load([{ key: 'nodes._.a', kind: 'Node', revision: 7, value: Buffer.from('{}'), node: undefined }], 9, 2);
  assert.equal(c.revision, 9);
  assert.equal(c.horizon, 2);
  assert.deepEqual(
    [...c.changedSince(6)].map((e) => e.key),
    ['nodes._.a'],
  );
  assert.throws(() => c.load([], 1, 0), /empty cache/);
});
