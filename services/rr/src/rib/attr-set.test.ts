import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AttrTable, attrKey, DEFAULT_LOCAL_PREF } from './attr-set.js';
import {
  AsPathSegmentType,
  attributesFromWire,
  decodeUpdate,
  encodeStoredForm,
  encodeUpdate,
  type PathAttributes,
} from '../../../bgp/index.js';

// Small domains so that equal sets (and near misses) come up often.
const small = fc.integer({ min: 0, max: 2 });
const maybe = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(a, { nil: undefined });
const attrsArb: fc.Arbitrary<PathAttributes> = fc.record(
  {
    origin: fc.constantFrom(0 as const, 2 as const),
    asPath: fc.array(
      fc.record({
        type: fc.constantFrom(1 as const, 2 as const),
        asns: fc.array(fc.constantFrom(1, 65000, 4200000000), { minLength: 1, maxLength: 2 }), // empty segments are not sent (the encoder drops them)
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
    originatorId: maybe(fc.constantFrom('10.0.0.8', '10.0.0.9')),
    clusterList: maybe(fc.array(fc.constantFrom('10.0.0.1', '10.0.0.2'), { maxLength: 2 })),
    unknown: fc.array(
      fc.record({
        flags: fc.constant(0xe0), // as decoded: Partial set on propagation (RFC 4271 §5)
        type: fc.constantFrom(99, 100),
        value: fc.constantFrom(new Uint8Array([1]), new Uint8Array([1, 2])),
      }),
      { maxLength: 1 },
    ),
  },
  { requiredKeys: ['origin', 'asPath', 'atomicAggregate', 'unknown'] },
);
const nextHopArb = fc.constantFrom('10.0.0.1', '10.0.0.2', '');

const bytesKey = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('attribute sets stored encoded', () => {
  it('the stored form is canonical: equal octets ⇔ equal canonical text, and it decodes back', () => {
    fc.assert(
      fc.property(attrsArb, attrsArb, (a, b) => {
        const sameText = attrKey(a, '', undefined) === attrKey(b, '', undefined);
        assert.equal(bytesKey(encodeStoredForm(a)) === bytesKey(encodeStoredForm(b)), sameText);
        assert.equal(attrKey(attributesFromWire(encodeStoredForm(a)), '', undefined), attrKey(a, '', undefined));
      }),
      { numRuns: 3000 },
    );
  });

  it('derives the best-path fields from the octets as the decoded attributes give them', () => {
    fc.assert(
      fc.property(attrsArb, (a) => {
        const t = new AttrTable();
        const s = t.get(t.intern(a, '10.0.0.1'));
        assert.equal(s.localPref, a.localPref ?? DEFAULT_LOCAL_PREF);
        assert.equal(s.med, a.med ?? 0);
        assert.equal(s.origin, a.origin);
        let len = 0;
        for (const seg of a.asPath) len += seg.type === AsPathSegmentType.AsSequence ? seg.asns.length : 1;
        assert.equal(s.asPathLength, len);
        const first = a.asPath[0];
        const firstSeq = a.asPath.find((x) => x.type === AsPathSegmentType.AsSequence && x.asns.length > 0);
        const want = first?.type === AsPathSegmentType.AsSet ? 0 : (firstSeq?.asns[0] ?? 0);
        assert.equal(s.neighborAs, want);
        assert.equal(s.clusterListLength, a.clusterList?.length ?? 0);
        assert.equal(s.nextHop, '10.0.0.1');
      }),
      { numRuns: 1000 },
    );
  });

  it('an UPDATE in canonical form carries its stored form; a reordered one does not', () => {
    fc.assert(
      fc.property(attrsArb, (a) => {
        const opts = { fourOctetAs: true, extendedMessage: false, addPath: [] };
        const msg = encodeUpdate(
          {
            type: 2,
            withdrawn: [],
            nlri: [{ afi: 4, length: 24, bytes: new Uint8Array([10, 0, 0]), pathId: 0 }],
            attributes: { ...a, nextHop: '192.0.2.1' },
          },
          opts,
        );
        const u = decodeUpdate(msg.subarray(19), opts).update;
        assert.ok(u.attributesWire, 'canonical attributes');
        assert.equal(bytesKey(u.attributesWire), bytesKey(encodeStoredForm(a)));
        assert.equal(Object.keys(u).includes('attributesWire'), false);
        const two = decodeUpdate(msg.subarray(19), { ...opts, fourOctetAs: false }).update;
        assert.equal(two.attributesWire, undefined);
      }),
      { numRuns: 500 },
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
        for (let i = 0; i < items.length; i++) assert.equal(t.attrs(sets[i]!) !== undefined, true);
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

  it('keeps finding every set across growth of the slot table and compaction of the arena', () => {
    const t = new AttrTable();
    const n = 5000;
    const a = (i: number): PathAttributes => ({
      origin: 0,
      asPath: [{ type: 2, asns: [i, i + 1] }],
      atomicAggregate: false,
      unknown: [],
    });
    const sets = Array.from({ length: n }, (_, i) => t.intern(a(i), '10.0.0.1'));
    const serials = sets.map((id) => t.serial(id));
    assert.equal(t.size, n);
    for (let i = 0; i < n; i++) assert.equal(t.intern(a(i), '10.0.0.1'), sets[i]);
    for (let i = 0; i < n; i += 3) {
      t.release(sets[i]!);
      t.release(sets[i]!);
    }
    for (let i = 0; i < n; i++) {
      const s = t.intern(a(i), '10.0.0.1');
      if (i % 3 === 0) assert.notEqual(t.serial(s), serials[i]);
      else assert.equal(s, sets[i]);
      assert.deepEqual(t.attrs(s).asPath, a(i).asPath);
    }
  });
});
