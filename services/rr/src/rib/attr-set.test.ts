import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AttrTable, attrKey } from './attr-set.js';
import { attrHash, attrsEqual } from './attr-hash.js';
import type { PathAttributes } from '../../../bgp/index.js';

// Small domains so that equal sets (and near misses) come up often.
const small = fc.integer({ min: 0, max: 2 });
const maybe = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(a, { nil: undefined });
const attrsArb: fc.Arbitrary<PathAttributes> = fc.record(
  {
    origin: fc.constantFrom(0 as const, 2 as const),
    asPath: fc.array(
      fc.record({
        type: fc.constantFrom(1 as const, 2 as const),
        asns: fc.array(fc.constantFrom(1, 65000, 4200000000), { maxLength: 2 }),
      }),
      { maxLength: 2 },
    ),
    med: maybe(small),
    localPref: maybe(fc.constantFrom(0, 100)),
    atomicAggregate: fc.boolean(),
    aggregator: maybe(fc.record({ asn: fc.constantFrom(1, 2), address: fc.constantFrom('10.0.0.1', '10.0.0.2') })),
    communities: maybe(fc.array(fc.constantFrom(1, 0xffff0001, 7), { maxLength: 2 })),
    largeCommunities: maybe(
      fc.array(fc.record({ globalAdmin: small, localData1: small, localData2: small }), { maxLength: 1 }),
    ),
    extendedCommunities: maybe(
      fc.array(fc.constantFrom(new Uint8Array(8), new Uint8Array([0, 2, 0, 1, 0, 0, 0, 1])), { maxLength: 1 }),
    ),
    originatorId: maybe(fc.constantFrom('', '10.0.0.9')),
    clusterList: maybe(fc.array(fc.constantFrom('10.0.0.1', '10.0.0.2'), { maxLength: 2 })),
    unknown: fc.array(
      fc.record({
        flags: fc.constantFrom(0xc0, 0xe0),
        type: fc.constantFrom(99, 100),
        value: fc.constantFrom(new Uint8Array([1]), new Uint8Array([1, 2])),
      }),
      { maxLength: 1 },
    ),
  },
  { requiredKeys: ['origin', 'asPath', 'atomicAggregate', 'unknown'] },
);
const nextHopArb = fc.constantFrom('10.0.0.1', '10.0.0.2', '');

describe('attribute set hashing', () => {
  it('attrsEqual agrees with the canonical text, and equal sets hash equal', () => {
    fc.assert(
      fc.property(attrsArb, attrsArb, (a, b) => {
        const sameText = attrKey(a, '', undefined) === attrKey(b, '', undefined);
        assert.equal(attrsEqual(a, b), sameText);
        if (sameText) assert.equal(attrHash(a, '', undefined), attrHash(b, '', undefined));
      }),
      { numRuns: 3000 },
    );
  });

  it('the table interns by content: one set per distinct (attributes, next hop), freed at zero references', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(attrsArb, nextHopArb), { minLength: 1, maxLength: 60 }), (items) => {
        const t = new AttrTable();
        const sets = items.map(([a, nh]) => t.intern(a, nh));
        const distinct = new Set(items.map(([a, nh]) => attrKey(a, nh, undefined)));
        assert.equal(t.size, distinct.size);
        for (let i = 0; i < items.length; i++) {
          for (let j = 0; j < i; j++) {
            const same =
              attrKey(items[i]![0], items[i]![1], undefined) === attrKey(items[j]![0], items[j]![1], undefined);
            assert.equal(sets[i] === sets[j], same);
          }
        }
        // Release in an order that exercises the backward-shift delete, re-finding the rest.
        for (let i = items.length - 1; i >= 0; i -= 2) t.release(sets[i]!);
        for (let i = items.length - 2; i >= 0; i -= 2) {
          const again = t.intern(items[i]![0], items[i]![1]);
          assert.equal(again, sets[i]);
          t.release(again);
          t.release(sets[i]!);
        }
        assert.equal(t.size, 0);
        assert.equal([...t.entries()].length, 0);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps finding every set across growth of the slot table', () => {
    const t = new AttrTable();
    const n = 5000;
    const a = (i: number): PathAttributes => ({
      origin: 0,
      asPath: [{ type: 2, asns: [i, i + 1] }],
      atomicAggregate: false,
      unknown: [],
    });
    const sets = Array.from({ length: n }, (_, i) => t.intern(a(i), '10.0.0.1'));
    assert.equal(t.size, n);
    for (let i = 0; i < n; i++) assert.equal(t.intern(a(i), '10.0.0.1'), sets[i]);
    for (let i = 0; i < n; i += 3) {
      t.release(sets[i]!);
      t.release(sets[i]!);
    }
    for (let i = 0; i < n; i++) {
      const s = t.intern(a(i), '10.0.0.1');
      if (i % 3 === 0) assert.notEqual(s.serial, sets[i]!.serial);
      else assert.equal(s, sets[i]);
    }
  });
});
