import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeAttributes, encodeStoredForm, type PathAttributes } from '../../../bgp/index.js';
import { ipv4ToUint32 } from '../../../shared/address/index.js';
import { outboundAttributes, type TargetSpec } from './rules.js';
import { WIRE_OUT_EXTRA, writeOutbound } from './wire-out.js';

const maybe = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(a, { nil: undefined });
const attrsArb: fc.Arbitrary<PathAttributes> = fc.record(
  {
    origin: fc.constantFrom(0 as const, 1 as const, 2 as const),
    asPath: fc.array(
      fc.record({
        type: fc.constantFrom(1 as const, 2 as const),
        asns: fc.array(fc.integer({ min: 1, max: 2 ** 32 - 1 }), { minLength: 1, maxLength: 4 }),
      }),
      { maxLength: 2 },
    ),
    med: maybe(fc.integer({ min: 0, max: 2 ** 32 - 1 })),
    localPref: maybe(fc.integer({ min: 0, max: 2 ** 32 - 1 })),
    atomicAggregate: fc.boolean(),
    communities: maybe(fc.array(fc.integer({ min: 0, max: 2 ** 32 - 1 }), { maxLength: 3 })),
    originatorId: maybe(fc.constantFrom('10.0.0.9', '192.0.2.7')),
    // Up to 70 ids: a list past 255 octets once ours is prepended (extended length).
    clusterList: maybe(fc.array(fc.constantFrom('10.0.0.1', '10.0.0.2'), { maxLength: 70 })),
    largeCommunities: maybe(
      fc.array(fc.record({ globalAdmin: fc.nat(), localData1: fc.nat(), localData2: fc.nat() }), { maxLength: 2 }),
    ),
    unknown: fc.array(
      fc.record({
        flags: fc.constant(0xe0),
        type: fc.constantFrom(99, 200),
        value: fc.uint8Array({ minLength: 1, maxLength: 4 }),
      }),
      { maxLength: 1 },
    ),
  },
  { requiredKeys: ['origin', 'asPath', 'atomicAggregate', 'unknown'] },
);

const target = (nextHopMode: TargetSpec['nextHopMode']): TargetSpec => ({
  kind: 'client',
  localAs: 65000,
  clusterId: '10.255.0.1',
  nextHopMode,
  selfNextHop4: '10.255.0.1',
  selfNextHop6: 'fd00::1',
  llgr: false,
});

describe('outbound attributes written from the stored form', () => {
  it('equal the encoded outboundAttributes for iBGP targets (4-octet AS)', () => {
    fc.assert(
      fc.property(
        attrsArb,
        fc.constantFrom(4 as const, 6 as const),
        fc.constantFrom('local' as const, 'client' as const, 'ibgp' as const, 'ebgp' as const),
        fc.constantFrom('auto' as const, 'self' as const, 'keep' as const),
        (a, afi, from, mode) => {
          // eBGP sources were normalised at import (LOCAL_PREF set, RFC 4456 attributes dropped).
          const stored =
            from === 'ebgp' ? { ...a, localPref: 100, originatorId: undefined, clusterList: undefined } : a;
          const clean = Object.fromEntries(Object.entries(stored).filter(([, v]) => v !== undefined)) as PathAttributes;
          const nextHop = afi === 4 ? '192.0.2.1' : '2001:db8::1';
          const t = target(mode);
          const want = outboundAttributes(clean, afi, nextHop, undefined, from, '10.9.9.9', t)!;
          const src = encodeStoredForm(clean);
          const out = new Uint8Array(src.length + WIRE_OUT_EXTRA);
          const reflect = from === 'client' || from === 'ibgp';
          const end = writeOutbound(src, 0, src.length, out, 0, {
            nextHop4: afi === 4 ? ipv4ToUint32(want.nextHop) : -1,
            addLocalPref: clean.localPref === undefined,
            reflect,
            originatorId: reflect && clean.originatorId === undefined ? ipv4ToUint32('10.9.9.9') : 0,
            clusterId: ipv4ToUint32(t.clusterId),
          });
          const expected = encodeAttributes(want.attrs, { fourOctetAs: true, extendedMessage: false, addPath: [] });
          assert.deepEqual(Buffer.from(out.subarray(0, end)).toString('hex'), Buffer.from(expected).toString('hex'));
        },
      ),
      { numRuns: 2000 },
    );
  });
});
